package dev.shunt.packet;

import java.lang.foreign.MemorySegment;

import static dev.shunt.packet.NetworkOrder.U32;
import static dev.shunt.packet.NetworkOrder.U64;
import static dev.shunt.packet.NetworkOrder.i32;
import static dev.shunt.packet.NetworkOrder.i64;
import static dev.shunt.packet.NetworkOrder.u16;
import static dev.shunt.packet.NetworkOrder.u8;

/**
 * The Internet checksum (RFC 1071) and its incremental update (RFC 1624), allocation-free.
 *
 * <p>Vocabulary: a <em>sum</em> is an unfolded one's-complement accumulator in a long (add sums
 * with {@code +}); {@link #fold} reduces it to 16 bits with end-around carry; a <em>checksum</em> is
 * {@code ~fold(sum) & 0xFFFF}, the value stored in a header. {@link #sum} adds 64-bit big-endian
 * words as two 32-bit halves: because 2^16 = 1 (mod 0xFFFF), any word width gives the same
 * folded result, and wide words mean 8 bytes per add instead of 2.
 *
 * <p>Incremental updates use RFC 1624 equation 3, {@code HC' = ~(~HC + ~m + m')}. Unlike
 * equation 2 it never turns a checksum into the negative zero 0xFFFF where a full recomputation
 * gives 0x0000: as long as the old checksum was computed normally, the update equals a full
 * recomputation bit for bit (the tests check this on random packets).
 *
 * <p>CHECKSUM_PARTIAL frames (from a veth whose peer offloads TX checksums) hold in the L4
 * checksum field the folded pseudo-header sum, <em>not</em> complemented; whoever finishes the
 * checksum sums the L4 bytes from there and stores the complement. Rewriting such a frame must
 * therefore use {@link #partialUpdate16} / {@link #partialUpdate32}: {@code field' = fold(field + ~m
 * + m')}, the same one's-complement arithmetic without the two complements around it, and only for
 * pseudo-header fields (addresses, length). Ports sit in the L4 bytes that are summed later, so a
 * port rewrite leaves a partial checksum field alone. Linux does the same in
 * {@code inet_proto_csum_replace4}.
 */
public final class Checksums {
    /** A UDP-over-IPv4 checksum of 0 means "not computed"; a computed 0 is sent as 0xFFFF. */
    public static final int UDP_NO_CHECKSUM = 0;

    private Checksums() {}

    // ------------------------------------------------------------------ sums

    /** Unfolded one's-complement sum of {@code length} bytes; an odd last byte is padded with zero. */
    public static long sum(MemorySegment segment, long offset, int length) {
        long acc = 0;
        long p = offset;
        long end = offset + length;
        // An accumulator of 2^63 overflows only after 2^30 words: far beyond any packet.
        while (end - p >= 8) {
            long word = segment.get(U64, p);
            acc += (word >>> 32) + (word & 0xFFFF_FFFFL);
            p += 8;
        }
        if (end - p >= 4) {
            acc += segment.get(U32, p) & 0xFFFF_FFFFL;
            p += 4;
        }
        if (end - p >= 2) {
            acc += u16(segment, p);
            p += 2;
        }
        if (end - p == 1) {
            acc += u8(segment, p) << 8;
        }
        return acc;
    }

    /** Folds a sum to 16 bits with end-around carry; the result is 0 only if the sum was 0. */
    public static int fold(long sum) {
        long s = (sum & 0xFFFF_FFFFL) + (sum >>> 32);
        s = (s & 0xFFFF) + (s >>> 16);
        s = (s & 0xFFFF) + (s >>> 16);
        s = (s & 0xFFFF) + (s >>> 16);
        return (int) s;
    }

    /** The checksum of a byte range: {@code ~fold(sum) & 0xFFFF}. */
    public static int checksum(MemorySegment segment, long offset, int length) {
        return ~fold(sum(segment, offset, length)) & 0xFFFF;
    }

    /** Sum of a range that contains a checksum field, as if that field were zero. */
    static long sumSkipping(MemorySegment segment, long offset, int length, int checksumField) {
        // Both parts start at an even distance from offset, so byte pairs line up as in one pass.
        return sum(segment, offset, checksumField)
                + sum(segment, offset + checksumField + 2, length - checksumField - 2);
    }

    // ------------------------------------------------------------------ IPv4 header

    public static int ipv4HeaderChecksum(MemorySegment segment, long ipOffset, int headerLength) {
        return ~fold(sumSkipping(segment, ipOffset, headerLength, Ipv4View.CHECKSUM_OFFSET)) & 0xFFFF;
    }

    /** A header whose words, checksum included, sum to 0xFFFF is intact. */
    public static boolean verifyIpv4Header(MemorySegment segment, long ipOffset, int headerLength) {
        return fold(sum(segment, ipOffset, headerLength)) == 0xFFFF;
    }

    // ------------------------------------------------------------------ pseudo-headers

    /** IPv4 pseudo-header (RFC 793/768): addresses, zero + protocol, L4 length. */
    public static long pseudoHeaderSum4(int source, int destination, int protocol, int l4Length) {
        return (source >>> 16) + (source & 0xFFFF) + (destination >>> 16) + (destination & 0xFFFF)
                + protocol + l4Length;
    }

    /** IPv6 pseudo-header (RFC 8200 section 8.1): addresses, 32-bit length, 24 zero bits, next header. */
    public static long pseudoHeaderSum6(long sourceHigh, long sourceLow, long destinationHigh,
            long destinationLow, int protocol, int l4Length) {
        return halves(sourceHigh) + halves(sourceLow) + halves(destinationHigh) + halves(destinationLow)
                + protocol + (l4Length & 0xFFFF_FFFFL);
    }

    private static long halves(long value) {
        return (value >>> 32) + (value & 0xFFFF_FFFFL);
    }

    /** Pseudo-header sum with the addresses read from the IPv4 header at {@code ipOffset}. */
    public static long pseudoHeaderSum4(MemorySegment segment, long ipOffset, int protocol, int l4Length) {
        return pseudoHeaderSum4(i32(segment, ipOffset + Ipv4View.SRC_OFFSET),
                i32(segment, ipOffset + Ipv4View.DST_OFFSET), protocol, l4Length);
    }

    /** Pseudo-header sum with the addresses read from the IPv6 header at {@code ipOffset}. */
    public static long pseudoHeaderSum6(MemorySegment segment, long ipOffset, int protocol, int l4Length) {
        long src = ipOffset + Ipv6View.SRC_OFFSET;
        long dst = ipOffset + Ipv6View.DST_OFFSET;
        return pseudoHeaderSum6(i64(segment, src), i64(segment, src + 8), i64(segment, dst),
                i64(segment, dst + 8), protocol, l4Length);
    }

    // ------------------------------------------------------------------ L4 compute / verify

    /** Offset of the checksum field inside the L4 header of {@code protocol}, or -1 if it has none we know. */
    public static int checksumField(int protocol) {
        return switch (protocol) {
            case PacketDescriptor.IPPROTO_TCP -> TcpView.CHECKSUM_OFFSET;
            case PacketDescriptor.IPPROTO_UDP -> UdpView.CHECKSUM_OFFSET;
            case PacketDescriptor.IPPROTO_ICMP, PacketDescriptor.IPPROTO_ICMPV6 -> IcmpView.CHECKSUM_OFFSET;
            default -> -1;
        };
    }

    /**
     * TCP or UDP checksum over IPv4: pseudo-header plus {@code l4Length} bytes at {@code l4Offset},
     * the stored checksum field counted as zero. For UDP a result of 0 is returned as 0xFFFF.
     */
    public static int l4Checksum4(MemorySegment segment, long ipOffset, long l4Offset, int l4Length, int protocol) {
        long s = pseudoHeaderSum4(segment, ipOffset, protocol, l4Length)
                + sumSkipping(segment, l4Offset, l4Length, checksumField(protocol));
        return finish(s, protocol);
    }

    /** TCP, UDP or ICMPv6 checksum over IPv6 (the pseudo-header's protocol is the upper-layer one). */
    public static int l4Checksum6(MemorySegment segment, long ipOffset, long l4Offset, int l4Length, int protocol) {
        long s = pseudoHeaderSum6(segment, ipOffset, protocol, l4Length)
                + sumSkipping(segment, l4Offset, l4Length, checksumField(protocol));
        return finish(s, protocol);
    }

    private static int finish(long sum, int protocol) {
        int c = ~fold(sum) & 0xFFFF;
        return c == 0 && protocol == PacketDescriptor.IPPROTO_UDP ? 0xFFFF : c;
    }

    /** True if the stored TCP/UDP checksum over IPv4 is right; UDP's "no checksum" 0 counts as right. */
    public static boolean verifyL4v4(MemorySegment segment, long ipOffset, long l4Offset, int l4Length, int protocol) {
        if (protocol == PacketDescriptor.IPPROTO_UDP
                && u16(segment, l4Offset + UdpView.CHECKSUM_OFFSET) == UDP_NO_CHECKSUM) {
            return true;
        }
        return fold(pseudoHeaderSum4(segment, ipOffset, protocol, l4Length)
                + sum(segment, l4Offset, l4Length)) == 0xFFFF;
    }

    /** True if the stored TCP/UDP/ICMPv6 checksum over IPv6 is right (0 is never right here). */
    public static boolean verifyL4v6(MemorySegment segment, long ipOffset, long l4Offset, int l4Length, int protocol) {
        return fold(pseudoHeaderSum6(segment, ipOffset, protocol, l4Length)
                + sum(segment, l4Offset, l4Length)) == 0xFFFF;
    }

    /** ICMPv4 checksum: the message alone, no pseudo-header. */
    public static int icmpChecksum(MemorySegment segment, long icmpOffset, int length) {
        return ~fold(sumSkipping(segment, icmpOffset, length, IcmpView.CHECKSUM_OFFSET)) & 0xFFFF;
    }

    public static boolean verifyIcmp(MemorySegment segment, long icmpOffset, int length) {
        return fold(sum(segment, icmpOffset, length)) == 0xFFFF;
    }

    /** ICMPv6 checksum: message plus IPv6 pseudo-header with next header 58. */
    public static int icmpv6Checksum(MemorySegment segment, long ipOffset, long icmpOffset, int length) {
        return l4Checksum6(segment, ipOffset, icmpOffset, length, PacketDescriptor.IPPROTO_ICMPV6);
    }

    /**
     * The value a CHECKSUM_PARTIAL frame keeps in its L4 checksum field: the folded pseudo-header
     * sum, not complemented (Linux: {@code ~csum_tcpudp_magic(...)}).
     */
    public static int partialSeed(long pseudoHeaderSum) {
        return fold(pseudoHeaderSum);
    }

    // ------------------------------------------------------------------ incremental (RFC 1624)

    /** New checksum after a 16-bit word of the covered data changed from {@code old} to {@code now}. */
    public static int update16(int checksum, int old, int now) {
        return ~fold((~checksum & 0xFFFF) + (~old & 0xFFFF) + (now & 0xFFFF)) & 0xFFFF;
    }

    /** New checksum after an aligned 32-bit field (an IPv4 address) changed. */
    public static int update32(int checksum, int old, int now) {
        return ~fold((~checksum & 0xFFFF) + (~old >>> 16) + (~old & 0xFFFF) + (now >>> 16) + (now & 0xFFFF)) & 0xFFFF;
    }

    /** New checksum after an aligned 64-bit field (half an IPv6 address) changed. */
    public static int update64(int checksum, long old, long now) {
        return ~fold((~checksum & 0xFFFF) + halves(~old) + halves(now)) & 0xFFFF;
    }

    /**
     * {@link #update16} for a UDP checksum: 0 ("none", legal over IPv4 and for tunnels over IPv6
     * per RFC 6935) stays 0, and a result of 0 is stored as 0xFFFF so it is not mistaken for "none".
     */
    public static int udpUpdate16(int checksum, int old, int now) {
        return checksum == UDP_NO_CHECKSUM ? UDP_NO_CHECKSUM : nonZero(update16(checksum, old, now));
    }

    public static int udpUpdate32(int checksum, int old, int now) {
        return checksum == UDP_NO_CHECKSUM ? UDP_NO_CHECKSUM : nonZero(update32(checksum, old, now));
    }

    public static int udpUpdate64(int checksum, long old, long now) {
        return checksum == UDP_NO_CHECKSUM ? UDP_NO_CHECKSUM : nonZero(update64(checksum, old, now));
    }

    private static int nonZero(int checksum) {
        return checksum == 0 ? 0xFFFF : checksum;
    }

    /** CHECKSUM_PARTIAL field after a 16-bit pseudo-header word changed: {@code fold(field + ~m + m')}. */
    public static int partialUpdate16(int field, int old, int now) {
        return fold(field + (~old & 0xFFFF) + (now & 0xFFFF));
    }

    /** CHECKSUM_PARTIAL field after an IPv4 address changed. */
    public static int partialUpdate32(int field, int old, int now) {
        return fold(field + (~old >>> 16) + (~old & 0xFFFF) + (now >>> 16) + (now & 0xFFFF));
    }

    /** CHECKSUM_PARTIAL field after half an IPv6 address changed. */
    public static int partialUpdate64(int field, long old, long now) {
        return fold(field + halves(~old) + halves(now));
    }
}
