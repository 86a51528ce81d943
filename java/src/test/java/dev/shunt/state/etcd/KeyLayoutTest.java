package dev.shunt.state.etcd;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class KeyLayoutTest {
    private final KeyLayout keys = new KeyLayout(KeyLayout.DEFAULT_PREFIX);

    @Test
    void keysAreTheDocumentedOnes() {
        assertThat(keys.node("n1")).isEqualTo("/shunt/nodes/n1");
        assertThat(keys.subnet(Ipv4Subnet.parse("10.244.3.0/24"))).isEqualTo("/shunt/subnets/10.244.3.0-24");
        assertThat(keys.service("web")).isEqualTo("/shunt/services/web");
        assertThat(keys.pod("n1", "web-1")).isEqualTo("/shunt/pods/n1/web-1");
        assertThat(keys.pods("n1")).isEqualTo("/shunt/pods/n1/");
        assertThat(new KeyLayout("/lab7/shunt/").node("n1")).isEqualTo("/lab7/shunt/nodes/n1");
        assertThat(keys.clusterIp("10.96.0.10")).isEqualTo("/shunt/clusterips/10.96.0.10");
        assertThat(keys.nodePort(30080)).isEqualTo("/shunt/nodeports/30080");
        assertThatThrownBy(() -> keys.clusterIp("10.96.0.0/24")).hasMessageContaining("not an IPv4 address");
        assertThatThrownBy(() -> keys.nodePort(0)).hasMessageContaining("not a port");
    }

    @Test
    void parsesItsOwnKeysBackAndNothingElse() {
        assertThat(keys.parse("/shunt/nodes/n1")).contains(new KeyLayout.NodeKey("n1"));
        assertThat(keys.parse("/shunt/subnets/10.244.3.0-24")).contains(new KeyLayout.SubnetKey(Ipv4Subnet.parse("10.244.3.0/24")));
        assertThat(keys.parse("/shunt/services/web")).contains(new KeyLayout.ServiceKey("web"));
        assertThat(keys.parse("/shunt/pods/n1/web-1")).contains(new KeyLayout.PodKey("n1", "web-1"));
        assertThat(keys.parse("/shunt/clusterips/10.96.0.10")).contains(new KeyLayout.ClusterIpKey("10.96.0.10"));
        assertThat(keys.parse("/shunt/nodeports/30080")).contains(new KeyLayout.NodePortKey(30080));
        for (String other : new String[] {"/shunt/clusterips/10.96.0", "/shunt/clusterips/010.96.0.1", "/shunt/nodeports/0",
                "/shunt/nodeports/65536", "/shunt/nodeports/080", "/other/nodes/n1", "/shunt/nodes/", "/shunt/nodes/a/b", "/shunt/subnets/10.244.3.5-24",
                "/shunt/subnets/x", "/shunt/pods/n1", "/shunt/pods/n1/", "/shunt/volumes/v", "/shunt/services/..", "/shunt/"}) {
            assertThat(keys.parse(other)).as(other).isEmpty();
        }
    }

    @Test
    void refusesNamesThatWouldLeaveTheirSegmentAndBadPrefixes() {
        assertThatThrownBy(() -> keys.node("a/b")).hasMessageContaining("invalid node name 'a/b'");
        assertThatThrownBy(() -> keys.pod("n1", "")).hasMessageContaining("invalid pod name");
        assertThatThrownBy(() -> keys.service("..")).hasMessageContaining("invalid service name");
        assertThatThrownBy(() -> keys.service("x".repeat(254))).hasMessageContaining("253");
        for (String bad : new String[] {"shunt/", "/shunt", "//", "/a//b/", "/sh unt/", ""}) {
            assertThatThrownBy(() -> new KeyLayout(bad)).as(bad).hasMessageContaining("invalid etcd key prefix");
        }
    }
}
