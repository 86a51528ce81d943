package dev.shunt.packet;

import static dev.shunt.packet.PacketDescriptor.IPPROTO_TCP;
import static dev.shunt.packet.PacketDescriptor.IPPROTO_UDP;

/**
 * The frame nearly every packet is, and the only one the fast paths take: untagged Ethernet, IPv4
 * without options and not a fragment, its header checksum right, carrying a whole TCP or UDP
 * header. Its fields then sit at fixed offsets, so it is read as big-endian 8-byte words: bytes
 * 12-19 ({@code a}: EtherType, version and header length, TOS, total length, id), 20-27
 * ({@code b}: flags and fragment offset, TTL, protocol, header checksum, first half of the source),
 * 28-35 ({@code c}: second half of the source, destination, source port), 36-43 ({@code d}:
 * destination port, then UDP length and checksum, or the TCP sequence number and half the
 * acknowledgment number) and, for TCP only, 46-53 ({@code t}: data offset and flags, window,
 * checksum, urgent pointer). A frame shorter than 44 bytes (a UDP datagram with less than 2 bytes
 * of payload and no Ethernet padding) is not read this way and goes the general way.
 *
 * <p>The methods here decide and decode from those words alone, so that both readers of the shape
 * apply one set of rules: {@link PacketParser} (through a segment) and the pipeline's established
 * path (at raw addresses). A frame accepted here is one the general parser accepts with the same
 * result when it does not verify L4 checksums, which these words cannot (ParserFastPathTest and
 * PipelineFastPathTest check it). The IPv4 header checksum is always verified here.
 */
public final class PlainIpv4Frame {
    public static final int WORD_A = 12;
    public static final int WORD_B = 20;
    public static final int WORD_C = 28;
    public static final int WORD_D = 36;
    public static final int WORD_T = 46;
    /** The IPv4 header's offset, and the TCP or UDP header's. */
    public static final int L3 = EthernetView.LENGTH;
    public static final int L4 = L3 + Ipv4View.MIN_LENGTH;
    /** A frame shorter than this is not read as words a-d (it goes the general way). */
    public static final int MIN_LENGTH = WORD_D + 8;
    /** Nor shorter than this, for TCP, as word t (a TCP packet without options is 54 bytes). */
    public static final int MIN_TCP_LENGTH = WORD_T + 8;
    /** Byte offsets, from the frame, of the words the NAT rewrite stores (TTL to source; destination and ports). */
    public static final int TTL_WORD = L3 + Ipv4View.TTL_OFFSET;
    public static final int DST_WORD = L3 + Ipv4View.DST_OFFSET;

    private PlainIpv4Frame() {}

    /**
     * True if words {@code a}, {@code b}, {@code c} of a {@code frameLength}-byte frame are an
     * IPv4 header of this shape carrying TCP or UDP (whose own header the caller checks with
     * {@link #tcp} or {@link #udp}).
     */
    public static boolean ipv4(long a, long b, long c, int frameLength) {
        int protocol = protocol(b);
        return (a >>> 40) == ((long) PacketDescriptor.ETHERTYPE_IPV4 << 8 | 0x45)
                && totalLength(a) <= frameLength - L3
                && ((int) (b >>> 48) & (Ipv4View.FLAG_MF | Ipv4View.FRAGMENT_OFFSET_MASK)) == 0
                && (protocol == IPPROTO_TCP || protocol == IPPROTO_UDP)
                // The header is bytes 14-33: the low 48 bits of a, all of b, the high 48 of c.
                && Checksums.fold((a >>> 32 & 0xFFFF) + (a & 0xFFFF_FFFFL) + (b >>> 32) + (b & 0xFFFF_FFFFL)
                        + (c >>> 16)) == 0xFFFF;
    }

    /** True if the UDP header (words {@code c}, {@code d}) has a length that fits the IP packet of word {@code a}. */
    public static boolean udp(long a, long d) {
        int length = udpLength(d);
        return length >= UdpView.LENGTH && length <= totalLength(a) - Ipv4View.MIN_LENGTH;
    }

    /** True if the TCP header (word {@code t}) has a data offset that fits the IP packet of word {@code a}. */
    public static boolean tcp(long a, long t) {
        int length = tcpHeaderLength(t);
        return length >= TcpView.MIN_LENGTH && length <= totalLength(a) - Ipv4View.MIN_LENGTH;
    }

    public static int totalLength(long a) {
        return (int) (a >>> 16) & 0xFFFF;
    }

    public static boolean dontFragment(long b) {
        return ((int) (b >>> 48) & Ipv4View.FLAG_DF) != 0;
    }

    public static int ttl(long b) {
        return (int) (b >>> 40) & 0xFF;
    }

    public static int protocol(long b) {
        return (int) (b >>> 32) & 0xFF;
    }

    /** The header's 32 bits from the TTL: TTL, protocol, header checksum (what {@link NatRewrites#ipv4TtlWordAfter} takes). */
    public static int ttlWord(long b) {
        return (int) (b >>> 16);
    }

    public static int source(long b, long c) {
        return (int) (b << 16 | c >>> 48);
    }

    public static int destination(long c) {
        return (int) (c >>> 16);
    }

    /** Bytes 34-41, the L4 header's first 8: ports, then UDP length and checksum or the TCP sequence number. */
    public static long l4Head(long c, long d) {
        return c << 48 | d >>> 16;
    }

    public static int sourcePort(long c) {
        return (int) c & 0xFFFF;
    }

    public static int destinationPort(long d) {
        return (int) (d >>> 48);
    }

    public static int udpLength(long d) {
        return (int) (d >>> 32) & 0xFFFF;
    }

    public static int udpChecksum(long d) {
        return (int) (d >>> 16) & 0xFFFF;
    }

    public static int tcpHeaderLength(long t) {
        return (int) (t >>> 60) * 4;
    }

    public static int tcpFlags(long t) {
        return (int) (t >>> 48) & 0xFF;
    }

    public static int tcpChecksum(long t) {
        return (int) (t >>> 16) & 0xFFFF;
    }

    /** Offset of the TCP or UDP checksum field from the frame. */
    public static int l4ChecksumOffset(int protocol) {
        return L4 + (protocol == IPPROTO_UDP ? UdpView.CHECKSUM_OFFSET : TcpView.CHECKSUM_OFFSET);
    }
}
