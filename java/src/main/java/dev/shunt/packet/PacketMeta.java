package dev.shunt.packet;

/**
 * What {@link PacketParser} learned about one frame, in a reusable mutable holder: one instance
 * per poll thread, refilled for every packet, never shared. All offsets are absolute segment
 * offsets (the frame's own offset included), so views wrap at them directly; an absent header has
 * offset -1. Addresses are ints (IPv4) or high/low longs (IPv6) in network order.
 *
 * <p>Fragments: a first fragment (offset 0, more-fragments set) is parsed like any packet, with
 * its L4 header and ports. A non-first fragment carries no L4 header: the parser returns OK with
 * {@link #isFragment()} true, {@link #fragmentOffset()} non-zero, {@link #l4Protocol()} set from
 * the IP header, {@link #l4Offset()} -1, ports 0, and the payload at {@link #payloadOffset()}.
 * The data path decides what to do with it (e.g. drop, or forward by fragment id).
 *
 * <p>ICMP errors: the quoted packet's addresses, protocol and ports (or echo id) are in the
 * {@code inner*} fields, already checked to be present: a NAT can match them against its flows.
 */
public final class PacketMeta {
    public static final int ABSENT = -1;

    long frameOffset;
    int frameLength;
    boolean vlan;
    int vlanTci;
    int etherType;
    long l3Offset = ABSENT;
    long l3End = ABSENT;
    int ipVersion;
    int l3HeaderLength;
    int src4;
    int dst4;
    long srcHigh;
    long srcLow;
    long dstHigh;
    long dstLow;
    int ttl;
    int ipv4TtlWord;
    int arpOperation;
    boolean fragment;
    boolean fragmentHeader;
    boolean dontFragment;
    boolean moreFragments;
    int fragmentOffset;
    int fragmentId;
    int l4Protocol;
    long l4Offset = ABSENT;
    long payloadOffset = ABSENT;
    int payloadLength;
    int srcPort;
    int dstPort;
    int tcpFlags;
    int l4Checksum;
    int icmpType;
    int icmpCode;
    int icmpEchoId;
    int innerIpVersion;
    long innerL3Offset = ABSENT;
    long innerL4Offset = ABSENT;
    int innerProtocol;
    int innerSrc4;
    int innerDst4;
    long innerSrcHigh;
    long innerSrcLow;
    long innerDstHigh;
    long innerDstLow;
    int innerSrcPort;
    int innerDstPort;
    int innerIcmpEchoId;

    // Groups of fields that most packets leave alone. The parser marks a group in {@code touched}
    // when it writes any of its fields, and reset() clears only the marked groups: a TCP/IPv4
    // packet then costs 20 stores instead of 45, and no field is ever left from an earlier packet.
    static final int VLAN = 1;
    static final int ARP = 1 << 1;
    static final int IPV6 = 1 << 2;
    static final int FRAGMENT = 1 << 3;
    /** ICMP type, code, echo id and every inner (quoted packet) field. */
    static final int ICMP = 1 << 4;
    int touched;

    /** Clears every field; the parser calls it first, so a drop never leaves a stale packet behind. */
    void reset(long offset, int length) {
        frameOffset = offset;
        frameLength = length;
        etherType = 0;
        l3Offset = ABSENT;
        l3End = ABSENT;
        ipVersion = 0;
        l3HeaderLength = 0;
        src4 = dst4 = 0;
        ttl = 0;
        ipv4TtlWord = 0;
        dontFragment = false;
        l4Protocol = 0;
        l4Offset = ABSENT;
        payloadOffset = ABSENT;
        payloadLength = 0;
        srcPort = dstPort = tcpFlags = l4Checksum = 0;
        if (touched != 0) {
            resetGroups();
        }
    }

    void resetGroups() {
        if ((touched & VLAN) != 0) {
            vlan = false;
            vlanTci = 0;
        }
        if ((touched & ARP) != 0) {
            arpOperation = 0;
        }
        if ((touched & IPV6) != 0) {
            srcHigh = srcLow = dstHigh = dstLow = 0;
        }
        if ((touched & FRAGMENT) != 0) {
            fragment = fragmentHeader = moreFragments = false;
            fragmentOffset = fragmentId = 0;
        }
        if ((touched & ICMP) != 0) {
            icmpType = icmpCode = icmpEchoId = 0;
            innerIpVersion = 0;
            innerL3Offset = ABSENT;
            innerL4Offset = ABSENT;
            innerProtocol = 0;
            innerSrc4 = innerDst4 = 0;
            innerSrcHigh = innerSrcLow = innerDstHigh = innerDstLow = 0;
            innerSrcPort = innerDstPort = innerIcmpEchoId = 0;
        }
        touched = 0;
    }

    public long frameOffset() { return frameOffset; }
    public int frameLength() { return frameLength; }
    public boolean hasVlan() { return vlan; }
    public int vlanTci() { return vlanTci; }
    public int vlanId() { return vlanTci & EthernetView.VLAN_ID_MASK; }
    /** EtherType of the payload, behind the VLAN tag if any. */
    public int etherType() { return etherType; }
    /** Start of the IPv4/IPv6 header or ARP packet. */
    public long l3Offset() { return l3Offset; }
    /** End of the IP packet per its length field; bytes between here and the frame end are padding. */
    public long l3End() { return l3End; }
    /** 4, 6, or 0 for ARP. */
    public int ipVersion() { return ipVersion; }
    /** IPv4: IHL in bytes; IPv6: 40 plus the extension headers before the upper layer. */
    public int l3HeaderLength() { return l3HeaderLength; }
    /** IPv4 source; for ARP the sender protocol address. */
    public int src4() { return src4; }
    /** IPv4 destination; for ARP the target protocol address. */
    public int dst4() { return dst4; }
    public long srcHigh() { return srcHigh; }
    public long srcLow() { return srcLow; }
    public long dstHigh() { return dstHigh; }
    public long dstLow() { return dstLow; }
    /** IPv4 TTL or IPv6 hop limit. */
    public int ttl() { return ttl; }
    /**
     * IPv4: the header's 32 bits from the TTL on (TTL, protocol, header checksum) as received, so a
     * rewrite need not read them again ({@link NatRewrites#ipv4Forward}); 0 otherwise.
     */
    public int ipv4TtlWord() { return ipv4TtlWord; }
    public int arpOperation() { return arpOperation; }
    /** A real fragment: more-fragments set or a non-zero offset (an IPv6 atomic fragment is not). */
    public boolean isFragment() { return fragment; }
    /** IPv6 only: a fragment header is present (even an atomic one). */
    public boolean hasFragmentHeader() { return fragmentHeader; }
    public boolean dontFragment() { return dontFragment; }
    public boolean moreFragments() { return moreFragments; }
    /** Fragment offset in bytes. */
    public int fragmentOffset() { return fragmentOffset; }
    /** IPv4: the 16-bit identification (of fragments only); IPv6: the 32-bit fragment id. */
    public int fragmentId() { return fragmentId; }
    /** Upper-layer protocol: IPv4 protocol, or IPv6 next header after the extension headers. */
    public int l4Protocol() { return l4Protocol; }
    /** Start of the L4 header, or -1 in a non-first fragment (and for ARP). */
    public long l4Offset() { return l4Offset; }
    public boolean hasL4() { return l4Offset >= 0; }
    /** Start of the L4 payload (after TCP options, UDP header, 8-byte ICMP header). */
    public long payloadOffset() { return payloadOffset; }
    public int payloadLength() { return payloadLength; }
    public int srcPort() { return srcPort; }
    public int dstPort() { return dstPort; }
    public int tcpFlags() { return tcpFlags; }
    /** The TCP or UDP checksum field as received (0 for other protocols and non-first fragments). */
    public int l4Checksum() { return l4Checksum; }
    public int icmpType() { return icmpType; }
    public int icmpCode() { return icmpCode; }
    /** Echo request/reply identifier (ICMP and ICMPv6). */
    public int icmpEchoId() { return icmpEchoId; }
    /** True for an ICMP(v6) error whose quoted packet was parsed into the inner fields. */
    public boolean hasInner() { return innerL3Offset >= 0; }
    public int innerIpVersion() { return innerIpVersion; }
    public long innerL3Offset() { return innerL3Offset; }
    /** Start of the quoted L4 header (at least 8 bytes present), or -1 if the quoted packet was a non-first fragment. */
    public long innerL4Offset() { return innerL4Offset; }
    public int innerProtocol() { return innerProtocol; }
    public int innerSrc4() { return innerSrc4; }
    public int innerDst4() { return innerDst4; }
    public long innerSrcHigh() { return innerSrcHigh; }
    public long innerSrcLow() { return innerSrcLow; }
    public long innerDstHigh() { return innerDstHigh; }
    public long innerDstLow() { return innerDstLow; }
    public int innerSrcPort() { return innerSrcPort; }
    public int innerDstPort() { return innerDstPort; }
    public int innerIcmpEchoId() { return innerIcmpEchoId; }
}
