package dev.shunt.packet;

/**
 * The result of {@link PacketParser#parse}: {@link #OK}, or the first reason the frame is not
 * fit to forward. The set is fixed so the data path can count drops in a {@code long[]} indexed
 * by {@link #ordinal()} ({@link #COUNT} entries) without a map or a string per packet.
 *
 * <p>Naming: TRUNCATED_* means the frame ends before a header that must be there (or before the
 * length a header claims); BAD_* means a field holds an impossible value.
 */
public enum DropReason {
    /** Not a drop: the frame parsed and {@link PacketMeta} is filled. */
    OK,
    /** offset/length do not fit in the segment: a caller bug, reported instead of thrown. */
    FRAME_OUT_OF_BOUNDS,
    TRUNCATED_ETHERNET,
    TRUNCATED_VLAN,
    /** A second tag (802.1Q inside 802.1Q, or an 802.1ad outer tag): only one tag is supported. */
    UNSUPPORTED_VLAN_STACK,
    /** Neither IPv4, IPv6 nor ARP (this includes 802.3 length fields). */
    UNSUPPORTED_ETHERTYPE,
    TRUNCATED_ARP,
    /** ARP for anything but IPv4 over Ethernet, or an operation other than request/reply. */
    UNSUPPORTED_ARP,
    TRUNCATED_IPV4,
    BAD_IPV4_VERSION,
    /** IHL below 5. */
    BAD_IPV4_IHL,
    /** Total length smaller than the header. (Larger than the frame is TRUNCATED_IPV4.) */
    BAD_IPV4_TOTAL_LENGTH,
    BAD_IPV4_CHECKSUM,
    /** Fragment that would end past 65535 bytes, or a non-last fragment not a multiple of 8. */
    BAD_IPV4_FRAGMENT,
    TRUNCATED_IPV6,
    BAD_IPV6_VERSION,
    /** Extension header chain that overruns the packet, repeats a fragment header, puts
     *  hop-by-hop anywhere but first, or is longer than {@link PacketParser#MAX_IPV6_EXTENSIONS}. */
    BAD_IPV6_EXTENSION,
    BAD_IPV6_FRAGMENT,
    TRUNCATED_TCP,
    /** Data offset below 5 words or past the end of the packet. */
    BAD_TCP_DATA_OFFSET,
    BAD_TCP_CHECKSUM,
    TRUNCATED_UDP,
    /** UDP length below 8 or past the end of the packet. */
    BAD_UDP_LENGTH,
    BAD_UDP_CHECKSUM,
    /** ICMP or ICMPv6 message shorter than its 8-byte header. */
    TRUNCATED_ICMP,
    BAD_ICMP_CHECKSUM,
    /** ICMP(v6) error that does not quote an IP header plus 8 bytes of L4. */
    TRUNCATED_ICMP_ERROR,
    /** ICMP(v6) error whose quoted packet is not an IP header of the outer packet's version. */
    BAD_ICMP_ERROR;

    /** Number of values, for counter arrays ({@code values()} would clone an array per call). */
    public static final int COUNT = values().length;

    public boolean isDrop() {
        return this != OK;
    }
}
