package dev.shunt.netlink;

/** Where an XDP program runs: in the driver (native; veth supports it) or in the generic skb path. */
public enum XdpMode {
    DRIVER(RtnetlinkDescriptor.XDP_FLAGS_DRV_MODE, 1),
    GENERIC(RtnetlinkDescriptor.XDP_FLAGS_SKB_MODE, 2);

    final int flags;
    /** The IFLA_XDP_ATTACHED value the kernel reports for this mode. */
    final int attachedValue;

    XdpMode(int flags, int attachedValue) {
        this.flags = flags;
        this.attachedValue = attachedValue;
    }

    static XdpMode ofAttached(int attached) {
        for (XdpMode mode : values()) {
            if (mode.attachedValue == attached) {
                return mode;
            }
        }
        return null;
    }
}
