package dev.shunt.packet;

import org.pcap4j.packet.ArpPacket;
import org.pcap4j.packet.Dot1qVlanTagPacket;
import org.pcap4j.packet.EthernetPacket;
import org.pcap4j.packet.IcmpV4CommonPacket;
import org.pcap4j.packet.IcmpV6CommonPacket;
import org.pcap4j.packet.IcmpV4EchoPacket;
import org.pcap4j.packet.IcmpV4EchoReplyPacket;
import org.pcap4j.packet.IcmpV6EchoReplyPacket;
import org.pcap4j.packet.IcmpV6EchoRequestPacket;
import org.pcap4j.packet.IllegalRawDataException;
import org.pcap4j.packet.IpV4Packet;
import org.pcap4j.packet.IpV6ExtDestinationOptionsPacket;
import org.pcap4j.packet.IpV6ExtFragmentPacket;
import org.pcap4j.packet.IpV6ExtHopByHopOptionsPacket;
import org.pcap4j.packet.IpV6ExtRoutingPacket;
import org.pcap4j.packet.IpV6Packet;
import org.pcap4j.packet.Packet;
import org.pcap4j.packet.TcpPacket;
import org.pcap4j.packet.UdpPacket;
import org.pcap4j.util.MacAddress;

import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static dev.shunt.packet.PacketDescriptor.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Compares, field by field, what Shunt's parser and views read from a frame with what pcap4j
 * (an independent implementation) decodes from the same bytes, checksums included both ways:
 * pcap4j's verdict on validity, and Shunt's recomputation against the stored value.
 */
final class Pcap4jAgreement {
    private Pcap4jAgreement() {}

    static PacketMeta assertAgree(byte[] frame) throws IllegalRawDataException {
        MemorySegment s = MemorySegment.ofArray(frame);
        PacketMeta m = new PacketMeta();
        assertThat(new PacketParser().parse(s, 0, frame.length, m)).isEqualTo(DropReason.OK);
        EthernetPacket eth = EthernetPacket.newPacket(frame, 0, frame.length);
        List<Packet> chain = chain(eth);

        EthernetView ev = new EthernetView().wrap(s, 0);
        assertThat(ev.source()).isEqualTo(mac(eth.getHeader().getSrcAddr()));
        assertThat(ev.destination()).isEqualTo(mac(eth.getHeader().getDstAddr()));
        Dot1qVlanTagPacket tag = eth.get(Dot1qVlanTagPacket.class);
        assertThat(m.hasVlan()).isEqualTo(tag != null);
        if (tag != null) {
            assertThat(m.vlanId()).isEqualTo(tag.getHeader().getVidAsInt());
            assertThat(ev.vlanPriority()).isEqualTo(tag.getHeader().getPriority());
        }
        assertThat(m.l3Offset()).isEqualTo(ev.headerLength());
        assertThat(m.etherType()).isEqualTo(ev.etherType());

        ArpPacket arp = eth.get(ArpPacket.class);
        if (arp != null) {
            ArpView av = new ArpView().wrap(s, m.l3Offset());
            assertThat(m.arpOperation()).isEqualTo(arp.getHeader().getOperation().value() & 0xFFFF);
            assertThat(m.src4()).isEqualTo(ip4(arp.getHeader().getSrcProtocolAddr()));
            assertThat(m.dst4()).isEqualTo(ip4(arp.getHeader().getDstProtocolAddr()));
            assertThat(av.senderMac()).isEqualTo(mac(arp.getHeader().getSrcHardwareAddr()));
            assertThat(av.targetMac()).isEqualTo(mac(arp.getHeader().getDstHardwareAddr()));
            return m;
        }
        InetAddress src;
        InetAddress dst;
        if (m.ipVersion() == 4) {
            IpV4Packet.IpV4Header h = first(chain, IpV4Packet.class, 0).getHeader();
            Ipv4View v = new Ipv4View().wrap(s, m.l3Offset());
            src = h.getSrcAddr();
            dst = h.getDstAddr();
            assertThat(m.src4()).isEqualTo(ip4(src));
            assertThat(m.dst4()).isEqualTo(ip4(dst));
            assertThat(m.ttl()).isEqualTo(h.getTtlAsInt());
            assertThat(m.l4Protocol()).isEqualTo(h.getProtocol().value() & 0xFF);
            assertThat(m.l3HeaderLength()).isEqualTo(h.getIhlAsInt() * 4);
            assertThat(m.l3End() - m.l3Offset()).isEqualTo(h.getTotalLengthAsInt());
            assertThat(m.dontFragment()).isEqualTo(h.getDontFragmentFlag());
            assertThat(m.moreFragments()).isEqualTo(h.getMoreFragmentFlag());
            assertThat(m.fragmentOffset()).isEqualTo(h.getFragmentOffset() * 8);
            assertThat(v.identification()).isEqualTo(h.getIdentificationAsInt());
            assertThat(v.tos()).isEqualTo(h.getTos().value() & 0xFF);
            assertThat(v.checksum()).isEqualTo(h.getHeaderChecksum() & 0xFFFF);
            assertThat(h.hasValidChecksum(false)).isTrue();
            assertThat(v.checksumValid()).isTrue();
            assertThat(Checksums.ipv4HeaderChecksum(s, m.l3Offset(), m.l3HeaderLength())).isEqualTo(v.checksum());
        } else {
            assertThat(m.ipVersion()).isEqualTo(6);
            IpV6Packet ip6 = first(chain, IpV6Packet.class, 0);
            IpV6Packet.IpV6Header h = ip6.getHeader();
            src = h.getSrcAddr();
            dst = h.getDstAddr();
            assertThat(new long[] {m.srcHigh(), m.srcLow()}).containsExactly(ip6(src));
            assertThat(new long[] {m.dstHigh(), m.dstLow()}).containsExactly(ip6(dst));
            assertThat(m.ttl()).isEqualTo(h.getHopLimitAsInt());
            assertThat(m.l3End() - m.l3Offset()).isEqualTo(40 + h.getPayloadLengthAsInt());
            Ipv6View v = new Ipv6View().wrap(s, m.l3Offset());
            assertThat(v.flowLabel()).isEqualTo(h.getFlowLabel().value());
            assertThat(v.trafficClass()).isEqualTo(h.getTrafficClass().value() & 0xFF);
            // walk pcap4j's extension packets to the upper layer
            int protocol = h.getNextHeader().value() & 0xFF;
            int extLength = 0;
            boolean fragmentHeader = false;
            for (Packet p = ip6.getPayload(); p != null; p = p.getPayload()) {
                if (p instanceof IpV6ExtHopByHopOptionsPacket e) {
                    protocol = e.getHeader().getNextHeader().value() & 0xFF;
                } else if (p instanceof IpV6ExtDestinationOptionsPacket e) {
                    protocol = e.getHeader().getNextHeader().value() & 0xFF;
                } else if (p instanceof IpV6ExtRoutingPacket e) {
                    protocol = e.getHeader().getNextHeader().value() & 0xFF;
                } else if (p instanceof IpV6ExtFragmentPacket e) {
                    protocol = e.getHeader().getNextHeader().value() & 0xFF;
                    fragmentHeader = true;
                    assertThat(m.fragmentOffset()).isEqualTo(e.getHeader().getFragmentOffset() * 8);
                    assertThat(m.moreFragments()).isEqualTo(e.getHeader().getM());
                    assertThat(m.fragmentId()).isEqualTo(e.getHeader().getIdentification());
                } else {
                    break;
                }
                extLength += p.getHeader().length();
            }
            assertThat(m.hasFragmentHeader()).isEqualTo(fragmentHeader);
            assertThat(m.l4Protocol()).isEqualTo(protocol);
            if (!m.isFragment() || m.fragmentOffset() == 0) {
                assertThat(m.l3HeaderLength()).isEqualTo(40 + extLength);
            }
        }
        if (!m.hasL4() || m.isFragment()) {
            // pcap4j keeps every fragment's payload opaque; compare the raw L4 bytes we can see
            if (m.isFragment() && m.fragmentOffset() != 0) {
                assertThat(m.srcPort()).isZero();
                assertThat(m.payloadLength()).isEqualTo((int) (m.l3End() - m.payloadOffset()));
            }
            return m;
        }
        int l4Length = (int) (m.l3End() - m.l4Offset());
        long l3 = m.l3Offset();
        long l4 = m.l4Offset();
        switch (m.l4Protocol()) {
            case IPPROTO_TCP -> {
                TcpPacket tcp = first(chain, TcpPacket.class, 0);
                TcpPacket.TcpHeader h = tcp.getHeader();
                TcpView t = new TcpView().wrap(s, l4);
                assertThat(m.srcPort()).isEqualTo(h.getSrcPort().valueAsInt());
                assertThat(m.dstPort()).isEqualTo(h.getDstPort().valueAsInt());
                assertThat(t.sequence()).isEqualTo(h.getSequenceNumber());
                assertThat(t.acknowledgment()).isEqualTo(h.getAcknowledgmentNumber());
                assertThat(t.headerLength()).isEqualTo(h.getDataOffsetAsInt() * 4);
                assertThat(m.payloadOffset() - l4).isEqualTo(h.getDataOffsetAsInt() * 4);
                assertThat(t.window()).isEqualTo(h.getWindowAsInt());
                int flags = (h.getFin() ? TcpView.FIN : 0) | (h.getSyn() ? TcpView.SYN : 0) | (h.getRst() ? TcpView.RST : 0)
                        | (h.getPsh() ? TcpView.PSH : 0) | (h.getAck() ? TcpView.ACK : 0) | (h.getUrg() ? TcpView.URG : 0);
                assertThat(m.tcpFlags() & 0x3F).isEqualTo(flags);
                assertThat(t.checksum()).isEqualTo(h.getChecksum() & 0xFFFF);
                assertThat(tcp.hasValidChecksum(src, dst, false)).isTrue();
                assertThat(shuntChecksum(s, m, l4Length)).isEqualTo(t.checksum());
                assertThat(m.payloadLength()).isEqualTo(payloadLength(tcp));
            }
            case IPPROTO_UDP -> {
                UdpPacket udp = first(chain, UdpPacket.class, 0);
                UdpPacket.UdpHeader h = udp.getHeader();
                UdpView u = new UdpView().wrap(s, l4);
                assertThat(m.srcPort()).isEqualTo(h.getSrcPort().valueAsInt());
                assertThat(m.dstPort()).isEqualTo(h.getDstPort().valueAsInt());
                assertThat(u.length()).isEqualTo(h.getLengthAsInt());
                assertThat(m.payloadLength()).isEqualTo(h.getLengthAsInt() - 8);
                assertThat(u.checksum()).isEqualTo(h.getChecksum() & 0xFFFF);
                assertThat(udp.hasValidChecksum(src, dst, m.ipVersion() == 4)).isTrue();
                if (u.checksum() != 0) {
                    assertThat(shuntChecksum(s, m, u.length())).isEqualTo(u.checksum());
                }
            }
            case IPPROTO_ICMP -> {
                IcmpV4CommonPacket icmp = first(chain, IcmpV4CommonPacket.class, 0);
                IcmpView iv = new IcmpView().wrap(s, l4);
                assertThat(m.icmpType()).isEqualTo(icmp.getHeader().getType().value() & 0xFF);
                assertThat(m.icmpCode()).isEqualTo(icmp.getHeader().getCode().value() & 0xFF);
                assertThat(iv.checksum()).isEqualTo(icmp.getHeader().getChecksum() & 0xFFFF);
                assertThat(icmp.hasValidChecksum(false)).isTrue();
                assertThat(Checksums.icmpChecksum(s, l4, l4Length)).isEqualTo(iv.checksum());
                assertIcmpBody(m, s, chain);
            }
            case IPPROTO_ICMPV6 -> {
                IcmpV6CommonPacket icmp = first(chain, IcmpV6CommonPacket.class, 0);
                Icmpv6View iv = new Icmpv6View().wrap(s, l4);
                assertThat(m.icmpType()).isEqualTo(icmp.getHeader().getType().value() & 0xFF);
                assertThat(m.icmpCode()).isEqualTo(icmp.getHeader().getCode().value() & 0xFF);
                assertThat(iv.checksum()).isEqualTo(icmp.getHeader().getChecksum() & 0xFFFF);
                assertThat(icmp.hasValidChecksum((java.net.Inet6Address) src, (java.net.Inet6Address) dst, false)).isTrue();
                assertThat(Checksums.icmpv6Checksum(s, l3, l4, l4Length)).isEqualTo(iv.checksum());
                assertIcmpBody(m, s, chain);
            }
            default -> {
            }
        }
        return m;
    }

    private static int shuntChecksum(MemorySegment s, PacketMeta m, int l4Length) {
        return m.ipVersion() == 4
                ? Checksums.l4Checksum4(s, m.l3Offset(), m.l4Offset(), l4Length, m.l4Protocol())
                : Checksums.l4Checksum6(s, m.l3Offset(), m.l4Offset(), l4Length, m.l4Protocol());
    }

    /** Echo id, or for errors the quoted packet's addresses, protocol and ports. */
    private static void assertIcmpBody(PacketMeta m, MemorySegment s, List<Packet> chain) {
        boolean v6 = m.ipVersion() == 6;
        int type = m.icmpType();
        if (v6 ? Icmpv6View.isEcho(type) : IcmpView.isEcho(type)) {
            int[] idSeq = echoIdAndSequence(chain);
            assertThat(m.icmpEchoId()).isEqualTo(idSeq[0]);
            assertThat(new IcmpView().wrap(s, m.l4Offset()).sequence()).isEqualTo(idSeq[1]);
            return;
        }
        assertThat(m.hasInner()).isTrue();
        assertThat(m.innerL3Offset()).isEqualTo(m.l4Offset() + 8);
        if (v6) {
            IpV6Packet inner = first(chain, IpV6Packet.class, 1);
            assertThat(new long[] {m.innerSrcHigh(), m.innerSrcLow()}).containsExactly(ip6(inner.getHeader().getSrcAddr()));
            assertThat(new long[] {m.innerDstHigh(), m.innerDstLow()}).containsExactly(ip6(inner.getHeader().getDstAddr()));
        } else {
            IpV4Packet inner = first(chain, IpV4Packet.class, 1);
            assertThat(m.innerSrc4()).isEqualTo(ip4(inner.getHeader().getSrcAddr()));
            assertThat(m.innerDst4()).isEqualTo(ip4(inner.getHeader().getDstAddr()));
            assertThat(m.innerProtocol()).isEqualTo(inner.getHeader().getProtocol().value() & 0xFF);
            assertThat(m.innerL4Offset()).isEqualTo(m.innerL3Offset() + inner.getHeader().getIhlAsInt() * 4);
        }
        if (m.innerProtocol() == IPPROTO_TCP || m.innerProtocol() == IPPROTO_UDP) {
            assertThat(m.innerSrcPort()).isEqualTo(NetworkOrder.u16(s, m.innerL4Offset()));
            assertThat(m.innerDstPort()).isEqualTo(NetworkOrder.u16(s, m.innerL4Offset() + 2));
        }
    }

    /** pcap4j has one class per echo type and their common superclass is not public. */
    private static int[] echoIdAndSequence(List<Packet> chain) {
        for (Packet p : chain) {
            if (p instanceof IcmpV4EchoPacket e) {
                return new int[] {e.getHeader().getIdentifierAsInt(), e.getHeader().getSequenceNumberAsInt()};
            } else if (p instanceof IcmpV4EchoReplyPacket e) {
                return new int[] {e.getHeader().getIdentifierAsInt(), e.getHeader().getSequenceNumberAsInt()};
            } else if (p instanceof IcmpV6EchoRequestPacket e) {
                return new int[] {e.getHeader().getIdentifierAsInt(), e.getHeader().getSequenceNumberAsInt()};
            } else if (p instanceof IcmpV6EchoReplyPacket e) {
                return new int[] {e.getHeader().getIdentifierAsInt(), e.getHeader().getSequenceNumberAsInt()};
            }
        }
        throw new AssertionError("pcap4j found no echo message in " + chain);
    }

    static List<Packet> chain(Packet top) {
        List<Packet> out = new ArrayList<>();
        for (Packet p = top; p != null; p = p.getPayload()) {
            out.add(p);
        }
        return out;
    }

    /** The {@code index}-th packet of this class in the chain (1 = the one quoted in an ICMP error). */
    static <T extends Packet> T first(List<Packet> chain, Class<T> type, int index) {
        int seen = 0;
        for (Packet p : chain) {
            if (type.isInstance(p) && seen++ == index) {
                return type.cast(p);
            }
        }
        throw new AssertionError("pcap4j found no " + type.getSimpleName() + " #" + index + " in " + chain);
    }

    private static int payloadLength(Packet p) {
        return p.getPayload() == null ? 0 : p.getPayload().length();
    }

    static long mac(MacAddress mac) {
        byte[] b = mac.getAddress();
        return ByteBuffer.allocate(8).put(new byte[2]).put(b).flip().getLong();
    }

    static int ip4(InetAddress address) {
        return ByteBuffer.wrap(address.getAddress()).getInt();
    }

    static long[] ip6(InetAddress address) {
        ByteBuffer b = ByteBuffer.wrap(address.getAddress());
        return new long[] {b.getLong(), b.getLong()};
    }
}
