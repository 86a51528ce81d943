package dev.shunt.packet;

/**
 * Protocol numbers shared by several headers: EtherTypes (IEEE 802), IP protocol / IPv6 next-header
 * numbers (IANA), and well-known ports. Header layouts (offsets, lengths) live in each view class.
 */
public final class PacketDescriptor {
    // EtherTypes
    public static final int ETHERTYPE_IPV4 = 0x0800;
    public static final int ETHERTYPE_ARP = 0x0806;
    public static final int ETHERTYPE_VLAN = 0x8100;
    /** 802.1ad service tag (QinQ outer tag): Shunt handles one 802.1Q tag, not stacks. */
    public static final int ETHERTYPE_QINQ = 0x88A8;
    public static final int ETHERTYPE_IPV6 = 0x86DD;
    /** Values below this are 802.3 length fields, not EtherTypes. */
    public static final int ETHERTYPE_MIN = 0x0600;

    // IP protocol numbers, also IPv6 next-header values
    public static final int IPPROTO_HOPOPTS = 0;
    public static final int IPPROTO_ICMP = 1;
    public static final int IPPROTO_TCP = 6;
    public static final int IPPROTO_UDP = 17;
    public static final int IPPROTO_ROUTING = 43;
    public static final int IPPROTO_FRAGMENT = 44;
    public static final int IPPROTO_ESP = 50;
    public static final int IPPROTO_AH = 51;
    public static final int IPPROTO_ICMPV6 = 58;
    public static final int IPPROTO_NONE = 59;
    public static final int IPPROTO_DSTOPTS = 60;

    /** IANA VXLAN port (RFC 7348); the kernel's default 8472 is not used by Shunt. */
    public static final int VXLAN_PORT = 4789;

    private PacketDescriptor() {}
}
