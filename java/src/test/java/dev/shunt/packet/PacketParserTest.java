package dev.shunt.packet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.stream.Stream;

import static dev.shunt.packet.DropReason.*;
import static org.assertj.core.api.Assertions.assertThat;

/** Each DropReason from a frame broken in exactly one way, plus the semantics of fragments and ICMP errors. */
class PacketParserTest {
    static final String A4 = "10.244.1.5";
    static final String B4 = "10.96.0.10";
    static final String A6 = "fd00:244:1::5";
    static final String B6 = "fd00:96::a";

    static PacketBuilder tcp4() {
        return new PacketBuilder().ipv4(A4, B4).tcp(40000, 80).payload(new byte[10]);
    }

    static PacketBuilder udp6() {
        return new PacketBuilder().ipv6(A6, B6).udp(5353, 53).payload(new byte[10]);
    }

    static DropReason parse(byte[] frame, PacketMeta m) {
        return new PacketParser(PacketParser.VERIFY_IPV4_CHECKSUM | PacketParser.VERIFY_L4_CHECKSUM)
                .parse(MemorySegment.ofArray(frame), 0, frame.length, m);
    }

    static Stream<Arguments> broken() {
        byte[] good = tcp4().build();
        byte[] qinq = good.clone();
        qinq[12] = (byte) 0x88;
        qinq[13] = (byte) 0xA8;
        byte[] ieee8023 = good.clone();
        ieee8023[12] = 0x00;
        ieee8023[13] = 0x40;
        byte[] arpIpv6 = new PacketBuilder().arp(ArpView.OP_REQUEST, 1, A4, 0, B4).build();
        arpIpv6[14 + 2] = (byte) 0x86;
        byte[] badV4Version = good.clone();
        badV4Version[14] = 0x65;
        byte[] badV6Version = udp6().build();
        badV6Version[14] = 0x45;
        byte[] doubleFragment = new PacketBuilder().ipv6(A6, B6).identification(1).fragment(0, true)
                .ipv6Extension(PacketDescriptor.IPPROTO_FRAGMENT, new byte[6]).udp(1, 2).payload(new byte[8]).build();
        byte[] quotedV6InV4 = new PacketBuilder().ipv4(A4, B4).icmpError(IcmpView.DEST_UNREACHABLE, 1, 0,
                udp6().buildIp()).build();
        return Stream.of(
                Arguments.of("empty", new byte[0], TRUNCATED_ETHERNET),
                Arguments.of("13 bytes", Arrays.copyOf(good, 13), TRUNCATED_ETHERNET),
                Arguments.of("tag cut", Arrays.copyOf(new PacketBuilder().vlan(1).ipv4(A4, B4).tcp(1, 2).build(), 16), TRUNCATED_VLAN),
                Arguments.of("QinQ", qinq, UNSUPPORTED_VLAN_STACK),
                Arguments.of("802.3 length", ieee8023, UNSUPPORTED_ETHERTYPE),
                Arguments.of("arp cut", new PacketBuilder().arp(1, 1, A4, 0, B4).truncateTo(14 + 27).build(), TRUNCATED_ARP),
                Arguments.of("arp for ipv6", arpIpv6, UNSUPPORTED_ARP),
                Arguments.of("ipv4 cut in header", tcp4().truncateTo(14 + 19).build(), TRUNCATED_IPV4),
                Arguments.of("ipv4 version 6", badV4Version, BAD_IPV4_VERSION),
                Arguments.of("ihl 4", tcp4().ihlLie(4).build(), BAD_IPV4_IHL),
                Arguments.of("ihl 15 past the frame", new PacketBuilder().ipv4(A4, B4).ihlLie(15).payload(new byte[4]).build(), TRUNCATED_IPV4),
                Arguments.of("total length < ihl", tcp4().lengthLie(19).build(), BAD_IPV4_TOTAL_LENGTH),
                Arguments.of("total length > frame", tcp4().lengthLie(1000).build(), TRUNCATED_IPV4),
                Arguments.of("frame cut in payload", tcp4().truncateTo(14 + 20 + 20 + 5).build(), TRUNCATED_IPV4),
                Arguments.of("ipv4 checksum", tcp4().corruptIpChecksum().build(), BAD_IPV4_CHECKSUM),
                Arguments.of("fragment past 65535", new PacketBuilder().ipv4(A4, B4).fragment(65528, false).protocol(17)
                        .payload(new byte[16]).build(), BAD_IPV4_FRAGMENT),
                Arguments.of("non-last fragment of 13 bytes", new PacketBuilder().ipv4(A4, B4).fragment(8, true).protocol(17)
                        .payload(new byte[13]).build(), BAD_IPV4_FRAGMENT),
                Arguments.of("ipv6 cut", udp6().truncateTo(14 + 39).build(), TRUNCATED_IPV6),
                Arguments.of("ipv6 payload length lie", udp6().lengthLie(500).build(), TRUNCATED_IPV6),
                Arguments.of("ipv6 version 4", badV6Version, BAD_IPV6_VERSION),
                Arguments.of("hop-by-hop not first", new PacketBuilder().ipv6(A6, B6).destinationOptions().hopByHop()
                        .udp(1, 2).build(), BAD_IPV6_EXTENSION),
                Arguments.of("two fragment headers", doubleFragment, BAD_IPV6_EXTENSION),
                Arguments.of("extension past payload", new PacketBuilder().ipv6(A6, B6).ipv6Extension(60, new byte[14])
                        .lengthLie(8).build(), BAD_IPV6_EXTENSION),
                Arguments.of("nine extension headers", nineExtensions(), BAD_IPV6_EXTENSION),
                Arguments.of("ipv6 fragment past 65535", new PacketBuilder().ipv6(A6, B6).fragment(65528, false).protocol(17)
                        .payload(new byte[16]).build(), BAD_IPV6_FRAGMENT),
                Arguments.of("tcp cut", new PacketBuilder().ipv4(A4, B4).protocol(6).payload(new byte[19]).build(), TRUNCATED_TCP),
                Arguments.of("tcp data offset 4", tcp4().tcpDataOffsetLie(4).build(), BAD_TCP_DATA_OFFSET),
                Arguments.of("tcp data offset 15", tcp4().tcpDataOffsetLie(15).build(), BAD_TCP_DATA_OFFSET),
                Arguments.of("tcp checksum", tcp4().corruptL4Checksum().build(), BAD_TCP_CHECKSUM),
                Arguments.of("udp cut", new PacketBuilder().ipv6(A6, B6).protocol(17).payload(new byte[7]).build(), TRUNCATED_UDP),
                Arguments.of("udp length 7", udp6().udpLengthLie(7).build(), BAD_UDP_LENGTH),
                Arguments.of("udp length past packet", udp6().udpLengthLie(19).build(), BAD_UDP_LENGTH),
                Arguments.of("udp checksum", udp6().corruptL4Checksum().build(), BAD_UDP_CHECKSUM),
                Arguments.of("icmp cut", new PacketBuilder().ipv4(A4, B4).protocol(1).payload(new byte[7]).build(), TRUNCATED_ICMP),
                Arguments.of("icmp checksum", new PacketBuilder().ipv4(A4, B4).icmpEcho(true, 1, 1).corruptL4Checksum().build(),
                        BAD_ICMP_CHECKSUM),
                Arguments.of("icmpv6 checksum", new PacketBuilder().ipv6(A6, B6).icmpEcho(true, 1, 1).corruptL4Checksum().build(),
                        BAD_ICMP_CHECKSUM),
                Arguments.of("icmp error quoting 27 bytes", new PacketBuilder().ipv4(A4, B4).icmpError(3, 1, 0,
                        Arrays.copyOf(tcp4().buildIp(), 27)).build(), TRUNCATED_ICMP_ERROR),
                Arguments.of("icmp error quoting ipv6", quotedV6InV4, BAD_ICMP_ERROR),
                Arguments.of("icmpv6 error quoting 47 bytes", new PacketBuilder().ipv6(B6, A6).icmpError(1, 4, 0,
                        Arrays.copyOf(udp6().buildIp(), 47)).build(), TRUNCATED_ICMP_ERROR));
    }

    private static byte[] nineExtensions() {
        PacketBuilder b = new PacketBuilder().ipv6(A6, B6);
        for (int i = 0; i < 9; i++) {
            b.destinationOptions();
        }
        return b.udp(1, 2).build();
    }

    @ParameterizedTest(name = "{0} -> {2}")
    @MethodSource("broken")
    void reportsTheDropReason(String name, byte[] frame, DropReason expected) {
        assertThat(parse(frame, new PacketMeta())).isEqualTo(expected);
    }

    @Test
    void aDropLeavesNoStaleFieldsBehind() {
        PacketMeta m = new PacketMeta();
        assertThat(parse(tcp4().build(), m)).isEqualTo(OK);
        assertThat(m.srcPort()).isEqualTo(40000);
        assertThat(parse(tcp4().corruptIpChecksum().build(), m)).isEqualTo(BAD_IPV4_CHECKSUM);
        assertThat(m.srcPort()).isZero();
        assertThat(m.hasL4()).isFalse();
    }

    @Test
    void boundsOutsideTheSegmentAreADropNotAnException() {
        byte[] frame = tcp4().build();
        PacketParser parser = new PacketParser();
        PacketMeta m = new PacketMeta();
        MemorySegment s = MemorySegment.ofArray(frame);
        assertThat(parser.parse(s, 0, frame.length + 1, m)).isEqualTo(FRAME_OUT_OF_BOUNDS);
        assertThat(parser.parse(s, -1, 10, m)).isEqualTo(FRAME_OUT_OF_BOUNDS);
        assertThat(parser.parse(s, 5, -1, m)).isEqualTo(FRAME_OUT_OF_BOUNDS);
        assertThat(parser.parse(s, Long.MAX_VALUE, 20, m)).isEqualTo(FRAME_OUT_OF_BOUNDS);
    }

    @Test
    void parsesAtAnOffsetInANativeSegmentWithEthernetPadding() {
        byte[] frame = new PacketBuilder().ipv4(A4, B4).udp(1, 2).payload(new byte[2]).padToMinimum().build();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ring = arena.allocate(4096);
            MemorySegment.copy(MemorySegment.ofArray(frame), 0, ring, 1001, frame.length);
            PacketMeta m = new PacketMeta();
            assertThat(new PacketParser(3).parse(ring, 1001, frame.length, m)).isEqualTo(OK);
            assertThat(frame.length).isEqualTo(60);
            assertThat(m.l3Offset()).isEqualTo(1015);
            assertThat(m.l3End()).isEqualTo(1015 + 20 + 8 + 2); // the padding is not part of the packet
            assertThat(m.payloadLength()).isEqualTo(2);
        }
    }

    @Test
    void nonFirstFragmentIsOkWithoutL4() {
        PacketMeta m = new PacketMeta();
        byte[] frame = new PacketBuilder().ipv4(A4, B4).identification(77).fragment(1480, false).protocol(17)
                .payload(new byte[100]).build();
        assertThat(parse(frame, m)).isEqualTo(OK);
        assertThat(m.isFragment()).isTrue();
        assertThat(m.fragmentOffset()).isEqualTo(1480);
        assertThat(m.fragmentId()).isEqualTo(77);
        assertThat(m.l4Protocol()).isEqualTo(17);
        assertThat(m.hasL4()).isFalse();
        assertThat(m.srcPort()).isZero();
        assertThat(m.payloadOffset()).isEqualTo(14 + 20);
        assertThat(m.payloadLength()).isEqualTo(100);
    }

    @Test
    void firstFragmentHasPortsEvenThoughUdpLengthCoversTheWholeDatagram() {
        PacketMeta m = new PacketMeta();
        byte[] frame = new PacketBuilder().ipv6(A6, B6).fragment(0, true).udp(1111, 2222).payload(new byte[24])
                .udpLengthLie(3000).build();
        assertThat(parse(frame, m)).isEqualTo(OK);
        assertThat(m.isFragment()).isTrue();
        assertThat(m.hasFragmentHeader()).isTrue();
        assertThat(m.srcPort()).isEqualTo(1111);
        assertThat(m.payloadLength()).isEqualTo(24);
    }

    @Test
    void ipv6AtomicFragmentIsNotAFragment() {
        PacketMeta m = new PacketMeta();
        byte[] frame = new PacketBuilder().ipv6(A6, B6).ipv6Extension(PacketDescriptor.IPPROTO_FRAGMENT, new byte[6])
                .tcp(1, 2).build();
        assertThat(parse(frame, m)).isEqualTo(OK);
        assertThat(m.hasFragmentHeader()).isTrue();
        assertThat(m.isFragment()).isFalse();
        assertThat(m.l3HeaderLength()).isEqualTo(48);
        assertThat(m.dstPort()).isEqualTo(2);
    }

    @Test
    void icmpErrorExposesTheQuotedFlow() {
        byte[] quoted = Arrays.copyOf(new PacketBuilder().ipv4(A4, B4).udp(40000, 53).payload(new byte[30]).buildIp(), 28);
        byte[] frame = new PacketBuilder().ipv4(B4, A4).icmpError(3, 3, 0, quoted).build();
        PacketMeta m = new PacketMeta();
        assertThat(parse(frame, m)).isEqualTo(OK);
        assertThat(m.icmpType()).isEqualTo(3);
        assertThat(m.hasInner()).isTrue();
        assertThat(m.innerIpVersion()).isEqualTo(4);
        assertThat(m.innerProtocol()).isEqualTo(17);
        assertThat(m.innerSrcPort()).isEqualTo(40000);
        assertThat(m.innerDstPort()).isEqualTo(53);
        assertThat(m.innerSrc4()).isEqualTo(m.dst4());

        byte[] echo = Arrays.copyOf(new PacketBuilder().ipv6(A6, B6).hopByHop().icmpEcho(true, 0x7777, 1).buildIp(), 56);
        byte[] v6 = new PacketBuilder().ipv6("fd00::1", A6).icmpError(Icmpv6View.TIME_EXCEEDED, 0, 0, echo).build();
        assertThat(parse(v6, m)).isEqualTo(OK);
        assertThat(m.innerProtocol()).isEqualTo(PacketDescriptor.IPPROTO_ICMPV6);
        assertThat(m.innerIcmpEchoId()).isEqualTo(0x7777);
        assertThat(m.innerL4Offset()).isEqualTo(m.innerL3Offset() + 48);
    }

    @Test
    void unknownProtocolsAreOpaqueButAccepted() {
        PacketMeta m = new PacketMeta();
        byte[] gre = new PacketBuilder().ipv4(A4, B4).protocol(47).payload(new byte[12]).build();
        assertThat(parse(gre, m)).isEqualTo(OK);
        assertThat(m.l4Protocol()).isEqualTo(47);
        assertThat(m.l4Offset()).isEqualTo(34);
        assertThat(m.payloadLength()).isEqualTo(12);
        byte[] noNext = new PacketBuilder().ipv6(A6, B6).destinationOptions().build();
        assertThat(parse(noNext, m)).isEqualTo(OK);
        assertThat(m.l4Protocol()).isEqualTo(PacketDescriptor.IPPROTO_NONE);
    }

    @Test
    void udpZeroChecksumOverIpv4PassesVerification() {
        PacketMeta m = new PacketMeta();
        assertThat(parse(new PacketBuilder().ipv4(A4, B4).udp(1, 2).zeroUdpChecksum().build(), m)).isEqualTo(OK);
    }

    @Test
    void dropReasonCountIsFixed() {
        assertThat(DropReason.COUNT).isEqualTo(DropReason.values().length);
        assertThat(OK.isDrop()).isFalse();
        assertThat(BAD_ICMP_ERROR.isDrop()).isTrue();
    }
}
