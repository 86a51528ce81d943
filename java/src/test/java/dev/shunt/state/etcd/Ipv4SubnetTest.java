package dev.shunt.state.etcd;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class Ipv4SubnetTest {
    @Test
    void parsesBothFormsAndPrintsThem() {
        Ipv4Subnet s = Ipv4Subnet.parse("10.244.3.0/24");
        assertThat(s.toString()).isEqualTo("10.244.3.0/24");
        assertThat(s.keySegment()).isEqualTo("10.244.3.0-24");
        assertThat(Ipv4Subnet.parseKeySegment("10.244.3.0-24")).isEqualTo(s);
        assertThat(Ipv4Subnet.parse("0.0.0.0/0").subnetCount(1)).isEqualTo(2);
    }

    @Test
    void refusesHostBitsAndMalformedText() {
        assertThatThrownBy(() -> Ipv4Subnet.parse("10.244.3.5/24")).hasMessageContaining("host bits").hasMessageContaining("10.244.3.0/24");
        for (String bad : new String[] {"10.244.3.0", "10.244.3/24", "10.244.3.256/24", "10.244.3.0/33", "a.b.c.d/8", "10.244.3.0-24", " /24"}) {
            assertThatThrownBy(() -> Ipv4Subnet.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> Ipv4Subnet.parseKeySegment("10.244.3.0/24")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void enumeratesSubnetsAndContainment() {
        Ipv4Subnet cluster = Ipv4Subnet.parse("10.244.0.0/16");
        assertThat(cluster.subnetCount(24)).isEqualTo(256);
        assertThat(cluster.subnet(24, 0)).isEqualTo(Ipv4Subnet.parse("10.244.0.0/24"));
        assertThat(cluster.subnet(24, 3)).isEqualTo(Ipv4Subnet.parse("10.244.3.0/24"));
        assertThat(cluster.subnet(24, 255)).isEqualTo(Ipv4Subnet.parse("10.244.255.0/24"));
        assertThatThrownBy(() -> cluster.subnet(24, 256)).hasMessageContaining("outside");
        assertThatThrownBy(() -> cluster.subnet(15, 0)).hasMessageContaining("does not fit");
        assertThat(cluster.contains(Ipv4Subnet.parse("10.244.7.0/24"))).isTrue();
        assertThat(cluster.contains(Ipv4Subnet.parse("10.245.0.0/24"))).isFalse();
        assertThat(cluster.contains(Ipv4Subnet.parse("10.0.0.0/8"))).isFalse();
        // Addresses above 128.0.0.0 are negative ints: order and containment must not care.
        Ipv4Subnet high = Ipv4Subnet.parse("192.168.0.0/16");
        assertThat(high.subnet(24, 200)).isEqualTo(Ipv4Subnet.parse("192.168.200.0/24"));
        assertThat(high.contains(Ipv4Subnet.parse("192.168.200.0/24"))).isTrue();
        assertThat(high.compareTo(cluster)).isPositive();
    }
}
