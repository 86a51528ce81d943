package dev.shunt.netlink;

/**
 * Layout of NETLINK_GENERIC (linux/genetlink.h): the family header that follows every nlmsghdr,
 * and the controller family (nlctrl) that maps family names to their dynamically assigned message
 * types. Offsets in bytes, host byte order.
 */
public final class GenericNetlinkDescriptor {
    // struct genlmsghdr { __u8 cmd; __u8 version; __u16 reserved; }
    public static final int GENLMSGHDR_SIZE = 4;
    public static final int GENL_CMD_OFFSET = 0;
    public static final int GENL_VERSION_OFFSET = 1;

    /** The controller's fixed message type (NLMSG_MIN_TYPE); every other family's id is assigned at registration. */
    public static final int GENL_ID_CTRL = 16;
    /** Version sent in requests to the controller (libnl and iproute2's genl also send 1). */
    public static final int CTRL_VERSION = 1;

    public static final int CTRL_CMD_NEWFAMILY = 1;
    public static final int CTRL_CMD_GETFAMILY = 3;

    public static final int CTRL_ATTR_FAMILY_ID = 1; // u16
    public static final int CTRL_ATTR_FAMILY_NAME = 2; // string
    public static final int CTRL_ATTR_VERSION = 3; // u32

    private GenericNetlinkDescriptor() {}

    /** Writes a genlmsghdr at the request's current position (right after the nlmsghdr). */
    static NetlinkRequest genlmsghdr(NetlinkRequest req, int cmd, int version) {
        return req.u8(cmd).u8(version).u16(0);
    }
}
