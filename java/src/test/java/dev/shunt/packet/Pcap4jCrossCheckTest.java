package dev.shunt.packet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.pcap4j.packet.ArpPacket;
import org.pcap4j.packet.Dot1qVlanTagPacket;
import org.pcap4j.packet.EthernetPacket;
import org.pcap4j.packet.IcmpV4CommonPacket;
import org.pcap4j.packet.IcmpV4DestinationUnreachablePacket;
import org.pcap4j.packet.IcmpV4EchoPacket;
import org.pcap4j.packet.IcmpV4TimeExceededPacket;
import org.pcap4j.packet.IcmpV6CommonPacket;
import org.pcap4j.packet.IcmpV6EchoRequestPacket;
import org.pcap4j.packet.IcmpV6PacketTooBigPacket;
import org.pcap4j.packet.IpV4NoOperationOption;
import org.pcap4j.packet.IpV4Packet;
import org.pcap4j.packet.IpV4Rfc791Tos;
import org.pcap4j.packet.IpV6ExtDestinationOptionsPacket;
import org.pcap4j.packet.IpV6ExtFragmentPacket;
import org.pcap4j.packet.IpV6ExtHopByHopOptionsPacket;
import org.pcap4j.packet.IpV6Packet;
import org.pcap4j.packet.IpV6PadNOption;
import org.pcap4j.packet.IpV6SimpleFlowLabel;
import org.pcap4j.packet.IpV6SimpleTrafficClass;
import org.pcap4j.packet.Packet;
import org.pcap4j.packet.TcpPacket;
import org.pcap4j.packet.UdpPacket;
import org.pcap4j.packet.UnknownPacket;
import org.pcap4j.packet.namednumber.ArpHardwareType;
import org.pcap4j.packet.namednumber.ArpOperation;
import org.pcap4j.packet.namednumber.EtherType;
import org.pcap4j.packet.namednumber.IcmpV4Code;
import org.pcap4j.packet.namednumber.IcmpV4Type;
import org.pcap4j.packet.namednumber.IcmpV6Code;
import org.pcap4j.packet.namednumber.IcmpV6Type;
import org.pcap4j.packet.namednumber.IpNumber;
import org.pcap4j.packet.namednumber.IpVersion;
import org.pcap4j.packet.namednumber.TcpPort;
import org.pcap4j.packet.namednumber.UdpPort;
import org.pcap4j.util.MacAddress;

import java.lang.foreign.MemorySegment;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static dev.shunt.packet.Pcap4jAgreement.assertAgree;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Both directions against pcap4j: frames made by {@link PacketBuilder} decode in pcap4j to the
 * same fields and valid checksums; frames made by pcap4j's builders parse in Shunt (with every
 * checksum verified) to the same fields.
 */
class Pcap4jCrossCheckTest {
    static final String A4 = "10.244.1.5";
    static final String B4 = "10.96.0.10";
    static final String A6 = "fd00:244:1::5";
    static final String B6 = "fd00:96::a";
    static final byte[] DATA = "hello, shunt! 0123456789abcdef".getBytes();

    static byte[] payload(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 7 + 3);
        }
        return b;
    }

    // ------------------------------------------------------------------ Shunt builds, pcap4j reads

    static Stream<Arguments> shuntBuilt() {
        byte[] udp4 = new PacketBuilder().ipv4(B4, A4).udp(53000, 53).payload(DATA).buildIp();
        byte[] tcp4 = new PacketBuilder().ipv4(A4, B4).tcp(40000, 80).payload(DATA).buildIp();
        byte[] tcp6 = new PacketBuilder().ipv6(A6, B6).tcp(40000, 443).payload(DATA).buildIp();
        byte[] udp6Ext = new PacketBuilder().ipv6(A6, B6).destinationOptions().udp(5353, 53).payload(DATA).buildIp();
        byte[] inner = new PacketBuilder().ipv4(A4, B4).tcp(1234, 8080).tcpFlags(TcpView.SYN).build();
        return Stream.of(
                named("tcp4 syn with mss option", new PacketBuilder().ipv4(A4, B4).tcp(40000, 80).tcpFlags(TcpView.SYN)
                        .tcpOptions(new byte[] {2, 4, 0x05, (byte) 0xb4}).sequence(0x89abcdef).build()),
                named("tcp4 data, vlan 100 prio 5", new PacketBuilder().vlan((5 << 13) | 100).ipv4(A4, B4).tcp(40000, 80)
                        .tcpFlags(TcpView.PSH | TcpView.ACK).acknowledgment(77).payload(DATA).build()),
                named("tcp4 with ipv4 options", new PacketBuilder().ipv4(A4, B4).ipv4Options(new byte[] {1, 1, 1, 1, 1, 1, 1, 1})
                        .tcp(1, 2).payload(DATA).build()),
                named("udp4", new PacketBuilder().ipv4(A4, B4).ttl(3).tos(0xb8).dontFragment().udp(53000, 53).payload(DATA).build()),
                named("udp4 zero checksum", new PacketBuilder().ipv4(A4, B4).udp(53000, 53).zeroUdpChecksum().payload(DATA).build()),
                named("udp4 tiny, padded to 60", new PacketBuilder().ipv4(A4, B4).udp(1, 2).payload(new byte[1]).padToMinimum().build()),
                named("icmp4 echo request", new PacketBuilder().ipv4(A4, B4).icmpEcho(true, 0x4242, 7).payload(DATA).build()),
                named("icmp4 echo reply, vlan", new PacketBuilder().vlan(7).ipv4(B4, A4).icmpEcho(false, 0x4242, 7).payload(DATA).build()),
                named("icmp4 port unreachable quoting udp header+8", new PacketBuilder().ipv4(A4, B4)
                        .icmpError(IcmpView.DEST_UNREACHABLE, IcmpView.CODE_PORT_UNREACHABLE, 0, Arrays.copyOf(udp4, 28)).build()),
                named("icmp4 frag needed quoting whole tcp", new PacketBuilder().ipv4("10.0.0.1", A4)
                        .icmpError(IcmpView.DEST_UNREACHABLE, IcmpView.CODE_FRAGMENTATION_NEEDED, 1400, tcp4).build()),
                named("icmp4 time exceeded quoting tcp", new PacketBuilder().ipv4("10.0.0.1", A4)
                        .icmpError(IcmpView.TIME_EXCEEDED, 0, 0, Arrays.copyOf(tcp4, 28)).build()),
                named("tcp6", new PacketBuilder().ipv6(A6, B6).flowLabel(0x12345).tos(0x20).tcp(40000, 443).payload(DATA).build()),
                named("udp6 vlan", new PacketBuilder().vlan(4094).ipv6(A6, B6).udp(5353, 53).payload(DATA).build()),
                named("icmpv6 echo request", new PacketBuilder().ipv6(A6, B6).icmpEcho(true, 99, 1).payload(DATA).build()),
                named("tcp6 hop-by-hop, routing, dstopts", new PacketBuilder().ipv6(A6, B6).hopByHop().routing()
                        .destinationOptions().tcp(40000, 443).payload(DATA).build()),
                named("udp6 dstopts", new PacketBuilder().ipv6(A6, B6).destinationOptions().udp(5353, 53).payload(DATA).build()),
                named("icmpv6 packet too big quoting tcp6", new PacketBuilder().ipv6("fd00::1", A6)
                        .icmpError(Icmpv6View.PACKET_TOO_BIG, 0, 1280, tcp6).build()),
                named("icmpv6 time exceeded quoting udp6 with dstopts", new PacketBuilder().ipv6("fd00::1", A6)
                        .icmpError(Icmpv6View.TIME_EXCEEDED, 0, 0, udp6Ext).build()),
                named("ipv4 first fragment (udp)", new PacketBuilder().ipv4(A4, B4).identification(0xbeef)
                        .fragment(0, true).udp(53000, 53).payload(payload(16)).build()),
                named("ipv4 last fragment", new PacketBuilder().ipv4(A4, B4).identification(0xbeef)
                        .fragment(24, false).protocol(17).payload(payload(13)).build()),
                named("ipv6 first fragment (tcp)", new PacketBuilder().ipv6(A6, B6).identification(0x01020304)
                        .fragment(0, true).tcp(1, 2).payload(payload(20)).build()),
                named("ipv6 middle fragment after hop-by-hop", new PacketBuilder().ipv6(A6, B6).hopByHop()
                        .identification(0x01020304).fragment(40, true).protocol(6).payload(payload(32)).build()),
                named("arp request", new PacketBuilder().arp(ArpView.OP_REQUEST, 0x02_00_00_00_00_05L, A4, 0, "169.254.1.1").build()),
                named("arp reply", new PacketBuilder().macs(0xee_ee_ee_ee_ee_eeL, 0x02_00_00_00_00_05L)
                        .arp(ArpView.OP_REPLY, 0xee_ee_ee_ee_ee_eeL, "169.254.1.1", 0x02_00_00_00_00_05L, A4).build()),
                named("vxlan over udp4", new PacketBuilder().ipv4("198.18.0.1", "198.18.0.2").vxlan(4242, 49152, inner).build()));
    }

    static Arguments named(String name, byte[] frame) {
        return Arguments.of(name, frame);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shuntBuilt")
    void shuntBuiltFramesDecodeTheSameInPcap4j(String name, byte[] frame) throws Exception {
        PacketMeta m = assertAgree(frame);
        // Shunt's own strict parser agrees that every checksum is valid
        PacketMeta strict = new PacketMeta();
        assertThat(new PacketParser(PacketParser.VERIFY_IPV4_CHECKSUM | PacketParser.VERIFY_L4_CHECKSUM)
                .parse(MemorySegment.ofArray(frame), 0, frame.length, strict)).isEqualTo(DropReason.OK);
        assertThat(strict.l4Offset()).isEqualTo(m.l4Offset());
    }

    @Test
    void vxlanInnerFrameParsesAtTheVxlanPayload() throws Exception {
        byte[] inner = new PacketBuilder().ipv4(A4, B4).tcp(1234, 8080).tcpFlags(TcpView.SYN).build();
        byte[] frame = new PacketBuilder().ipv4("198.18.0.1", "198.18.0.2").vxlan(4242, 49152, inner).build();
        MemorySegment s = MemorySegment.ofArray(frame);
        PacketMeta outer = assertAgree(frame);
        assertThat(outer.dstPort()).isEqualTo(PacketDescriptor.VXLAN_PORT);
        VxlanView vx = new VxlanView().wrap(s, outer.payloadOffset());
        assertThat(vx.vniValid()).isTrue();
        assertThat(vx.vni()).isEqualTo(4242);
        PacketMeta m = new PacketMeta();
        long at = vx.innerFrameOffset();
        assertThat(new PacketParser().parse(s, at, (int) (outer.l3End() - at), m)).isEqualTo(DropReason.OK);
        assertThat(m.dstPort()).isEqualTo(8080);
        assertThat(Pcap4jAgreement.assertAgree(inner).srcPort()).isEqualTo(m.srcPort());
    }

    // ------------------------------------------------------------------ pcap4j builds, Shunt reads

    static Stream<Arguments> pcap4jBuilt() throws Exception {
        Inet4Address a4 = (Inet4Address) InetAddress.ofLiteral(A4);
        Inet4Address b4 = (Inet4Address) InetAddress.ofLiteral(B4);
        Inet6Address a6 = (Inet6Address) InetAddress.ofLiteral(A6);
        Inet6Address b6 = (Inet6Address) InetAddress.ofLiteral(B6);
        return Stream.of(
                named("tcp4", eth(EtherType.IPV4, ip4(a4, b4, IpNumber.TCP, tcp(a4, b4)))),
                named("tcp4 vlan", vlan(42, EtherType.IPV4, ip4(a4, b4, IpNumber.TCP, tcp(a4, b4)))),
                named("tcp4 ipv4 options", eth(EtherType.IPV4, ip4(a4, b4, IpNumber.TCP, tcp(a4, b4))
                        .options(List.of(IpV4NoOperationOption.getInstance(), IpV4NoOperationOption.getInstance(),
                                IpV4NoOperationOption.getInstance(), IpV4NoOperationOption.getInstance())))),
                named("udp4", eth(EtherType.IPV4, ip4(a4, b4, IpNumber.UDP, udp(a4, b4)))),
                named("icmp4 echo", eth(EtherType.IPV4, ip4(a4, b4, IpNumber.ICMPV4, icmp4(IcmpV4Type.ECHO, IcmpV4Code.NO_CODE,
                        new IcmpV4EchoPacket.Builder().identifier((short) 0x1234).sequenceNumber((short) 9)
                                .payloadBuilder(raw(DATA)))))),
                named("icmp4 port unreachable", eth(EtherType.IPV4, ip4(b4, a4, IpNumber.ICMPV4,
                        icmp4(IcmpV4Type.DESTINATION_UNREACHABLE, IcmpV4Code.PORT_UNREACHABLE,
                                new IcmpV4DestinationUnreachablePacket.Builder()
                                        .payload(ip4(a4, b4, IpNumber.UDP, udp(a4, b4)).build()))))),
                named("icmp4 time exceeded", eth(EtherType.IPV4, ip4(b4, a4, IpNumber.ICMPV4,
                        icmp4(IcmpV4Type.TIME_EXCEEDED, IcmpV4Code.TIME_TO_LIVE_EXCEEDED,
                                new IcmpV4TimeExceededPacket.Builder()
                                        .payload(ip4(a4, b4, IpNumber.TCP, tcp(a4, b4)).build()))))),
                named("ipv4 fragment", eth(EtherType.IPV4, ip4(a4, b4, IpNumber.UDP, raw(payload(24)))
                        .moreFragmentFlag(true).fragmentOffset((short) 3))),
                named("tcp6", eth(EtherType.IPV6, ip6(a6, b6, IpNumber.TCP, tcp(a6, b6)))),
                named("udp6 vlan", vlan(3000, EtherType.IPV6, ip6(a6, b6, IpNumber.UDP, udp(a6, b6)))),
                named("icmpv6 echo", eth(EtherType.IPV6, ip6(a6, b6, IpNumber.ICMPV6, icmp6(a6, b6, IcmpV6Type.ECHO_REQUEST,
                        IcmpV6Code.NO_CODE, new IcmpV6EchoRequestPacket.Builder().identifier((short) 77)
                                .sequenceNumber((short) 1).payloadBuilder(raw(DATA)))))),
                named("icmpv6 packet too big", eth(EtherType.IPV6, ip6(b6, a6, IpNumber.ICMPV6, icmp6(b6, a6,
                        IcmpV6Type.PACKET_TOO_BIG, IcmpV6Code.NO_CODE, new IcmpV6PacketTooBigPacket.Builder().mtu(1280)
                                .payload(ip6(a6, b6, IpNumber.TCP, tcp(a6, b6)).build()))))),
                named("tcp6 hop-by-hop + dstopts", eth(EtherType.IPV6, ip6(a6, b6, IpNumber.IPV6_HOPOPT,
                        new IpV6ExtHopByHopOptionsPacket.Builder().nextHeader(IpNumber.IPV6_DST_OPTS).hdrExtLen((byte) 0)
                                .options(List.of(padN(4))).payloadBuilder(
                                        new IpV6ExtDestinationOptionsPacket.Builder().nextHeader(IpNumber.TCP)
                                                .hdrExtLen((byte) 0).options(List.of(padN(4)))
                                                .payloadBuilder(tcp(a6, b6)))))),
                named("ipv6 fragment header", eth(EtherType.IPV6, ip6(a6, b6, IpNumber.IPV6_FRAG,
                        new IpV6ExtFragmentPacket.Builder().nextHeader(IpNumber.UDP).fragmentOffset((short) 5).m(true)
                                .identification(0x0a0b0c0d).payloadBuilder(raw(payload(16)))))),
                named("arp", eth(EtherType.ARP, new ArpPacket.Builder().hardwareType(ArpHardwareType.ETHERNET)
                        .protocolType(EtherType.IPV4).hardwareAddrLength((byte) 6).protocolAddrLength((byte) 4)
                        .operation(ArpOperation.REQUEST).srcHardwareAddr(MacAddress.getByName("02:00:00:00:00:05"))
                        .srcProtocolAddr(a4).dstHardwareAddr(MacAddress.getByName("00:00:00:00:00:00"))
                        .dstProtocolAddr(b4))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("pcap4jBuilt")
    void pcap4jBuiltFramesParseTheSameInShunt(String name, byte[] frame) throws Exception {
        PacketMeta strict = new PacketMeta();
        assertThat(new PacketParser(PacketParser.VERIFY_IPV4_CHECKSUM | PacketParser.VERIFY_L4_CHECKSUM)
                .parse(MemorySegment.ofArray(frame), 0, frame.length, strict)).isEqualTo(DropReason.OK);
        assertAgree(frame);
    }

    // ------------------------------------------------------------------ pcap4j builder shorthands

    static byte[] eth(EtherType type, Packet.Builder payload) {
        return new EthernetPacket.Builder().srcAddr(MacAddress.getByName("02:00:00:00:00:01"))
                .dstAddr(MacAddress.getByName("02:00:00:00:00:02")).type(type).payloadBuilder(payload)
                .paddingAtBuild(true).build().getRawData();
    }

    static byte[] vlan(int vid, EtherType type, Packet.Builder payload) {
        Dot1qVlanTagPacket.Builder tag = new Dot1qVlanTagPacket.Builder().priority((byte) 3).cfi(false)
                .vid((short) vid).type(type).payloadBuilder(payload);
        return eth(EtherType.DOT1Q_VLAN_TAGGED_FRAMES, tag);
    }

    static IpV4Packet.Builder ip4(Inet4Address src, Inet4Address dst, IpNumber protocol, Packet.Builder payload) {
        return new IpV4Packet.Builder().version(IpVersion.IPV4).tos(IpV4Rfc791Tos.newInstance((byte) 0))
                .identification((short) 4711).ttl((byte) 61).protocol(protocol).srcAddr(src).dstAddr(dst)
                .payloadBuilder(payload).paddingAtBuild(true).correctChecksumAtBuild(true).correctLengthAtBuild(true);
    }

    static IpV6Packet.Builder ip6(Inet6Address src, Inet6Address dst, IpNumber next, Packet.Builder payload) {
        return new IpV6Packet.Builder().version(IpVersion.IPV6).trafficClass(IpV6SimpleTrafficClass.newInstance((byte) 0))
                .flowLabel(IpV6SimpleFlowLabel.newInstance(0xabcde)).nextHeader(next).hopLimit((byte) 62)
                .srcAddr(src).dstAddr(dst).payloadBuilder(payload).correctLengthAtBuild(true);
    }

    static TcpPacket.Builder tcp(InetAddress src, InetAddress dst) {
        return new TcpPacket.Builder().srcPort(TcpPort.getInstance((short) 40001)).dstPort(TcpPort.HTTP)
                .sequenceNumber(0x11223344).acknowledgmentNumber(0x55667788).dataOffset((byte) 5).psh(true).ack(true)
                .window((short) 29200).srcAddr(src).dstAddr(dst).payloadBuilder(raw(DATA))
                .correctChecksumAtBuild(true).correctLengthAtBuild(true);
    }

    static UdpPacket.Builder udp(InetAddress src, InetAddress dst) {
        return new UdpPacket.Builder().srcPort(UdpPort.getInstance((short) 33333)).dstPort(UdpPort.DOMAIN)
                .srcAddr(src).dstAddr(dst).payloadBuilder(raw(DATA)).correctChecksumAtBuild(true).correctLengthAtBuild(true);
    }

    static IcmpV4CommonPacket.Builder icmp4(IcmpV4Type type, IcmpV4Code code, Packet.Builder body) {
        return new IcmpV4CommonPacket.Builder().type(type).code(code).payloadBuilder(body).correctChecksumAtBuild(true);
    }

    static IcmpV6CommonPacket.Builder icmp6(Inet6Address src, Inet6Address dst, IcmpV6Type type, IcmpV6Code code,
            Packet.Builder body) {
        return new IcmpV6CommonPacket.Builder().srcAddr(src).dstAddr(dst).type(type).code(code).payloadBuilder(body)
                .correctChecksumAtBuild(true);
    }

    static UnknownPacket.Builder raw(byte[] data) {
        return new UnknownPacket.Builder().rawData(data);
    }

    static IpV6PadNOption padN(int dataLength) {
        return new IpV6PadNOption.Builder().data(new byte[dataLength]).dataLen((byte) dataLength)
                .correctLengthAtBuild(true).build();
    }
}
