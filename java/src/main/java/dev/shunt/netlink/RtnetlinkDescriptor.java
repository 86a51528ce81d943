package dev.shunt.netlink;

/**
 * Message types, family headers and attribute numbers of NETLINK_ROUTE (linux/rtnetlink.h,
 * if_link.h, if_addr.h, neighbour.h, pkt_sched.h, pkt_cls.h). Offsets in bytes, host byte order.
 */
public final class RtnetlinkDescriptor {
    public static final int RTM_NEWLINK = 16;
    public static final int RTM_DELLINK = 17;
    public static final int RTM_GETLINK = 18;
    public static final int RTM_SETLINK = 19;
    public static final int RTM_NEWADDR = 20;
    public static final int RTM_DELADDR = 21;
    public static final int RTM_GETADDR = 22;
    public static final int RTM_NEWROUTE = 24;
    public static final int RTM_DELROUTE = 25;
    public static final int RTM_GETROUTE = 26;
    public static final int RTM_NEWNEIGH = 28;
    public static final int RTM_DELNEIGH = 29;
    public static final int RTM_GETNEIGH = 30;
    public static final int RTM_NEWQDISC = 36;
    public static final int RTM_DELQDISC = 37;
    public static final int RTM_GETQDISC = 38;
    public static final int RTM_NEWTFILTER = 44;
    public static final int RTM_DELTFILTER = 45;
    public static final int RTM_GETTFILTER = 46;

    // struct ifinfomsg
    public static final int IFINFOMSG_SIZE = 16;
    public static final int IFI_FAMILY_OFFSET = 0;
    public static final int IFI_TYPE_OFFSET = 2;
    public static final int IFI_INDEX_OFFSET = 4;
    public static final int IFI_FLAGS_OFFSET = 8;
    public static final int IFI_CHANGE_OFFSET = 12;

    public static final int IFF_UP = 0x1;
    public static final int IFF_LOOPBACK = 0x8;
    public static final int IFF_LOWER_UP = 0x10000;

    public static final int IFLA_ADDRESS = 1;
    public static final int IFLA_IFNAME = 3;
    public static final int IFLA_MTU = 4;
    public static final int IFLA_LINK = 5;
    public static final int IFLA_MASTER = 10;
    public static final int IFLA_OPERSTATE = 16;
    public static final int IFLA_LINKINFO = 18;
    public static final int IFLA_NET_NS_FD = 28;
    public static final int IFLA_LINK_NETNSID = 37;
    public static final int IFLA_XDP = 43;

    public static final int IFLA_INFO_KIND = 1;
    public static final int IFLA_INFO_DATA = 2;

    public static final int VETH_INFO_PEER = 1;

    public static final int IFLA_VXLAN_ID = 1;
    /** The default remote (unicast) or multicast group: it makes the kernel add the 00:00:00:00:00:00 FDB entry. */
    public static final int IFLA_VXLAN_GROUP = 2;
    public static final int IFLA_VXLAN_LINK = 3;
    public static final int IFLA_VXLAN_LOCAL = 4;
    public static final int IFLA_VXLAN_LEARNING = 7;
    /** UDP destination port, big-endian. */
    public static final int IFLA_VXLAN_PORT = 15;
    public static final int IFLA_VXLAN_GROUP6 = 16;
    /** The local address when it is IPv6 (IFLA_VXLAN_LOCAL carries IPv4 only). */
    public static final int IFLA_VXLAN_LOCAL6 = 17;

    public static final int IFLA_XDP_FD = 1;
    public static final int IFLA_XDP_ATTACHED = 2;
    public static final int IFLA_XDP_FLAGS = 3;
    public static final int IFLA_XDP_PROG_ID = 4;

    public static final int XDP_FLAGS_SKB_MODE = 2;
    public static final int XDP_FLAGS_DRV_MODE = 4;

    // struct ifaddrmsg
    public static final int IFADDRMSG_SIZE = 8;
    public static final int IFA_FAMILY_OFFSET = 0;
    public static final int IFA_PREFIXLEN_OFFSET = 1;
    public static final int IFA_FLAGS_OFFSET = 2;
    public static final int IFA_SCOPE_OFFSET = 3;
    public static final int IFA_INDEX_OFFSET = 4;

    public static final int IFA_ADDRESS = 1;
    public static final int IFA_LOCAL = 2;
    public static final int IFA_FLAGS = 8;
    public static final int IFA_F_NODAD = 0x02;
    public static final int IFA_F_PERMANENT = 0x80;

    // struct rtmsg
    public static final int RTMSG_SIZE = 12;
    public static final int RTM_FAMILY_OFFSET = 0;
    public static final int RTM_DST_LEN_OFFSET = 1;
    public static final int RTM_SRC_LEN_OFFSET = 2;
    public static final int RTM_TOS_OFFSET = 3;
    public static final int RTM_TABLE_OFFSET = 4;
    public static final int RTM_PROTOCOL_OFFSET = 5;
    public static final int RTM_SCOPE_OFFSET = 6;
    public static final int RTM_TYPE_OFFSET = 7;
    public static final int RTM_FLAGS_OFFSET = 8;

    public static final int RTA_DST = 1;
    public static final int RTA_OIF = 4;
    public static final int RTA_GATEWAY = 5;
    public static final int RTA_PRIORITY = 6;
    public static final int RTA_PREFSRC = 7;
    public static final int RTA_TABLE = 15;

    public static final int RT_TABLE_UNSPEC = 0;
    public static final int RT_TABLE_MAIN = 254;
    public static final int RT_TABLE_LOCAL = 255;
    public static final int RTPROT_KERNEL = 2;
    public static final int RTPROT_BOOT = 3;
    public static final int RTPROT_STATIC = 4;
    public static final int RT_SCOPE_UNIVERSE = 0;
    public static final int RT_SCOPE_LINK = 253;
    public static final int RT_SCOPE_HOST = 254;
    public static final int RTN_UNICAST = 1;
    public static final int RTNH_F_ONLINK = 4;

    // struct ndmsg
    public static final int NDMSG_SIZE = 12;
    public static final int NDM_FAMILY_OFFSET = 0;
    public static final int NDM_IFINDEX_OFFSET = 4;
    public static final int NDM_STATE_OFFSET = 8;
    public static final int NDM_FLAGS_OFFSET = 10;
    public static final int NDM_TYPE_OFFSET = 11;

    public static final int NDA_DST = 1;
    public static final int NDA_LLADDR = 2;
    /** Who added the entry (u8, like rtm_protocol); kept for ARP/NDP entries, ignored for VXLAN FDB entries. */
    public static final int NDA_PROTOCOL = 12;
    public static final int NUD_REACHABLE = 0x02;
    public static final int NUD_NOARP = 0x40;
    public static final int NUD_PERMANENT = 0x80;
    public static final int NTF_SELF = 0x02;
    public static final int NTF_MASTER = 0x04;

    // struct tcmsg
    public static final int TCMSG_SIZE = 20;
    public static final int TCM_FAMILY_OFFSET = 0;
    public static final int TCM_IFINDEX_OFFSET = 4;
    public static final int TCM_HANDLE_OFFSET = 8;
    public static final int TCM_PARENT_OFFSET = 12;
    public static final int TCM_INFO_OFFSET = 16;

    public static final int TCA_KIND = 1;
    public static final int TCA_OPTIONS = 2;

    /** The clsact (and ingress) qdisc's parent id and handle. */
    public static final int TC_H_CLSACT = 0xFFFFFFF1;
    public static final int TC_H_CLSACT_HANDLE = 0xFFFF0000;
    /** Filter parents on clsact: TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS / TC_H_MIN_EGRESS). */
    public static final int TC_PARENT_INGRESS = 0xFFFFFFF2;
    public static final int TC_PARENT_EGRESS = 0xFFFFFFF3;

    public static final int TCA_BPF_FD = 6;
    public static final int TCA_BPF_NAME = 7;
    public static final int TCA_BPF_FLAGS = 8;
    public static final int TCA_BPF_ID = 11;
    public static final int TCA_BPF_FLAG_ACT_DIRECT = 1;

    public static final int ETH_P_ALL = 0x0003;

    private RtnetlinkDescriptor() {}
}
