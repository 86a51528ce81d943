package dev.shunt.packet;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.assertj.core.api.Assertions.assertThat;

/** Setters write network byte order at any (odd) offset of a native segment; getters read it back. */
class ViewsTest {
    static final long AT = 7; // deliberately unaligned

    @Test
    void writesAndReadsEveryFieldInNetworkOrder() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(256);
            EthernetView eth = new EthernetView().wrap(s, AT);
            eth.destination(0x0102_0304_0506L);
            eth.source(0xaabb_ccdd_eeffL);
            NetworkOrder.setU16(s, AT + 12, PacketDescriptor.ETHERTYPE_VLAN);
            eth.vlanTci((6 << 13) | 300);
            eth.etherType(PacketDescriptor.ETHERTYPE_IPV4);
            assertThat(s.asSlice(AT, 18).toArray(NetworkOrder.U8)).containsExactly(
                    1, 2, 3, 4, 5, 6, (byte) 0xaa, (byte) 0xbb, (byte) 0xcc, (byte) 0xdd, (byte) 0xee, (byte) 0xff,
                    (byte) 0x81, 0, (byte) 0xc1, 0x2c, 8, 0);
            assertThat(eth.hasVlan()).isTrue();
            assertThat(eth.vlanId()).isEqualTo(300);
            assertThat(eth.vlanPriority()).isEqualTo(6);
            assertThat(eth.headerLength()).isEqualTo(18);

            Ipv4View ip = new Ipv4View().wrap(s, AT + 18);
            ip.versionAndHeaderLength(24);
            ip.totalLength(0xabcd);
            ip.flagsAndFragment(Ipv4View.FLAG_MF | 185);
            ip.source(0x0af40105);
            assertThat(ip.version()).isEqualTo(4);
            assertThat(ip.headerLength()).isEqualTo(24);
            assertThat(ip.totalLength()).isEqualTo(0xabcd);
            assertThat(ip.moreFragments()).isTrue();
            assertThat(ip.dontFragment()).isFalse();
            assertThat(ip.fragmentOffset()).isEqualTo(1480);
            assertThat(NetworkOrder.u8(s, AT + 18 + 12)).isEqualTo(0x0a);

            Ipv6View ip6 = new Ipv6View().wrap(s, AT + 100);
            ip6.versionClassFlow(0xb8, 0xfedcb);
            ip6.destination(0xfd00_0096_0000_0000L, 0x0000_0000_0000_000aL);
            assertThat(ip6.version()).isEqualTo(6);
            assertThat(ip6.trafficClass()).isEqualTo(0xb8);
            assertThat(ip6.flowLabel()).isEqualTo(0xfedcb);
            assertThat(NetworkOrder.u16(s, AT + 100 + 24)).isEqualTo(0xfd00);
            assertThat(ip6.destinationLow()).isEqualTo(10);

            TcpView tcp = new TcpView().wrap(s, AT + 50);
            tcp.sequence(0xfffffffe);
            tcp.headerLength(40);
            tcp.flags(TcpView.SYN | TcpView.ECE | TcpView.CWR);
            assertThat(tcp.sequence()).isEqualTo(0xfffffffe);
            assertThat(tcp.dataOffset()).isEqualTo(10);
            assertThat(tcp.flags()).isEqualTo(0xC2);

            VxlanView vx = new VxlanView().wrap(s, AT + 200);
            vx.init(0xabcdef);
            assertThat(vx.vni()).isEqualTo(0xabcdef);
            assertThat(vx.vniValid()).isTrue();
            assertThat(NetworkOrder.u8(s, AT + 200 + 7)).isZero();

            Icmpv6View icmp6 = new Icmpv6View().wrap(s, AT + 150);
            icmp6.mtu(1280);
            assertThat(NetworkOrder.u16(s, AT + 150 + 6)).isEqualTo(1280);
        }
    }

    @Test
    void viewsAreReusableAcrossSegments() {
        byte[] a = new PacketBuilder().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build();
        byte[] b = new PacketBuilder().ipv4("10.0.0.3", "10.0.0.4").udp(3, 4).build();
        UdpView udp = new UdpView();
        assertThat(udp.wrap(MemorySegment.ofArray(a), 34).sourcePort()).isEqualTo(1);
        assertThat(udp.wrap(MemorySegment.ofArray(b), 34).sourcePort()).isEqualTo(3);
        assertThat(udp.length()).isEqualTo(8);
    }
}
