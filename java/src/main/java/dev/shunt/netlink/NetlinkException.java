package dev.shunt.netlink;

import dev.shunt.sys.SysException;

/**
 * The kernel refused a netlink request. Carries the errno (by name in the message), the request's
 * iproute2 equivalent, and the kernel's extended-ack text when it gave one, e.g.
 * {@code ip link add a type veth peer name b: EEXIST (File exists)}.
 */
public class NetlinkException extends SysException {
    private final String kernelMessage;

    public NetlinkException(String request, int errno, String kernelMessage) {
        super(request, errno, kernelMessage == null || kernelMessage.isEmpty() ? null : "kernel: " + kernelMessage);
        this.kernelMessage = kernelMessage;
    }

    /** The extended-ack message (NLMSGERR_ATTR_MSG), or {@code null} when the kernel sent none. */
    public String kernelMessage() {
        return kernelMessage;
    }
}
