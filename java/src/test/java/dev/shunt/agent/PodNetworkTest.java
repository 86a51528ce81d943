package dev.shunt.agent;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shunt.ipam.Cidr;
import dev.shunt.ipam.IpamStore;
import dev.shunt.ipam.Owner;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import dev.shunt.netns.NetworkNamespace;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PodNetworkTest {
    static final Cidr POD_CIDR = Cidr.parse("10.244.7.0/24");

    @TempDir
    Path state;

    static String node() {
        return "t-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
    }

    @Test
    void aPodGetsNamespaceVethAddressAndRoutes() {
        String node = node();
        try (ScratchNamespace nodeNs = ScratchNamespace.create("node");
             IpamStore ipam = IpamStore.open(state.resolve("ipam"))) {
            PodNetwork pods = new PodNetwork(node, POD_CIDR, 1450, nodeNs.netlink(), ipam);
            PodRecord web = pods.create("web-1", Map.of("app", "web"));
            try {
                assertThat(web.ip()).isEqualTo("10.244.7.1");
                assertThat(web.netns()).isEqualTo("shunt-" + node + "-web-1");
                assertThat(web.hostVeth()).matches("shp[0-9a-f]{8}");
                assertThat(NetworkNamespace.exists(web.netns())).isTrue();

                JsonNode eth0 = Witness.ip(web.netns(), "addr", "show", "eth0").get(0);
                assertThat(eth0.get("mtu").asInt()).isEqualTo(1450);
                assertThat(eth0.get("operstate").asText()).isEqualTo("UP");
                assertThat(eth0.get("address").asText()).isEqualTo(web.podMac());
                assertThat(eth0.get("addr_info").get(0).get("local").asText()).isEqualTo("10.244.7.1");
                assertThat(eth0.get("addr_info").get(0).get("prefixlen").asInt()).isEqualTo(32);
                JsonNode lo = Witness.ip(web.netns(), "link", "show", "lo").get(0);
                assertThat(lo.get("flags").toString()).contains("\"UP\"");

                String routes = Witness.ip(web.netns(), "route", "show").toString();
                assertThat(routes).contains("\"dst\":\"default\"", "\"gateway\":\"169.254.1.1\"", "\"dst\":\"169.254.1.1\"");
                assertThat(Witness.run(List.of("ip", "-n", web.netns(), "route", "get", "10.244.7.99"))).contains("via 169.254.1.1 dev eth0");

                JsonNode host = Witness.ip(nodeNs.name(), "link", "show", web.hostVeth()).get(0);
                assertThat(host.get("mtu").asInt()).isEqualTo(1450);
                assertThat(host.get("flags").toString()).contains("\"UP\"");
                assertThat(ipam.allocationsOf(new Owner("web-1", "eth0"))).hasSize(1);

                assertThatThrownBy(() -> pods.create("web-1", Map.of())).hasMessageContaining("exists already");
            } finally {
                pods.delete("web-1");
            }
            assertThat(NetworkNamespace.exists(web.netns())).isFalse();
            assertThat(nodeNs.netlink().links().find(web.hostVeth())).isEmpty();
            assertThat(ipam.allocationsOf(new Owner("web-1", "eth0"))).isEmpty();
            pods.delete("web-1"); // already gone: not an error
        }
    }

    @Test
    void aFailedSetupLeavesNothingBehind() {
        String node = node();
        try (ScratchNamespace nodeNs = ScratchNamespace.create("node");
             IpamStore ipam = IpamStore.open(state.resolve("ipam"))) {
            // MTU 70000 is refused by the kernel after the namespace and the IP exist.
            PodNetwork broken = new PodNetwork(node, POD_CIDR, 70000, nodeNs.netlink(), ipam);
            assertThatThrownBy(() -> broken.create("db-1", Map.of())).hasMessageContaining("EINVAL");
            assertThat(NetworkNamespace.exists(broken.namespaceOf("db-1"))).isFalse();
            assertThat(nodeNs.netlink().links().find(broken.hostVethOf("db-1"))).isEmpty();
            assertThat(ipam.usage().get(0).used()).isZero();
            assertThatThrownBy(() -> broken.create("Bad_Name", Map.of())).hasMessageContaining("invalid pod name");
        }
    }

    @Test
    void podCreationTimes() {
        String node = node();
        List<Long> micros = new ArrayList<>();
        try (ScratchNamespace nodeNs = ScratchNamespace.create("node");
             IpamStore ipam = IpamStore.open(state.resolve("ipam"))) {
            PodNetwork pods = new PodNetwork(node, POD_CIDR, 1450, nodeNs.netlink(), ipam);
            try {
                for (int i = 0; i < 20; i++) {
                    micros.add(pods.create("p" + i, Map.of()).setupMicros());
                }
            } finally {
                for (int i = 0; i < 20; i++) {
                    pods.delete("p" + i);
                }
            }
        }
        List<Long> sorted = micros.stream().sorted().toList();
        System.out.printf("pod plumbing setup over 20 pods: p50 %.1f ms, max %.1f ms%n", sorted.get(10) / 1000.0,
                sorted.get(19) / 1000.0);
        assertThat(sorted).hasSize(20);
    }
}
