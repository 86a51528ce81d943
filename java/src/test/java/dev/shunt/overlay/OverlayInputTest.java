package dev.shunt.overlay;

import dev.shunt.netlink.IpPrefix;
import dev.shunt.netlink.MacAddress;
import org.junit.jupiter.api.Test;

import java.net.Inet4Address;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Bad configuration and peer data is refused before anything reaches the kernel, with the value in the message. */
class OverlayInputTest {
    private static final Inet4Address LOCAL = v4("198.18.0.1");
    private static final VxlanConfig GOOD = VxlanConfig.forNode("node-a", LOCAL, 1500);

    @Test
    void defaultsForANode() {
        assertThat(GOOD).isEqualTo(new VxlanConfig("shunt.vx", 1, 4789, LOCAL, null, 1450, MacAddress.parse("0e:06:72:86:7a:84")));
    }

    @Test
    void vtepMacIsStableLocallyAdministeredUnicastAndDiffersPerNode() {
        // Pinned: a change of the derivation would give every node a new MAC on upgrade and strand
        // the FDB entries other nodes hold for it.
        assertThat(VtepMac.forNode("node-a")).isEqualTo(MacAddress.parse("0e:06:72:86:7a:84"));
        assertThat(VtepMac.forNode("node-b")).isEqualTo(MacAddress.parse("0e:6b:68:c6:a1:54"));
        assertThat(VtepMac.forNode("node-a")).isEqualTo(VtepMac.forNode(new String("node-a")));
        java.util.Set<MacAddress> seen = new java.util.HashSet<>();
        for (int i = 0; i < 1000; i++) {
            MacAddress mac = VtepMac.forNode("node-" + i);
            byte first = mac.bytes()[0];
            assertThat(first & 0x01).as("unicast").isZero();
            assertThat(first & 0x02).as("locally administered").isEqualTo(2);
            seen.add(mac);
        }
        assertThat(seen).hasSize(1000);
        assertThatThrownBy(() -> VtepMac.forNode(" ")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("node name is empty: the VTEP MAC is derived from it");
    }

    @Test
    void vniOutside24BitsIsRefused() {
        assertThatThrownBy(() -> GOOD.withVni(16777216)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("VNI 16777216 is outside 0..16777215 (24 bits)");
        assertThatThrownBy(() -> GOOD.withVni(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("VNI -1 is outside 0..16777215 (24 bits)");
        assertThat(GOOD.withVni(16777215).vni()).isEqualTo(16777215);
    }

    @Test
    void portZeroAndPortsAbove65535AreRefused() {
        assertThatThrownBy(() -> GOOD.withPort(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("VXLAN port 0 is outside 1..65535");
        assertThatThrownBy(() -> GOOD.withPort(65536)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("VXLAN port 65536 is outside 1..65535");
        assertThat(GOOD.withPort(8472).port()).isEqualTo(8472);
    }

    @Test
    void mtuNamesAndAddressesAreChecked() {
        assertThatThrownBy(() -> GOOD.withMtu(67)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("VXLAN MTU 67 is outside 68..65535");
        assertThatThrownBy(() -> GOOD.withMtu(65536)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("VXLAN MTU 65536 is outside 68..65535");
        assertThatThrownBy(() -> VxlanConfig.forNode("node-a", LOCAL, 117)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("underlay MTU 117 leaves less than 68 bytes after 50 bytes of VXLAN encapsulation");
        assertThatThrownBy(() -> GOOD.withName("flannel.1")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("VXLAN device name 'flannel.1' does not start with 'shunt'");
        assertThatThrownBy(() -> GOOD.withName("shunt.vx-much-too-long")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("is 22 bytes");
        assertThatThrownBy(() -> GOOD.withUnderlayDevice("a/b")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("contains '/'");
        assertThatThrownBy(() -> GOOD.withLocal(null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("local underlay address is missing");
        assertThatThrownBy(() -> GOOD.withLocal(v4("0.0.0.0"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("local underlay address 0.0.0.0 is not a unicast address another node can reach");
        assertThatThrownBy(() -> GOOD.withLocal(v4("239.1.1.1"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("local underlay address 239.1.1.1 is not a unicast address another node can reach");
        assertThatThrownBy(() -> GOOD.withLocal(v4("127.0.0.1"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("local underlay address 127.0.0.1 is not a unicast address another node can reach");
        assertThatThrownBy(() -> GOOD.withVtepMac(MacAddress.parse("01:00:5e:00:00:01"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("VTEP MAC 01:00:5e:00:00:01 is a multicast address; a VTEP MAC must be unicast");
        assertThatThrownBy(() -> GOOD.withVtepMac(MacAddress.parse("00:00:00:00:00:00"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("VTEP MAC 00:00:00:00:00:00 is all zeros");
    }

    @Test
    void peersAreChecked() {
        MacAddress mac = VtepMac.forNode("node-b");
        Inet4Address ip = v4("198.18.0.2");
        IpPrefix cidr = IpPrefix.parse("10.244.2.0/24");
        assertThat(new OverlayPeer("node-b", ip, mac, cidr).vtepIp()).isEqualTo(v4("10.244.2.0"));

        assertThatThrownBy(() -> new OverlayPeer("", ip, mac, cidr)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("peer node name is empty");
        assertThatThrownBy(() -> new OverlayPeer("node-b", v4("224.0.0.1"), mac, cidr)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("underlay IP of node node-b 224.0.0.1 is not a unicast address another node can reach");
        assertThatThrownBy(() -> new OverlayPeer("node-b", ip, MacAddress.parse("33:33:00:00:00:01"), cidr))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("VTEP MAC of node node-b 33:33:00:00:00:01 is a multicast address; a VTEP MAC must be unicast");
        assertThatThrownBy(() -> new OverlayPeer("node-b", ip, null, cidr)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("VTEP MAC of node node-b is missing");
        assertThatThrownBy(() -> new OverlayPeer("node-b", ip, mac, IpPrefix.parse("10.244.2.7/24")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("pod CIDR 10.244.2.7/24 of node node-b has host bits set (did you mean 10.244.2.0/24?)");
        assertThatThrownBy(() -> new OverlayPeer("node-b", ip, mac, IpPrefix.parse("fd00:244:2::/64")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("pod CIDR fd00:244:2::/64 of node node-b is not IPv4");
        assertThatThrownBy(() -> new OverlayPeer("node-b", ip, mac, IpPrefix.parse("0.0.0.0/0")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("pod CIDR 0.0.0.0/0 of node node-b covers every address");
    }

    static Inet4Address v4(String text) {
        return (Inet4Address) IpPrefix.parseAddress(text);
    }
}
