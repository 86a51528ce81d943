package dev.shunt.packet;

import java.lang.foreign.MemorySegment;

import static dev.shunt.packet.NetworkOrder.i32;
import static dev.shunt.packet.NetworkOrder.i64;
import static dev.shunt.packet.NetworkOrder.setI32;
import static dev.shunt.packet.NetworkOrder.setI64;
import static dev.shunt.packet.NetworkOrder.setU16;
import static dev.shunt.packet.NetworkOrder.u16;
import static dev.shunt.packet.PacketDescriptor.IPPROTO_ICMP;
import static dev.shunt.packet.PacketDescriptor.IPPROTO_ICMPV6;
import static dev.shunt.packet.PacketDescriptor.IPPROTO_TCP;
import static dev.shunt.packet.PacketDescriptor.IPPROTO_UDP;

/**
 * Address and port rewrites with incremental checksum maintenance (RFC 1624), the NAT step of
 * the fast path. Offsets are those of {@link PacketMeta}: {@code l4Offset} -1 (a non-first
 * fragment) rewrites only the IP header, since that fragment carries no L4 checksum.
 *
 * <p>Which checksums an address touches: the IPv4 header checksum, and the TCP/UDP checksum
 * through its pseudo-header; ICMPv4 has no pseudo-header, ICMPv6 does. A port (or ICMP echo id)
 * touches only the L4 checksum. UDP's "no checksum" 0 is left alone. With {@code partial} set
 * (a CHECKSUM_PARTIAL frame) the L4 field holds the uncomplemented pseudo-header sum: addresses
 * update it with {@link Checksums#partialUpdate32}, ports leave it alone.
 *
 * <p>Rewrites of the packet quoted inside an ICMP error are the NAT's job: the quoted L4 checksum
 * can't be updated when the quote is cut short, and Linux leaves it stale too.
 */
public final class NatRewrites {
    private NatRewrites() {}

    public static void ipv4Source(MemorySegment s, long l3, long l4, int protocol, int address, boolean partial) {
        ipv4Address(s, l3, l3 + Ipv4View.SRC_OFFSET, l4, protocol, address, partial);
    }

    public static void ipv4Destination(MemorySegment s, long l3, long l4, int protocol, int address, boolean partial) {
        ipv4Address(s, l3, l3 + Ipv4View.DST_OFFSET, l4, protocol, address, partial);
    }

    private static void ipv4Address(MemorySegment s, long l3, long at, long l4, int protocol, int address,
            boolean partial) {
        int old = i32(s, at);
        setI32(s, at, address);
        long ipChecksum = l3 + Ipv4View.CHECKSUM_OFFSET;
        setU16(s, ipChecksum, Checksums.update32(u16(s, ipChecksum), old, address));
        if (l4 < 0 || (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)) {
            return; // ICMPv4's checksum has no pseudo-header; other protocols are opaque
        }
        long field = l4 + Checksums.checksumField(protocol);
        int checksum = u16(s, field);
        if (partial) {
            setU16(s, field, Checksums.partialUpdate32(checksum, old, address));
        } else if (protocol == IPPROTO_UDP) {
            setU16(s, field, Checksums.udpUpdate32(checksum, old, address));
        } else {
            setU16(s, field, Checksums.update32(checksum, old, address));
        }
    }

    public static void ipv6Source(MemorySegment s, long l3, long l4, int protocol, long high, long low,
            boolean partial) {
        ipv6Address(s, l3 + Ipv6View.SRC_OFFSET, l4, protocol, high, low, partial);
    }

    public static void ipv6Destination(MemorySegment s, long l3, long l4, int protocol, long high, long low,
            boolean partial) {
        ipv6Address(s, l3 + Ipv6View.DST_OFFSET, l4, protocol, high, low, partial);
    }

    private static void ipv6Address(MemorySegment s, long at, long l4, int protocol, long high, long low,
            boolean partial) {
        long oldHigh = i64(s, at);
        long oldLow = i64(s, at + 8);
        setI64(s, at, high);
        setI64(s, at + 8, low);
        if (l4 < 0 || (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP && protocol != IPPROTO_ICMPV6)) {
            return;
        }
        long field = l4 + Checksums.checksumField(protocol);
        int c = u16(s, field);
        if (partial) {
            c = Checksums.partialUpdate64(Checksums.partialUpdate64(c, oldHigh, high), oldLow, low);
        } else if (protocol == IPPROTO_UDP) {
            c = Checksums.udpUpdate64(Checksums.udpUpdate64(c, oldHigh, high), oldLow, low);
        } else {
            c = Checksums.update64(Checksums.update64(c, oldHigh, high), oldLow, low);
        }
        setU16(s, field, c);
    }

    /** Rewrites the TCP/UDP source port, or the echo identifier of an ICMP(v6) echo. */
    public static void sourcePort(MemorySegment s, long l4, int protocol, int port, boolean partial) {
        l4Word(s, l4, protocol, protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6
                ? IcmpView.IDENTIFIER_OFFSET : TcpView.SRC_PORT_OFFSET, port, partial);
    }

    /** Rewrites the TCP/UDP destination port (ICMP echo has only one id: use {@link #sourcePort}). */
    public static void destinationPort(MemorySegment s, long l4, int protocol, int port, boolean partial) {
        if (protocol == IPPROTO_TCP || protocol == IPPROTO_UDP) {
            l4Word(s, l4, protocol, TcpView.DST_PORT_OFFSET, port, partial);
        }
    }

    private static void l4Word(MemorySegment s, long l4, int protocol, int wordOffset, int value, boolean partial) {
        int checksumField = Checksums.checksumField(protocol);
        if (l4 < 0 || checksumField < 0) {
            return;
        }
        int old = u16(s, l4 + wordOffset);
        setU16(s, l4 + wordOffset, value);
        if (partial) {
            return; // the port is in the bytes the NIC or kernel will sum later
        }
        long field = l4 + checksumField;
        int checksum = u16(s, field);
        setU16(s, field, protocol == IPPROTO_UDP ? Checksums.udpUpdate16(checksum, old, value)
                : Checksums.update16(checksum, old, value));
    }
    /**
     * The whole rewrite of a forwarded TCP or UDP IPv4 packet in one pass: addresses and ports
     * from {@code oldIps}/{@code oldPorts} to {@code newIps}/{@code newPorts} (each packed as
     * {@code source << 32 | destination} and {@code source << 16 | destination}), TTL decremented
     * by one. Each checksum is patched once with the sum of all its changed words (RFC 1624
     * equation 3 over several words gives bit for bit what applying it word by word gives), so the
     * result equals {@link #ipv4Source}, {@link #ipv4Destination}, {@link #sourcePort},
     * {@link #destinationPort} and {@link Ipv4View#decrementTtl} in a row, with 6 to 8 memory
     * accesses instead of about 20. {@code l4} must be a TCP or UDP header with its checksum
     * field present; the caller checked the TTL is above 1.
     */
    public static void ipv4Forward(MemorySegment s, long l3, long l4, int protocol, long oldIps, int oldPorts,
            long newIps, int newPorts, boolean partial) {
        ipv4Forward(s, l3, l4, protocol, oldIps, oldPorts, newIps, newPorts, partial, i32(s, l3 + Ipv4View.TTL_OFFSET),
                u16(s, l4 + checksumOffset(protocol)));
    }

    /**
     * {@link #ipv4Forward(MemorySegment, long, long, int, long, int, long, int, boolean)} for a caller
     * that has read the packet already: {@code ttlWord} is the IPv4 header's 32 bits at its TTL
     * (TTL, protocol, header checksum) and {@code l4Checksum} the TCP or UDP checksum field, both
     * as they are in the packet ({@link PacketMeta#ipv4TtlWord()}, {@link PacketMeta#l4Checksum()}).
     * Without IPv4 options (the L4 header right after the 20-byte IP header) the rewrite is three
     * stores: TTL to source address, destination address and ports, and the L4 checksum.
     */
    public static void ipv4Forward(MemorySegment s, long l3, long l4, int protocol, long oldIps, int oldPorts,
            long newIps, int newPorts, boolean partial, int ttlWord, int l4Checksum) {
        int newTtlWord = ipv4TtlWordAfter(ttlWord, oldIps, newIps);
        if (l4 == l3 + Ipv4View.MIN_LENGTH) {
            // Bytes 8-15 of the IP header (TTL, protocol, checksum, source), then 16-23 (destination
            // and the L4 ports): unchanged bytes are written back as they were.
            setI64(s, l3 + Ipv4View.TTL_OFFSET, (long) newTtlWord << 32 | newIps >>> 32);
            setI64(s, l3 + Ipv4View.DST_OFFSET, newIps << 32 | newPorts & 0xFFFF_FFFFL);
        } else {
            setI32(s, l3 + Ipv4View.TTL_OFFSET, newTtlWord);
            if (newIps != oldIps) {
                setI64(s, l3 + Ipv4View.SRC_OFFSET, newIps);
            }
            if (newPorts != oldPorts) {
                setI32(s, l4 + TcpView.SRC_PORT_OFFSET, newPorts);
            }
        }
        int checksum = l4ChecksumAfter(l4Checksum, protocol, oldIps, oldPorts, newIps, newPorts, partial);
        if (checksum != l4Checksum) {
            setU16(s, l4 + checksumOffset(protocol), checksum);
        }
    }

    /**
     * The IPv4 header's 32 bits from the TTL (TTL, protocol, header checksum; {@code ttlWord} as
     * they are) after {@link #ipv4Forward}'s rewrite: TTL one less, addresses {@code oldIps} to
     * {@code newIps}, the checksum patched for both. For a caller that stores the words itself.
     */
    public static int ipv4TtlWordAfter(int ttlWord, long oldIps, long newIps) {
        int oldTtlProto = ttlWord >>> 16;
        int newTtlProto = oldTtlProto - 0x0100;
        long delta = (~oldTtlProto & 0xFFFF) + newTtlProto;
        if (newIps != oldIps) {
            delta += words(~oldIps) + words(newIps);
        }
        int ipChecksum = ~Checksums.fold((~ttlWord & 0xFFFF) + delta) & 0xFFFF;
        return newTtlProto << 16 | ipChecksum;
    }

    /**
     * The TCP or UDP checksum field ({@code checksum} as it is) after {@link #ipv4Forward}'s
     * rewrite of the addresses (pseudo-header) and ports; the same value when nothing it covers
     * changed. For a caller that stores the field itself.
     */
    public static int l4ChecksumAfter(int checksum, int protocol, long oldIps, int oldPorts, long newIps, int newPorts,
            boolean partial) {
        long delta = 0;
        if (newIps != oldIps) {
            delta = words(~oldIps) + words(newIps);
        }
        if (newPorts != oldPorts && !partial) { // with partial, the ports sit in the bytes the NIC or kernel will sum later
            delta += (~oldPorts >>> 16) + (~oldPorts & 0xFFFF) + (newPorts >>> 16) + (newPorts & 0xFFFF);
        }
        return delta == 0 ? checksum : patchedL4Checksum(checksum, protocol, delta, partial);
    }

    private static int checksumOffset(int protocol) {
        return protocol == IPPROTO_UDP ? UdpView.CHECKSUM_OFFSET : TcpView.CHECKSUM_OFFSET;
    }

    /** A TCP or UDP checksum field after adding {@code delta} (a sum of {@code ~old + new} words). */
    private static int patchedL4Checksum(int checksum, int protocol, long delta, boolean partial) {
        if (partial) {
            return Checksums.fold(checksum + delta);
        }
        if (protocol == IPPROTO_UDP) {
            if (checksum == Checksums.UDP_NO_CHECKSUM) {
                return checksum;
            }
            int c = ~Checksums.fold((~checksum & 0xFFFF) + delta) & 0xFFFF;
            return c == 0 ? 0xFFFF : c;
        }
        return ~Checksums.fold((~checksum & 0xFFFF) + delta) & 0xFFFF;
    }

    /** Sum of the four 16-bit words of {@code v}. */
    private static long words(long v) {
        return (v >>> 48) + (v >>> 32 & 0xFFFF) + (v >>> 16 & 0xFFFF) + (v & 0xFFFF);
    }
}
