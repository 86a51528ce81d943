package dev.shunt.netlink;

/**
 * Layout of the netlink wire format shared by every family (linux/netlink.h): the message header,
 * attributes, error messages and their extended-ack TLVs. Offsets in bytes, host byte order.
 */
public final class NetlinkDescriptor {
    public static final int NETLINK_ROUTE = 0;
    public static final int NETLINK_GENERIC = 16;

    public static final int SOL_NETLINK = 270;
    public static final int NETLINK_CAP_ACK = 10;
    public static final int NETLINK_EXT_ACK = 11;

    // struct nlmsghdr
    public static final int NLMSG_LEN_OFFSET = 0;
    public static final int NLMSG_TYPE_OFFSET = 4;
    public static final int NLMSG_FLAGS_OFFSET = 6;
    public static final int NLMSG_SEQ_OFFSET = 8;
    public static final int NLMSG_PID_OFFSET = 12;
    public static final int NLMSG_HDRLEN = 16;

    public static final int NLMSG_NOOP = 1;
    public static final int NLMSG_ERROR = 2;
    public static final int NLMSG_DONE = 3;
    public static final int NLMSG_OVERRUN = 4;

    public static final int NLM_F_REQUEST = 0x01;
    public static final int NLM_F_MULTI = 0x02;
    public static final int NLM_F_ACK = 0x04;
    public static final int NLM_F_DUMP_INTR = 0x10;
    public static final int NLM_F_DUMP = 0x300;
    public static final int NLM_F_REPLACE = 0x100;
    public static final int NLM_F_EXCL = 0x200;
    public static final int NLM_F_CREATE = 0x400;
    public static final int NLM_F_APPEND = 0x800;
    /** On an NLMSG_ERROR: the original request's payload was left out (NETLINK_CAP_ACK). */
    public static final int NLM_F_CAPPED = 0x100;
    /** On an NLMSG_ERROR: extended-ack TLVs follow. */
    public static final int NLM_F_ACK_TLVS = 0x200;

    // struct nlmsgerr: int error, then the original nlmsghdr
    public static final int NLMSGERR_ERROR_OFFSET = NLMSG_HDRLEN;
    public static final int NLMSGERR_ORIGINAL_OFFSET = NLMSG_HDRLEN + 4;
    public static final int NLMSGERR_ATTR_MSG = 1;
    public static final int NLMSGERR_ATTR_OFFS = 2;

    // struct nlattr
    public static final int NLA_HDRLEN = 4;
    public static final int NLA_F_NESTED = 0x8000;
    public static final int NLA_F_NET_BYTEORDER = 0x4000;
    public static final int NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

    private NetlinkDescriptor() {}

    public static int align(int length) {
        return (length + 3) & ~3;
    }
}
