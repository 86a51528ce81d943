package dev.shunt.packet;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.shunt.packet.PacketDescriptor.*;

/**
 * Builds well-formed frames (Ethernet, optional 802.1Q tag, ARP / IPv4 with options / IPv6 with
 * extension headers, TCP / UDP / ICMP(v6) echo and errors, VXLAN) with correct lengths and
 * checksums, plus switches that break exactly one thing (a checksum, a length field, the frame's
 * end). For tests, fixtures and benchmarks: it allocates freely and is not fast-path code.
 *
 * <pre>{@code
 * byte[] frame = new PacketBuilder().vlan(100).ipv4("10.244.1.5", "10.96.0.10")
 *         .tcp(40000, 80).tcpFlags(TcpView.SYN).payload(new byte[12]).build();
 * }</pre>
 *
 * A non-first fragment ({@link #fragment} with an offset) gets no L4 header: its payload follows
 * the IP header directly, under the protocol the L4 setter chose (or {@link #protocol}).
 */
public final class PacketBuilder {
    private enum L4 { NONE, TCP, UDP, ICMP_ECHO, ICMP_ERROR }

    private long srcMac = 0x02_00_00_00_00_01L;
    private long dstMac = 0x02_00_00_00_00_02L;
    private int vlanTci = -1;
    private int ipVersion; // 4, 6, or 0 for ARP
    private byte[] src;
    private byte[] dst;
    private int ttl = 64;
    private int tos;
    private int ipId = 0x1234;
    private int flowLabel;
    private boolean dontFragment;
    private int fragmentOffset;
    private boolean moreFragments;
    private byte[] ipv4Options = new byte[0];
    private final List<Integer> ipv6ExtTypes = new ArrayList<>();
    private final List<byte[]> ipv6ExtBodies = new ArrayList<>();
    private int protocol = -1;
    private L4 l4 = L4.NONE;
    private int srcPort;
    private int dstPort;
    private int seq = 1000;
    private int ack;
    private int tcpFlags = TcpView.ACK;
    private int window = 65535;
    private byte[] tcpOptions = new byte[0];
    private boolean echoRequest;
    private int icmpType;
    private int icmpCode;
    private int icmpRest;
    private byte[] payload = new byte[0];
    private int arpOp;
    private long arpSha;
    private long arpTha;
    private boolean corruptIpChecksum;
    private boolean corruptL4Checksum;
    private boolean zeroUdpChecksum;
    private boolean padToMinimum;
    private int truncateTo = -1;
    private int totalLengthLie = -1;
    private int udpLengthLie = -1;
    private int tcpDataOffsetLie = -1;
    private int ihlLie = -1;

    public PacketBuilder macs(long source, long destination) { srcMac = source; dstMac = destination; return this; }
    /** Adds one 802.1Q tag with this TCI (priority << 13 | VLAN id). */
    public PacketBuilder vlan(int tci) { vlanTci = tci; return this; }

    public PacketBuilder ipv4(String source, String destination) {
        return ip(4, InetAddress.ofLiteral(source), InetAddress.ofLiteral(destination));
    }

    public PacketBuilder ipv4(int source, int destination) {
        ipVersion = 4;
        src = ByteBuffer.allocate(4).putInt(source).array();
        dst = ByteBuffer.allocate(4).putInt(destination).array();
        return this;
    }

    public PacketBuilder ipv6(String source, String destination) {
        return ip(6, InetAddress.ofLiteral(source), InetAddress.ofLiteral(destination));
    }

    private PacketBuilder ip(int version, InetAddress source, InetAddress destination) {
        boolean ok = version == 4 ? source instanceof Inet4Address && destination instanceof Inet4Address
                : source instanceof Inet6Address && destination instanceof Inet6Address;
        if (!ok) {
            throw new IllegalArgumentException("not IPv" + version + ": " + source + ", " + destination);
        }
        ipVersion = version;
        src = source.getAddress();
        dst = destination.getAddress();
        return this;
    }

    public PacketBuilder ttl(int value) { ttl = value; return this; }
    public PacketBuilder tos(int value) { tos = value; return this; }
    /** IPv4 identification; also the IPv6 fragment id. */
    public PacketBuilder identification(int value) { ipId = value; return this; }
    public PacketBuilder flowLabel(int value) { flowLabel = value; return this; }
    public PacketBuilder dontFragment() { dontFragment = true; return this; }
    /** Makes a fragment: offset in bytes (multiple of 8), more-fragments flag. IPv6 adds a fragment header last. */
    public PacketBuilder fragment(int offsetBytes, boolean more) {
        fragmentOffset = offsetBytes;
        moreFragments = more;
        return this;
    }

    /** IPv4 options, padded with end-of-list bytes to a multiple of 4. */
    public PacketBuilder ipv4Options(byte[] options) {
        ipv4Options = Arrays.copyOf(options, (options.length + 3) & ~3);
        return this;
    }

    /** An IPv6 extension header: {@code body} is what follows next-header and length; 2 + body is a multiple of 8. */
    public PacketBuilder ipv6Extension(int type, byte[] body) {
        if ((body.length + 2) % 8 != 0) {
            throw new IllegalArgumentException("extension body of " + body.length + " bytes: 2 + body must be a multiple of 8");
        }
        ipv6ExtTypes.add(type);
        ipv6ExtBodies.add(body.clone());
        return this;
    }

    /** Hop-by-hop options holding one PadN option. */
    public PacketBuilder hopByHop() { return ipv6Extension(IPPROTO_HOPOPTS, padN(6)); }
    /** Destination options holding one PadN option. */
    public PacketBuilder destinationOptions() { return ipv6Extension(IPPROTO_DSTOPTS, padN(6)); }
    /** A type-0 routing header with one address and segments left 0 (so no node acts on it). */
    public PacketBuilder routing() {
        byte[] body = new byte[22];
        body[0] = 0; // routing type 0
        body[1] = 0; // segments left
        body[6] = (byte) 0xFD;
        body[21] = 1;
        return ipv6Extension(IPPROTO_ROUTING, body);
    }

    private static byte[] padN(int length) {
        byte[] b = new byte[length];
        b[0] = 1;
        b[1] = (byte) (length - 2);
        return b;
    }

    /** The IP protocol to announce, overriding what the L4 setter implies (e.g. for fragments). */
    public PacketBuilder protocol(int value) { protocol = value; return this; }

    public PacketBuilder tcp(int source, int destination) { l4 = L4.TCP; srcPort = source; dstPort = destination; return this; }
    public PacketBuilder sequence(int value) { seq = value; return this; }
    public PacketBuilder acknowledgment(int value) { ack = value; return this; }
    public PacketBuilder tcpFlags(int value) { tcpFlags = value; return this; }
    public PacketBuilder window(int value) { window = value; return this; }
    /** TCP options, padded with end-of-list bytes to a multiple of 4. */
    public PacketBuilder tcpOptions(byte[] options) { tcpOptions = Arrays.copyOf(options, (options.length + 3) & ~3); return this; }

    public PacketBuilder udp(int source, int destination) { l4 = L4.UDP; srcPort = source; dstPort = destination; return this; }

    /** ICMP echo request/reply (ICMPv6 128/129 on IPv6); the payload is the echo data. */
    public PacketBuilder icmpEcho(boolean request, int id, int sequence) {
        l4 = L4.ICMP_ECHO;
        echoRequest = request;
        icmpRest = (id << 16) | (sequence & 0xFFFF);
        return this;
    }

    /**
     * An ICMP(v6) error quoting {@code quoted} (an IP packet, usually cut to its header + 8 bytes
     * for ICMPv4): type/code as given, {@code rest} for bytes 4-7 (MTU, pointer, or 0).
     */
    public PacketBuilder icmpError(int type, int code, int rest, byte[] quoted) {
        l4 = L4.ICMP_ERROR;
        icmpType = type;
        icmpCode = code;
        icmpRest = rest;
        payload = quoted.clone();
        return this;
    }

    public PacketBuilder payload(byte[] data) { payload = data.clone(); return this; }

    /** Wraps {@code innerFrame} in VXLAN with this VNI: UDP to port 4789 from {@code sourcePort}. */
    public PacketBuilder vxlan(int vni, int sourcePort, byte[] innerFrame) {
        udp(sourcePort, VXLAN_PORT);
        byte[] data = new byte[VxlanView.LENGTH + innerFrame.length];
        new VxlanView().wrap(MemorySegment.ofArray(data), 0).init(vni);
        System.arraycopy(innerFrame, 0, data, VxlanView.LENGTH, innerFrame.length);
        payload = data;
        return this;
    }

    /** An ARP packet for IPv4 over Ethernet instead of IP. */
    public PacketBuilder arp(int operation, long senderMac, String senderIp, long targetMac, String targetIp) {
        ip(4, InetAddress.ofLiteral(senderIp), InetAddress.ofLiteral(targetIp));
        ipVersion = 0;
        arpOp = operation;
        arpSha = senderMac;
        arpTha = targetMac;
        return this;
    }

    // ------------------------------------------------------------------ breakers

    public PacketBuilder corruptIpChecksum() { corruptIpChecksum = true; return this; }
    public PacketBuilder corruptL4Checksum() { corruptL4Checksum = true; return this; }
    /** UDP checksum 0 ("none"), legal over IPv4. */
    public PacketBuilder zeroUdpChecksum() { zeroUdpChecksum = true; return this; }
    /** Pads the frame with zeros to the 60-byte Ethernet minimum, as a NIC would. */
    public PacketBuilder padToMinimum() { padToMinimum = true; return this; }
    /** Cuts the finished frame (checksums already computed) to its first {@code length} bytes. */
    public PacketBuilder truncateTo(int length) { truncateTo = length; return this; }
    /** Writes this IPv4 total length / IPv6 payload length instead of the true one (checksums still match). */
    public PacketBuilder lengthLie(int value) { totalLengthLie = value; return this; }
    public PacketBuilder udpLengthLie(int value) { udpLengthLie = value; return this; }
    public PacketBuilder tcpDataOffsetLie(int words) { tcpDataOffsetLie = words; return this; }
    public PacketBuilder ihlLie(int words) { ihlLie = words; return this; }

    // ------------------------------------------------------------------ build

    /** The whole frame. */
    public byte[] build() {
        byte[] l3 = ipVersion == 0 ? buildArp() : buildIp();
        int l2 = vlanTci >= 0 ? EthernetView.VLAN_LENGTH : EthernetView.LENGTH;
        int length = l2 + l3.length;
        byte[] frame = new byte[padToMinimum ? Math.max(60, length) : length];
        MemorySegment s = MemorySegment.ofArray(frame);
        EthernetView eth = new EthernetView().wrap(s, 0);
        eth.destination(dstMac);
        eth.source(srcMac);
        int type = ipVersion == 4 ? ETHERTYPE_IPV4 : ipVersion == 6 ? ETHERTYPE_IPV6 : ETHERTYPE_ARP;
        if (vlanTci >= 0) {
            NetworkOrder.setU16(s, EthernetView.TYPE_OFFSET, ETHERTYPE_VLAN);
            NetworkOrder.setU16(s, EthernetView.VLAN_TCI_OFFSET, vlanTci);
            NetworkOrder.setU16(s, EthernetView.VLAN_TYPE_OFFSET, type);
        } else {
            NetworkOrder.setU16(s, EthernetView.TYPE_OFFSET, type);
        }
        System.arraycopy(l3, 0, frame, l2, l3.length);
        return truncateTo >= 0 ? Arrays.copyOf(frame, Math.min(truncateTo, frame.length)) : frame;
    }

    /** Writes the frame at {@code offset} of {@code segment}; returns its length. */
    public int writeTo(MemorySegment segment, long offset) {
        byte[] frame = build();
        MemorySegment.copy(MemorySegment.ofArray(frame), 0, segment, offset, frame.length);
        return frame.length;
    }

    private byte[] buildArp() {
        byte[] b = new byte[ArpView.LENGTH];
        ArpView arp = new ArpView().wrap(MemorySegment.ofArray(b), 0);
        arp.initEthernetIpv4(arpOp);
        arp.senderMac(arpSha);
        arp.senderIp(ByteBuffer.wrap(src).getInt());
        arp.targetMac(arpTha);
        arp.targetIp(ByteBuffer.wrap(dst).getInt());
        return b;
    }

    /** The IP packet alone (no Ethernet header), e.g. to quote in an ICMP error. */
    public byte[] buildIp() {
        if (ipVersion != 4 && ipVersion != 6) {
            throw new IllegalStateException("call ipv4(...) or ipv6(...) first");
        }
        boolean firstOrWhole = fragmentOffset == 0;
        byte[] l4Bytes = firstOrWhole ? l4Header() : new byte[0];
        int l4Length = l4Bytes.length + payload.length;
        int upper = protocol >= 0 ? protocol : impliedProtocol();
        int firstNext = upper; // IPv6: the fixed header's next header, the first extension if any
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int headerLength;
        if (ipVersion == 4) {
            headerLength = Ipv4View.MIN_LENGTH + ipv4Options.length;
            out.writeBytes(new byte[Ipv4View.MIN_LENGTH]);
            out.writeBytes(ipv4Options);
        } else {
            out.writeBytes(new byte[Ipv6View.LENGTH]);
            List<Integer> types = new ArrayList<>(ipv6ExtTypes);
            List<byte[]> bodies = new ArrayList<>(ipv6ExtBodies);
            if (fragmentOffset != 0 || moreFragments) {
                types.add(IPPROTO_FRAGMENT);
                bodies.add(ByteBuffer.allocate(6).putShort((short) (fragmentOffset | (moreFragments ? 1 : 0)))
                        .putInt(ipId).array());
            }
            for (int i = 0; i < types.size(); i++) {
                byte[] body = bodies.get(i);
                int next = i + 1 < types.size() ? types.get(i + 1) : upper;
                out.write(next);
                out.write(types.get(i) == IPPROTO_FRAGMENT ? 0 : (body.length + 2) / 8 - 1);
                out.writeBytes(body);
            }
            headerLength = out.size();
            if (!types.isEmpty()) {
                firstNext = types.getFirst();
            }
        }
        out.writeBytes(l4Bytes);
        out.writeBytes(payload);
        byte[] packet = out.toByteArray();
        MemorySegment s = MemorySegment.ofArray(packet);
        if (ipVersion == 4) {
            Ipv4View ip = new Ipv4View().wrap(s, 0);
            ip.versionAndHeaderLength(headerLength);
            ip.tos(tos);
            ip.totalLength(packet.length);
            ip.identification(ipId);
            ip.flagsAndFragment((dontFragment ? Ipv4View.FLAG_DF : 0) | (moreFragments ? Ipv4View.FLAG_MF : 0)
                    | (fragmentOffset >>> 3));
            ip.ttl(ttl);
            ip.protocol(upper);
            System.arraycopy(src, 0, packet, Ipv4View.SRC_OFFSET, 4);
            System.arraycopy(dst, 0, packet, Ipv4View.DST_OFFSET, 4);
        } else {
            Ipv6View ip = new Ipv6View().wrap(s, 0);
            ip.versionClassFlow(tos, flowLabel);
            ip.payloadLength(packet.length - Ipv6View.LENGTH);
            ip.nextHeader(firstNext);
            ip.hopLimit(ttl);
            System.arraycopy(src, 0, packet, Ipv6View.SRC_OFFSET, 16);
            System.arraycopy(dst, 0, packet, Ipv6View.DST_OFFSET, 16);
        }
        if (firstOrWhole) {
            fillL4Checksum(s, headerLength, l4Length, upper);
        }
        applyLies(s, headerLength);
        if (ipVersion == 4) {
            Ipv4View ip = new Ipv4View().wrap(s, 0);
            ip.checksum(Checksums.ipv4HeaderChecksum(s, 0, headerLength));
            if (corruptIpChecksum) {
                ip.checksum(ip.checksum() ^ 1);
            }
        }
        return packet;
    }

    private int impliedProtocol() {
        return switch (l4) {
            case TCP -> IPPROTO_TCP;
            case UDP -> IPPROTO_UDP;
            case ICMP_ECHO, ICMP_ERROR -> ipVersion == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
            case NONE -> IPPROTO_NONE;
        };
    }

    private byte[] l4Header() {
        return switch (l4) {
            case TCP -> {
                byte[] h = new byte[TcpView.MIN_LENGTH + tcpOptions.length];
                TcpView tcp = new TcpView().wrap(MemorySegment.ofArray(h), 0);
                tcp.sourcePort(srcPort);
                tcp.destinationPort(dstPort);
                tcp.sequence(seq);
                tcp.acknowledgment(ack);
                tcp.headerLength(h.length);
                tcp.flags(tcpFlags);
                tcp.window(window);
                System.arraycopy(tcpOptions, 0, h, TcpView.MIN_LENGTH, tcpOptions.length);
                yield h;
            }
            case UDP -> {
                byte[] h = new byte[UdpView.LENGTH];
                UdpView udp = new UdpView().wrap(MemorySegment.ofArray(h), 0);
                udp.sourcePort(srcPort);
                udp.destinationPort(dstPort);
                udp.length(UdpView.LENGTH + payload.length);
                yield h;
            }
            case ICMP_ECHO, ICMP_ERROR -> {
                byte[] h = new byte[IcmpView.HEADER_LENGTH];
                IcmpView icmp = new IcmpView().wrap(MemorySegment.ofArray(h), 0);
                if (l4 == L4.ICMP_ECHO) {
                    icmp.type(ipVersion == 6 ? (echoRequest ? Icmpv6View.ECHO_REQUEST : Icmpv6View.ECHO_REPLY)
                            : (echoRequest ? IcmpView.ECHO_REQUEST : IcmpView.ECHO_REPLY));
                } else {
                    icmp.type(icmpType);
                    icmp.code(icmpCode);
                }
                icmp.restOfHeader(icmpRest);
                yield h;
            }
            case NONE -> new byte[0];
        };
    }

    private void fillL4Checksum(MemorySegment s, int l4At, int l4Length, int upper) {
        int field = Checksums.checksumField(upper);
        if (field < 0 || l4 == L4.NONE) {
            return;
        }
        int c;
        if (upper == IPPROTO_ICMP) {
            c = Checksums.icmpChecksum(s, l4At, l4Length);
        } else if (ipVersion == 4) {
            c = Checksums.l4Checksum4(s, 0, l4At, l4Length, upper);
        } else {
            c = Checksums.l4Checksum6(s, 0, l4At, l4Length, upper);
        }
        if (upper == IPPROTO_UDP && zeroUdpChecksum) {
            c = Checksums.UDP_NO_CHECKSUM;
        } else if (corruptL4Checksum) {
            c ^= 1;
        }
        NetworkOrder.setU16(s, l4At + field, c);
    }

    private void applyLies(MemorySegment s, int l4At) {
        if (totalLengthLie >= 0) {
            NetworkOrder.setU16(s, ipVersion == 4 ? Ipv4View.TOTAL_LENGTH_OFFSET : Ipv6View.PAYLOAD_LENGTH_OFFSET,
                    totalLengthLie);
        }
        if (ihlLie >= 0 && ipVersion == 4) {
            NetworkOrder.setU8(s, 0, 0x40 | (ihlLie & 0x0F));
        }
        if (udpLengthLie >= 0 && l4 == L4.UDP && fragmentOffset == 0) {
            NetworkOrder.setU16(s, l4At + UdpView.LENGTH_OFFSET, udpLengthLie);
        }
        if (tcpDataOffsetLie >= 0 && l4 == L4.TCP && fragmentOffset == 0) {
            NetworkOrder.setU8(s, l4At + TcpView.DATA_OFFSET_OFFSET, (tcpDataOffsetLie & 0x0F) << 4);
        }
    }
}
