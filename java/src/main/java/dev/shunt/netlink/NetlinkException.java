package dev.shunt.netlink;

import dev.shunt.sys.Errno;
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

    /**
     * The request named an object that does not exist: a link (ENODEV), a neighbour or FDB entry
     * (ENOENT), a route (ESRCH). What a delete that may race with another deleter can ignore.
     */
    public boolean isNotFound() {
        return errno() == Errno.ENODEV || errno() == Errno.ENOENT || errno() == Errno.ESRCH;
    }

    /** The extended-ack message (NLMSGERR_ATTR_MSG), or {@code null} when the kernel sent none. */
    public String kernelMessage() {
        return kernelMessage;
    }
}
