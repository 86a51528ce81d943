package dev.shunt.packet;

import java.lang.foreign.MemorySegment;

import static dev.shunt.packet.DropReason.*;
import static dev.shunt.packet.NetworkOrder.i32;
import static dev.shunt.packet.NetworkOrder.i64;
import static dev.shunt.packet.NetworkOrder.u16;
import static dev.shunt.packet.NetworkOrder.u8;
import static dev.shunt.packet.PacketDescriptor.*;

/**
 * Validates an Ethernet frame in one pass and fills a {@link PacketMeta}: Ethernet with at most
 * one 802.1Q tag, then ARP, IPv4 or IPv6 (extension headers walked), then TCP, UDP, ICMP or
 * ICMPv6 (with the quoted packet of errors). Other IP protocols are accepted with the upper-layer
 * offset in {@link PacketMeta#l4Offset()} and no ports.
 *
 * <p>Contract: never allocates, never throws on any byte content; every read is preceded by a
 * check against the frame's length, and the frame's bounds are checked against the segment first.
 * The first problem found is returned as a {@link DropReason}. VXLAN is not decapsulated here:
 * for UDP to {@link PacketDescriptor#VXLAN_PORT} wrap a {@link VxlanView} at the payload and call
 * {@link #parse} again at its inner frame.
 *
 * <p>Not the parser's business: TTL expiry, martian addresses, IPv4 option contents, TCP flag
 * combinations. Those are forwarding decisions.
 *
 * <p>An instance keeps a few scratch fields for the IPv6 walk: one parser per thread.
 */
public final class PacketParser {
    /** Verify the IPv4 header checksum (default on: 20 bytes, a few ns). */
    public static final int VERIFY_IPV4_CHECKSUM = 1;
    /**
     * Verify TCP/UDP/ICMP checksums (default off: frames from a veth are often CHECKSUM_PARTIAL,
     * whose L4 checksum field holds only the pseudo-header sum). Fragments are never verified.
     */
    public static final int VERIFY_L4_CHECKSUM = 2;
    /** More IPv6 extension headers than this is an attack, not a packet. */
    public static final int MAX_IPV6_EXTENSIONS = 8;

    private final boolean verifyIpv4;
    private final boolean verifyL4;

    // Result of walkIpv6: the upper-layer protocol and where it starts, plus fragment header fields.
    private int walkProtocol;
    private long walkL4;
    private boolean walkFragmentHeader;
    private int walkFragmentOffset;
    private boolean walkMore;
    private int walkFragmentId;

    /** IPv4 header checksum verified, L4 checksums not. */
    public PacketParser() {
        this(VERIFY_IPV4_CHECKSUM);
    }

    public PacketParser(int flags) {
        this.verifyIpv4 = (flags & VERIFY_IPV4_CHECKSUM) != 0;
        this.verifyL4 = (flags & VERIFY_L4_CHECKSUM) != 0;
    }

    /** Parses the {@code length}-byte frame at {@code offset} of {@code segment} into {@code meta}. */
    public DropReason parse(MemorySegment segment, long offset, int length, PacketMeta meta) {
        if (parseIpv4Fast(segment, offset, length, meta)) {
            return OK;
        }
        return parseGeneral(segment, offset, length, meta);
    }

    /** {@link #parse} without {@link #parseIpv4Fast}: every frame the long way (tests compare the two). */
    DropReason parseGeneral(MemorySegment segment, long offset, int length, PacketMeta meta) {
        meta.reset(offset, length);
        if (offset < 0 || length < 0 || offset > segment.byteSize() - length) {
            return FRAME_OUT_OF_BOUNDS;
        }
        if (length < EthernetView.LENGTH) {
            return TRUNCATED_ETHERNET;
        }
        int type = u16(segment, offset + EthernetView.TYPE_OFFSET);
        if (type == ETHERTYPE_IPV4) { // the common case first, in a method small enough to inline
            long l3 = offset + EthernetView.LENGTH;
            meta.etherType = type;
            meta.l3Offset = l3;
            return parseIpv4(segment, l3, offset + length, meta);
        }
        return parseOther(segment, offset, length, type, meta);
    }

    /**
     * The common case in one pass: a {@link PlainIpv4Frame} (untagged IPv4 without options, not a
     * fragment, whose whole TCP or UDP header is there and valid), read as its words. Accepts only
     * what the general path below accepts with the same result, and then writes every field that
     * {@link PacketMeta#reset} would clear, once: the general path writes most of them twice
     * (reset, then the value), ~16 stores per packet more. Returns false, having written nothing,
     * for anything else (including every malformed frame), which {@link #parse} then parses from
     * the start.
     */
    private boolean parseIpv4Fast(MemorySegment s, long offset, int length, PacketMeta meta) {
        if (verifyL4 || offset < 0 || length < PlainIpv4Frame.MIN_LENGTH || offset > s.byteSize() - length) {
            return false;
        }
        long a = i64(s, offset + PlainIpv4Frame.WORD_A);
        long b = i64(s, offset + PlainIpv4Frame.WORD_B);
        long c = i64(s, offset + PlainIpv4Frame.WORD_C);
        long d = i64(s, offset + PlainIpv4Frame.WORD_D);
        if (!PlainIpv4Frame.ipv4(a, b, c, length)) {
            return false;
        }
        long l4 = offset + PlainIpv4Frame.L4;
        long available = PlainIpv4Frame.totalLength(a) - Ipv4View.MIN_LENGTH;
        if (PlainIpv4Frame.protocol(b) == IPPROTO_TCP) {
            if (length < PlainIpv4Frame.MIN_TCP_LENGTH) {
                return false;
            }
            long t = i64(s, offset + PlainIpv4Frame.WORD_T);
            if (!PlainIpv4Frame.tcp(a, t)) {
                return false;
            }
            tcpFields(meta, l4, available, PlainIpv4Frame.l4Head(c, d), t, PlainIpv4Frame.tcpHeaderLength(t));
        } else {
            if (!PlainIpv4Frame.udp(a, d)) {
                return false;
            }
            udpFields(meta, l4, PlainIpv4Frame.l4Head(c, d), PlainIpv4Frame.udpLength(d));
        }
        ipv4Fields(meta, offset, length, a, b, c);
        return true;
    }

    /** The fields of {@link #parseIpv4Fast}'s IPv4 header (not inlined into it: that keeps it under FreqInlineSize). */
    private static void ipv4Fields(PacketMeta meta, long offset, int length, long a, long b, long c) {
        long l3 = offset + PlainIpv4Frame.L3;
        meta.frameOffset = offset;
        meta.frameLength = length;
        if (meta.touched != 0) {
            meta.resetGroups();
        }
        meta.etherType = ETHERTYPE_IPV4;
        meta.l3Offset = l3;
        meta.l3End = l3 + PlainIpv4Frame.totalLength(a);
        meta.ipVersion = 4;
        meta.l3HeaderLength = Ipv4View.MIN_LENGTH;
        meta.src4 = PlainIpv4Frame.source(b, c);
        meta.dst4 = PlainIpv4Frame.destination(c);
        meta.ttl = PlainIpv4Frame.ttl(b);
        meta.ipv4TtlWord = PlainIpv4Frame.ttlWord(b);
        meta.dontFragment = PlainIpv4Frame.dontFragment(b);
        meta.l4Protocol = PlainIpv4Frame.protocol(b);
        meta.l4Offset = offset + PlainIpv4Frame.L4;
    }

    /**
     * What both parsers record of a valid TCP header: {@code ports} is its first 8 bytes (ports,
     * sequence number), {@code w} the 8 from the data offset on (offset and flags, window,
     * checksum, urgent pointer).
     */
    private static void tcpFields(PacketMeta meta, long l4, long available, long ports, long w, int headerLength) {
        meta.srcPort = (int) (ports >>> 48);
        meta.dstPort = (int) (ports >>> 32) & 0xFFFF;
        meta.tcpFlags = (int) (w >>> 48) & 0xFF;
        meta.l4Checksum = (int) (w >>> 16) & 0xFFFF;
        meta.payloadOffset = l4 + headerLength;
        meta.payloadLength = (int) (available - headerLength);
    }

    /**
     * What both parsers record of a valid UDP header ({@code header}, its 8 bytes) carrying
     * {@code length} bytes with the header. TCP flags are cleared: the general parser's reset
     * already did, the fast one does not reset.
     */
    private static void udpFields(PacketMeta meta, long l4, long header, int length) {
        meta.srcPort = (int) (header >>> 48);
        meta.dstPort = (int) (header >>> 32) & 0xFFFF;
        meta.tcpFlags = 0;
        meta.l4Checksum = (int) header & 0xFFFF;
        meta.payloadOffset = l4 + UdpView.LENGTH;
        meta.payloadLength = length - UdpView.LENGTH;
    }

    private DropReason parseOther(MemorySegment segment, long offset, int length, int type, PacketMeta meta) {
        long end = offset + length;
        long l3 = offset + EthernetView.LENGTH;
        if (type == ETHERTYPE_VLAN) {
            if (length < EthernetView.VLAN_LENGTH) {
                return TRUNCATED_VLAN;
            }
            meta.touched |= PacketMeta.VLAN;
            meta.vlan = true;
            meta.vlanTci = u16(segment, offset + EthernetView.VLAN_TCI_OFFSET);
            type = u16(segment, offset + EthernetView.VLAN_TYPE_OFFSET);
            l3 = offset + EthernetView.VLAN_LENGTH;
            if (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ) {
                return UNSUPPORTED_VLAN_STACK;
            }
        } else if (type == ETHERTYPE_QINQ) {
            return UNSUPPORTED_VLAN_STACK;
        }
        meta.etherType = type;
        meta.l3Offset = l3;
        return switch (type) {
            case ETHERTYPE_IPV4 -> parseIpv4(segment, l3, end, meta);
            case ETHERTYPE_IPV6 -> parseIpv6(segment, l3, end, meta);
            case ETHERTYPE_ARP -> parseArp(segment, l3, end, meta);
            default -> UNSUPPORTED_ETHERTYPE;
        };
    }

    private static DropReason parseArp(MemorySegment s, long l3, long end, PacketMeta meta) {
        if (end - l3 < ArpView.LENGTH) {
            return TRUNCATED_ARP;
        }
        int op = u16(s, l3 + ArpView.OPER_OFFSET);
        if (u16(s, l3 + ArpView.HTYPE_OFFSET) != ArpView.HTYPE_ETHERNET
                || u16(s, l3 + ArpView.PTYPE_OFFSET) != ETHERTYPE_IPV4
                || u8(s, l3 + ArpView.HLEN_OFFSET) != 6 || u8(s, l3 + ArpView.PLEN_OFFSET) != 4
                || (op != ArpView.OP_REQUEST && op != ArpView.OP_REPLY)) {
            return UNSUPPORTED_ARP;
        }
        meta.touched |= PacketMeta.ARP;
        meta.arpOperation = op;
        meta.src4 = i32(s, l3 + ArpView.SPA_OFFSET);
        meta.dst4 = i32(s, l3 + ArpView.TPA_OFFSET);
        meta.l3End = l3 + ArpView.LENGTH;
        meta.l3HeaderLength = ArpView.LENGTH;
        return OK;
    }

    private DropReason parseIpv4(MemorySegment s, long l3, long end, PacketMeta meta) {
        long available = end - l3;
        if (available < Ipv4View.MIN_LENGTH) {
            return TRUNCATED_IPV4;
        }
        // The fixed header in three reads: version/IHL, TOS, total length, id, flags/fragment
        // offset | TTL, protocol, checksum, source | destination.
        long w0 = i64(s, l3);
        long w1 = i64(s, l3 + 8);
        int dst = i32(s, l3 + Ipv4View.DST_OFFSET);
        DropReason header = checkIpv4(s, l3, available, w0, w1, dst);
        if (header != OK) {
            return header;
        }
        int headerLength = ((int) (w0 >>> 56) & 0x0F) * 4;
        int totalLength = (int) (w0 >>> 32) & 0xFFFF;
        int dataLength = totalLength - headerLength;
        int flags = (int) w0 & 0xFFFF;
        meta.dontFragment = (flags & Ipv4View.FLAG_DF) != 0;
        if ((flags & (Ipv4View.FLAG_MF | Ipv4View.FRAGMENT_OFFSET_MASK)) != 0) {
            DropReason fragment = fragment4(s, l3, flags, dataLength, meta);
            if (fragment != OK) {
                return fragment;
            }
        }
        int protocol = (int) (w1 >>> 48) & 0xFF;
        meta.ipVersion = 4;
        meta.l3HeaderLength = headerLength;
        meta.l3End = l3 + totalLength;
        meta.ttl = (int) (w1 >>> 56);
        meta.ipv4TtlWord = (int) (w1 >>> 32);
        meta.src4 = (int) w1;
        meta.dst4 = dst;
        meta.l4Protocol = protocol;
        long l4 = l3 + headerLength;
        if (meta.fragmentOffset != 0) {
            meta.payloadOffset = l4;
            meta.payloadLength = dataLength;
            return OK;
        }
        return parseL4(s, l3, l4, meta.l3End, protocol, false, meta);
    }

    /** Version, header and total length against what is there, and (if asked) the header checksum. */
    private DropReason checkIpv4(MemorySegment s, long l3, long available, long w0, long w1, int dst) {
        int versionIhl = (int) (w0 >>> 56);
        if (versionIhl >>> 4 != 4) {
            return BAD_IPV4_VERSION;
        }
        int headerLength = (versionIhl & 0x0F) * 4;
        if (headerLength < Ipv4View.MIN_LENGTH) {
            return BAD_IPV4_IHL;
        }
        if (headerLength > available) {
            return TRUNCATED_IPV4;
        }
        int totalLength = (int) (w0 >>> 32) & 0xFFFF;
        if (totalLength < headerLength) {
            return BAD_IPV4_TOTAL_LENGTH;
        }
        if (totalLength > available) {
            return TRUNCATED_IPV4;
        }
        if (verifyIpv4) {
            // Checksums.sum's word order: two 64-bit words as 32-bit halves, then the last 32 bits.
            long sum = (w0 >>> 32) + (w0 & 0xFFFF_FFFFL) + (w1 >>> 32) + (w1 & 0xFFFF_FFFFL) + (dst & 0xFFFF_FFFFL);
            if (headerLength > Ipv4View.MIN_LENGTH) {
                sum += Checksums.sum(s, l3 + Ipv4View.MIN_LENGTH, headerLength - Ipv4View.MIN_LENGTH);
            }
            if (Checksums.fold(sum) != 0xFFFF) {
                return BAD_IPV4_CHECKSUM;
            }
        }
        return OK;
    }

    /** Checks an IPv4 fragment and records its fields. */
    private static DropReason fragment4(MemorySegment s, long l3, int flags, int dataLength, PacketMeta meta) {
        int fragmentOffset = (flags & Ipv4View.FRAGMENT_OFFSET_MASK) << 3;
        boolean more = (flags & Ipv4View.FLAG_MF) != 0;
        // 65535 is the largest reassembled packet (the "ping of death" overflowed it);
        // every fragment but the last carries a multiple of 8 bytes (RFC 791).
        if (fragmentOffset + dataLength > 0xFFFF || (more && (dataLength & 7) != 0)) {
            return BAD_IPV4_FRAGMENT;
        }
        meta.touched |= PacketMeta.FRAGMENT;
        meta.fragment = true;
        meta.moreFragments = more;
        meta.fragmentOffset = fragmentOffset;
        meta.fragmentId = u16(s, l3 + Ipv4View.ID_OFFSET);
        return OK;
    }

    private DropReason parseIpv6(MemorySegment s, long l3, long end, PacketMeta meta) {
        long available = end - l3;
        if (available < Ipv6View.LENGTH) {
            return TRUNCATED_IPV6;
        }
        if (u8(s, l3) >>> 4 != 6) {
            return BAD_IPV6_VERSION;
        }
        int payloadLength = u16(s, l3 + Ipv6View.PAYLOAD_LENGTH_OFFSET);
        if (Ipv6View.LENGTH + payloadLength > available) {
            return TRUNCATED_IPV6;
        }
        long l3End = l3 + Ipv6View.LENGTH + payloadLength;
        meta.touched |= PacketMeta.IPV6;
        meta.ipVersion = 6;
        meta.l3End = l3End;
        meta.ttl = u8(s, l3 + Ipv6View.HOP_LIMIT_OFFSET);
        meta.srcHigh = i64(s, l3 + Ipv6View.SRC_OFFSET);
        meta.srcLow = i64(s, l3 + Ipv6View.SRC_OFFSET + 8);
        meta.dstHigh = i64(s, l3 + Ipv6View.DST_OFFSET);
        meta.dstLow = i64(s, l3 + Ipv6View.DST_OFFSET + 8);
        DropReason walk = walkIpv6(s, u8(s, l3 + Ipv6View.NEXT_HEADER_OFFSET), l3 + Ipv6View.LENGTH, l3End);
        if (walk != OK) {
            return walk;
        }
        int protocol = walkProtocol;
        long l4 = walkL4;
        meta.l4Protocol = protocol;
        meta.l3HeaderLength = (int) (l4 - l3);
        if (walkFragmentHeader) {
            meta.touched |= PacketMeta.FRAGMENT;
            meta.fragmentHeader = true;
            meta.fragmentId = walkFragmentId;
            if (walkMore || walkFragmentOffset != 0) {
                int dataLength = (int) (l3End - l4);
                if (walkFragmentOffset + dataLength > 0xFFFF || (walkMore && (dataLength & 7) != 0)) {
                    return BAD_IPV6_FRAGMENT;
                }
                meta.fragment = true;
                meta.moreFragments = walkMore;
                meta.fragmentOffset = walkFragmentOffset;
                if (walkFragmentOffset != 0) {
                    meta.payloadOffset = l4;
                    meta.payloadLength = dataLength;
                    return OK;
                }
            }
        }
        return parseL4(s, l3, l4, l3End, protocol, true, meta);
    }

    /**
     * Walks IPv6 extension headers from {@code p} (whose type is {@code nextHeader}) up to
     * {@code end}; leaves the upper layer in walkProtocol/walkL4. Stops after a fragment header
     * with a non-zero offset: what follows it is data, not headers.
     */
    private DropReason walkIpv6(MemorySegment s, int nextHeader, long p, long end) {
        walkFragmentHeader = false;
        walkFragmentOffset = 0;
        walkMore = false;
        walkFragmentId = 0;
        for (int count = 0; ; count++) {
            if (count > MAX_IPV6_EXTENSIONS) {
                return BAD_IPV6_EXTENSION;
            }
            switch (nextHeader) {
                case IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS -> {
                    if (nextHeader == IPPROTO_HOPOPTS && count != 0) {
                        return BAD_IPV6_EXTENSION; // RFC 8200 4.1: hop-by-hop only right after the header
                    }
                    if (end - p < 8) {
                        return BAD_IPV6_EXTENSION;
                    }
                    int length = Ipv6View.extensionLength(s, p);
                    if (length > end - p) {
                        return BAD_IPV6_EXTENSION;
                    }
                    nextHeader = u8(s, p + Ipv6View.EXT_NEXT_HEADER_OFFSET);
                    p += length;
                }
                case IPPROTO_FRAGMENT -> {
                    if (walkFragmentHeader || end - p < Ipv6View.FRAGMENT_HEADER_LENGTH) {
                        return BAD_IPV6_EXTENSION;
                    }
                    walkFragmentHeader = true;
                    walkFragmentOffset = Ipv6View.fragmentOffset(s, p);
                    walkMore = Ipv6View.fragmentMore(s, p);
                    walkFragmentId = Ipv6View.fragmentId(s, p);
                    nextHeader = u8(s, p + Ipv6View.EXT_NEXT_HEADER_OFFSET);
                    p += Ipv6View.FRAGMENT_HEADER_LENGTH;
                    if (walkFragmentOffset != 0) {
                        walkProtocol = nextHeader;
                        walkL4 = p;
                        return OK;
                    }
                }
                default -> {
                    walkProtocol = nextHeader;
                    walkL4 = p;
                    return OK;
                }
            }
        }
    }

    private DropReason parseL4(MemorySegment s, long l3, long l4, long l3End, int protocol, boolean v6,
            PacketMeta meta) {
        meta.l4Offset = l4;
        return switch (protocol) {
            case IPPROTO_TCP -> parseTcp(s, l3, l4, l3End, v6, meta);
            case IPPROTO_UDP -> parseUdp(s, l3, l4, l3End, v6, meta);
            case IPPROTO_ICMP, IPPROTO_ICMPV6 -> parseIcmp(s, l3, l4, l3End, protocol, v6, meta);
            default -> opaque(l4, l3End, meta);
        };
    }

    private static DropReason opaque(long l4, long l3End, PacketMeta meta) {
        meta.payloadOffset = l4;
        meta.payloadLength = (int) (l3End - l4);
        return OK;
    }

    private DropReason parseTcp(MemorySegment s, long l3, long l4, long l3End, boolean v6, PacketMeta meta) {
        long available = l3End - l4;
        if (available < TcpView.MIN_LENGTH) {
            return TRUNCATED_TCP;
        }
        long ports = i64(s, l4); // source port, destination port, sequence number
        long w = i64(s, l4 + TcpView.DATA_OFFSET_OFFSET); // data offset and flags, window, checksum, urgent pointer
        int offsetAndFlags = (int) (w >>> 48);
        int headerLength = (offsetAndFlags >>> 12) * 4;
        if (headerLength < TcpView.MIN_LENGTH || headerLength > available) {
            return BAD_TCP_DATA_OFFSET;
        }
        // Here a fragment is always a first one (its L4 header is present), and is never verified.
        if (verifyL4 && !meta.fragment && !verifyL4(s, l3, l4, (int) available, IPPROTO_TCP, v6)) {
            return BAD_TCP_CHECKSUM;
        }
        tcpFields(meta, l4, available, ports, w, headerLength);
        return OK;
    }

    private DropReason parseUdp(MemorySegment s, long l3, long l4, long l3End, boolean v6, PacketMeta meta) {
        long available = l3End - l4;
        if (available < UdpView.LENGTH) {
            return TRUNCATED_UDP;
        }
        long header = i64(s, l4); // source port, destination port, length, checksum
        int udpLength = (int) (header >>> 16) & 0xFFFF;
        boolean fragment = meta.fragment;
        // A first fragment holds only part of the datagram its length field describes.
        if (udpLength < UdpView.LENGTH || (!fragment && udpLength > available)) {
            return BAD_UDP_LENGTH;
        }
        int length = fragment ? (int) available : udpLength;
        if (verifyL4 && !fragment && !verifyL4(s, l3, l4, length, IPPROTO_UDP, v6)) {
            return BAD_UDP_CHECKSUM;
        }
        udpFields(meta, l4, header, length);
        return OK;
    }

    private DropReason parseIcmp(MemorySegment s, long l3, long l4, long l3End, int protocol, boolean v6,
            PacketMeta meta) {
        if (v6 != (protocol == IPPROTO_ICMPV6)) {
            return opaque(l4, l3End, meta); // ICMPv4 in IPv6 or ICMPv6 in IPv4: like any other protocol
        }
        long available = l3End - l4;
        if (available < IcmpView.HEADER_LENGTH) {
            return TRUNCATED_ICMP;
        }
        if (verifyL4 && !meta.fragment) {
            boolean good = v6 ? Checksums.verifyL4v6(s, l3, l4, (int) available, protocol)
                    : Checksums.verifyIcmp(s, l4, (int) available);
            if (!good) {
                return BAD_ICMP_CHECKSUM;
            }
        }
        meta.touched |= PacketMeta.ICMP;
        int type = u8(s, l4 + IcmpView.TYPE_OFFSET);
        meta.icmpType = type;
        meta.icmpCode = u8(s, l4 + IcmpView.CODE_OFFSET);
        meta.payloadOffset = l4 + IcmpView.HEADER_LENGTH;
        meta.payloadLength = (int) (available - IcmpView.HEADER_LENGTH);
        if (v6 ? Icmpv6View.isEcho(type) : IcmpView.isEcho(type)) {
            meta.icmpEchoId = u16(s, l4 + IcmpView.IDENTIFIER_OFFSET);
        } else if (v6 ? Icmpv6View.isError(type) : IcmpView.isError(type)) {
            return v6 ? parseQuotedIpv6(s, l4 + IcmpView.HEADER_LENGTH, l3End, meta)
                    : parseQuotedIpv4(s, l4 + IcmpView.HEADER_LENGTH, l3End, meta);
        }
        return OK;
    }

    private static boolean verifyL4(MemorySegment s, long l3, long l4, int length, int protocol, boolean v6) {
        return v6 ? Checksums.verifyL4v6(s, l3, l4, length, protocol)
                : Checksums.verifyL4v4(s, l3, l4, length, protocol);
    }

    /** The IPv4 header + 8 L4 bytes quoted by an ICMPv4 error (RFC 792), from {@code q} to {@code end}. */
    private static DropReason parseQuotedIpv4(MemorySegment s, long q, long end, PacketMeta meta) {
        long available = end - q;
        if (available < Ipv4View.MIN_LENGTH + 8) {
            return TRUNCATED_ICMP_ERROR;
        }
        int versionIhl = u8(s, q);
        int headerLength = (versionIhl & 0x0F) * 4;
        if (versionIhl >>> 4 != 4 || headerLength < Ipv4View.MIN_LENGTH) {
            return BAD_ICMP_ERROR;
        }
        if (headerLength + 8 > available) {
            return TRUNCATED_ICMP_ERROR;
        }
        int protocol = u8(s, q + Ipv4View.PROTOCOL_OFFSET);
        meta.innerIpVersion = 4;
        meta.innerL3Offset = q;
        meta.innerProtocol = protocol;
        meta.innerSrc4 = i32(s, q + Ipv4View.SRC_OFFSET);
        meta.innerDst4 = i32(s, q + Ipv4View.DST_OFFSET);
        if ((u16(s, q + Ipv4View.FLAGS_FRAGMENT_OFFSET) & Ipv4View.FRAGMENT_OFFSET_MASK) == 0) {
            quotedL4(s, q + headerLength, protocol, false, meta);
        }
        return OK;
    }

    /** The IPv6 packet quoted by an ICMPv6 error: fixed header, extension headers, 8 L4 bytes. */
    private DropReason parseQuotedIpv6(MemorySegment s, long q, long end, PacketMeta meta) {
        if (end - q < Ipv6View.LENGTH + 8) {
            return TRUNCATED_ICMP_ERROR;
        }
        if (u8(s, q) >>> 4 != 6) {
            return BAD_ICMP_ERROR;
        }
        // The quote is cut to fit 1280 bytes, so walk to the end of what is there, not the quoted payload length.
        if (walkIpv6(s, u8(s, q + Ipv6View.NEXT_HEADER_OFFSET), q + Ipv6View.LENGTH, end) != OK) {
            return BAD_ICMP_ERROR;
        }
        boolean firstFragment = walkFragmentOffset == 0;
        if (firstFragment && end - walkL4 < 8) {
            return TRUNCATED_ICMP_ERROR;
        }
        meta.innerIpVersion = 6;
        meta.innerL3Offset = q;
        meta.innerProtocol = walkProtocol;
        meta.innerSrcHigh = i64(s, q + Ipv6View.SRC_OFFSET);
        meta.innerSrcLow = i64(s, q + Ipv6View.SRC_OFFSET + 8);
        meta.innerDstHigh = i64(s, q + Ipv6View.DST_OFFSET);
        meta.innerDstLow = i64(s, q + Ipv6View.DST_OFFSET + 8);
        if (firstFragment) {
            quotedL4(s, walkL4, walkProtocol, true, meta);
        }
        return OK;
    }

    /** Ports or echo id of a quoted L4 header; the caller checked that 8 bytes are there. */
    private static void quotedL4(MemorySegment s, long l4, int protocol, boolean v6, PacketMeta meta) {
        meta.innerL4Offset = l4;
        if (protocol == IPPROTO_TCP || protocol == IPPROTO_UDP) {
            meta.innerSrcPort = u16(s, l4);
            meta.innerDstPort = u16(s, l4 + 2);
        } else if (protocol == (v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP)) {
            int type = u8(s, l4);
            if (v6 ? Icmpv6View.isEcho(type) : IcmpView.isEcho(type)) {
                meta.innerIcmpEchoId = u16(s, l4 + IcmpView.IDENTIFIER_OFFSET);
            }
        }
    }
}
