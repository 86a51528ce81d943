package dev.shunt.agent;

import dev.shunt.service.Service;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ServiceRegistryTest {
    private final ServiceRegistry registry = new ServiceRegistry("n1", List.of());

    private static ServiceSpec request(String name, String clusterIp, String type, List<ServiceSpec.Port> ports) {
        return new ServiceSpec(name, clusterIp, type, ports, Map.of("app", "web"), 0, null, null, 0);
    }

    private static ServiceSpec.Port tcp(int port, int nodePort) {
        return new ServiceSpec.Port("", "tcp", port, 0, nodePort);
    }

    private ServiceSpec add(ServiceSpec request) {
        ServiceSpec spec = registry.prepare(request, 1);
        registry.put(spec);
        return spec;
    }

    private static PodRecord pod(String name, String ip, Map<String, String> labels, long terminatingUntil) {
        return new PodRecord(name, labels, ip, "ns-" + name, "shp" + name, "02:00:00:00:00:01", 0, 0, terminatingUntil);
    }

    @Test
    void clusterIpsAreTheLowestFreeAddressesNeverTheNetworkNorTheKubernetesOne() {
        assertThat(add(request("a", null, null, List.of(tcp(80, 0)))).clusterIp()).isEqualTo("10.96.0.2");
        assertThat(add(request("b", "", null, List.of(tcp(80, 0)))).clusterIp()).isEqualTo("10.96.0.3");
        assertThat(add(request("kubernetes", "10.96.0.1", null, List.of(tcp(443, 0)))).clusterIp())
                .as("10.96.0.1 only on request").isEqualTo("10.96.0.1");
        registry.remove("a");
        assertThat(add(request("c", null, null, List.of(tcp(80, 0)))).clusterIp()).isEqualTo("10.96.0.2");
        assertThat(add(request("d", "10.111.255.253", null, List.of(tcp(80, 0)))).clusterIp()).isEqualTo("10.111.255.253");
        assertThatThrownBy(() -> registry.prepare(request("e", AgentConfig.NODE_PORT_ADDRESS, null, List.of(tcp(80, 0))), 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("ClusterIP 10.111.255.254 is reserved: node-port traffic");
    }

    @Test
    void requestedClusterIpsAreCheckedAgainstTheCidrAndEachOther() {
        add(request("a", "10.96.0.10", null, List.of(tcp(80, 0))));
        assertThatThrownBy(() -> registry.prepare(request("b", "10.96.0.10", null, List.of(tcp(80, 0))), 1))
                .isInstanceOf(ApiServer.Refusal.class).hasMessage("ClusterIP 10.96.0.10 is taken by Service 'a'")
                .extracting(e -> ((ApiServer.Refusal) e).status()).isEqualTo(409);
        assertThatThrownBy(() -> registry.prepare(request("b", "10.112.0.1", null, List.of(tcp(80, 0))), 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("ClusterIP 10.112.0.1 is outside the Service CIDR 10.96.0.0/12");
        assertThatThrownBy(() -> registry.prepare(request("b", "10.96.0.0", null, List.of(tcp(80, 0))), 1))
                .hasMessage("ClusterIP 10.96.0.0 is the network address of the Service CIDR 10.96.0.0/12");
        assertThatThrownBy(() -> registry.prepare(request("b", "10.111.255.255", null, List.of(tcp(80, 0))), 1))
                .hasMessage("ClusterIP 10.111.255.255 is the broadcast address of the Service CIDR 10.96.0.0/12");
        assertThatThrownBy(() -> registry.prepare(request("b", "fd00::1", null, List.of(tcp(80, 0))), 1))
                .hasMessage("ClusterIP fd00::1 is outside the Service CIDR 10.96.0.0/12");
        assertThatThrownBy(() -> registry.prepare(request("b", "web", null, List.of(tcp(80, 0))), 1))
                .hasMessage("ClusterIP 'web' is not an IP address");
        assertThatThrownBy(() -> registry.prepare(request("a", null, null, List.of(tcp(80, 0))), 1))
                .isInstanceOf(ApiServer.Refusal.class).hasMessage("Service 'a' exists already");
    }

    @Test
    void nodePortsAreAllocatedFromTheRangeAndBelongToOneService() {
        ServiceSpec a = add(request("a", null, "nodeport", List.of(tcp(80, 0), new ServiceSpec.Port("", "udp", 53, 0, 0))));
        assertThat(a.type()).isEqualTo("NodePort");
        assertThat(a.ports()).extracting(ServiceSpec.Port::nodePort).containsExactly(30000, 30001);
        ServiceSpec b = add(request("b", null, "NodePort", List.of(tcp(80, 30005), tcp(81, 0))));
        assertThat(b.ports()).extracting(ServiceSpec.Port::nodePort).containsExactly(30005, 30002);
        // One Service may use one number for TCP and UDP.
        ServiceSpec dns = add(request("dns", null, "NodePort", List.of(tcp(53, 31000), new ServiceSpec.Port("", "UDP", 53, 0, 31000))));
        assertThat(dns.ports()).extracting(ServiceSpec.Port::nodePort).containsExactly(31000, 31000);
        assertThatThrownBy(() -> registry.prepare(request("c", null, "NodePort", List.of(new ServiceSpec.Port("", "udp", 9, 0, 30001))), 1))
                .isInstanceOf(ApiServer.Refusal.class).hasMessage("node port 30001 is taken by Service 'a'");
        assertThatThrownBy(() -> registry.prepare(request("c", null, "NodePort", List.of(tcp(80, 32768))), 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("node port 32768 is outside 30000-32767");
        assertThatThrownBy(() -> registry.prepare(request("c", null, null, List.of(tcp(80, 30010))), 1))
                .hasMessage("node port 30010 needs a NodePort Service ('c' is ClusterIP)");
        assertThatThrownBy(() -> registry.prepare(request("c", null, "NodePort", List.of(tcp(80, 30010), tcp(81, 30010))), 1))
                .hasMessage("node port 30010/tcp is given to two ports");
    }

    @Test
    void badRequestsSayWhatIsWrong() {
        assertThatThrownBy(() -> registry.prepare(request("Web", null, null, List.of(tcp(80, 0))), 1)).hasMessageStartingWith("invalid Service name 'Web'");
        assertThatThrownBy(() -> registry.prepare(request("a", null, null, List.of()), 1)).hasMessage("Service 'a' needs at least one port");
        assertThatThrownBy(() -> registry.prepare(request("a", null, "LoadBalancer", List.of(tcp(80, 0))), 1))
                .hasMessage("unknown Service type 'LoadBalancer': expected ClusterIP or NodePort");
        assertThatThrownBy(() -> registry.prepare(request("a", null, null, List.of(tcp(80, 0), tcp(80, 0))), 1))
                .hasMessage("Service 'a' lists port 80/tcp twice");
        assertThatThrownBy(() -> registry.prepare(request("a", null, null, List.of(new ServiceSpec.Port("", "sctp", 80, 0, 0))), 1))
                .hasMessage("protocol 'sctp' of Service 'a': the fast path carries TCP and UDP Services");
        assertThatThrownBy(() -> registry.prepare(request("a", null, null, List.of(tcp(0, 0))), 1)).hasMessage("port 0 is outside 1-65535");
        assertThatThrownBy(() -> registry.prepare(new ServiceSpec("a", null, null, List.of(tcp(80, 0)), Map.of(), 0, null, null, 0), 1))
                .hasMessage("Service 'a' needs a selector (at least one label key=value)");
        assertThatThrownBy(() -> registry.prepare(new ServiceSpec("a", null, null, List.of(tcp(80, 0)), Map.of("k", "v"), 0, "Local", null, 0), 1))
                .hasMessage("externalTrafficPolicy Local applies to NodePort Services only (Service 'a' is ClusterIP)");
        assertThatThrownBy(() -> registry.prepare(new ServiceSpec("a", null, null, List.of(tcp(80, 0)), Map.of("k", "v"), 90000, null, null, 0), 1))
                .hasMessage("session affinity timeout 90000 s is outside 0-86400");
        assertThat(registry.all()).isEmpty();
    }

    @Test
    void endpointsAreThePodsMatchingEveryLabelWithTheirConditions() {
        add(new ServiceSpec("web", null, "NodePort", List.of(new ServiceSpec.Port("http", "TCP", 80, 8080, 0)),
                Map.of("app", "web", "tier", "front"), 60, "Local", "Local", 0));
        List<PodRecord> pods = List.of(
                pod("w2", "10.244.1.2", Map.of("app", "web", "tier", "front"), 0),
                pod("w1", "10.244.1.1", Map.of("app", "web", "tier", "front", "extra", "x"), 0),
                pod("w3", "10.244.1.3", Map.of("app", "web", "tier", "front"), 12345),
                pod("other", "10.244.1.4", Map.of("app", "web"), 0));
        Service s = registry.resolve(pods).getFirst();
        assertThat(s.clusterIp().getHostAddress()).isEqualTo("10.96.0.2");
        assertThat(s.type()).isEqualTo(Service.Type.NODE_PORT);
        assertThat(s.affinityTimeoutSeconds()).isEqualTo(60);
        assertThat(s.externalPolicy()).isEqualTo(Service.TrafficPolicy.LOCAL);
        assertThat(s.internalPolicy()).isEqualTo(Service.TrafficPolicy.LOCAL);
        assertThat(s.ports().getFirst().targetPort()).isEqualTo(8080);
        assertThat(s.ports().getFirst().nodePort()).isEqualTo(30000);
        assertThat(s.endpoints()).extracting(e -> e.address().getHostAddress() + " " + e.nodeName() + " " + e.ready() + " "
                + e.serving() + " " + e.terminating())
                .containsExactly("10.244.1.1 n1 true true false", "10.244.1.2 n1 true true false", "10.244.1.3 n1 false true true");
        assertThat(registry.view(registry.get("web"), pods, List.of()).endpoints()).extracting(ServiceRegistry.EndpointView::pod)
                .containsExactly("w1", "w2", "w3");
        // Another node's pods: the API lists the same endpoints the fast path gets, with their node.
        List<dev.shunt.state.Pod> remote = List.of(
                new dev.shunt.state.Pod("r1", "n2", Map.of("app", "web", "tier", "front"), "10.244.2.7", true),
                new dev.shunt.state.Pod("r2", "n2", Map.of("app", "db"), "10.244.2.8", false));
        assertThat(registry.resolve(pods, remote).getFirst().endpoints()).extracting(e -> e.address().getHostAddress() + " " + e.nodeName())
                .containsExactly("10.244.1.1 n1", "10.244.1.2 n1", "10.244.1.3 n1", "10.244.2.7 n2");
        assertThat(registry.view(registry.get("web"), pods, remote).endpoints())
                .extracting(e -> e.pod() + " " + e.ip() + " " + e.node() + " " + e.ready() + " " + e.terminating())
                .containsExactly("w1 10.244.1.1 n1 true false", "w2 10.244.1.2 n1 true false", "w3 10.244.1.3 n1 false true",
                        "r1 10.244.2.7 n2 false true");
    }

    @Test
    void aReplacementKeepsClusterIpNodePortsAndCreationTimeAndEqualsTheOriginalWhenNothingChanges() {
        ServiceSpec web = add(request("web", null, "NodePort", List.of(tcp(80, 0), new ServiceSpec.Port("dns", "UDP", 53, 0, 0))));
        add(request("other", null, "NodePort", List.of(tcp(80, 0))));
        assertThat(web.ports()).extracting(ServiceSpec.Port::nodePort).containsExactly(30000, 30001);
        // The same request again (as an apply of the same file makes it): equal, so "unchanged".
        ServiceSpec again = registry.prepareReplacement(request("web", null, "NodePort",
                List.of(tcp(80, 0), new ServiceSpec.Port("dns", "udp", 53, 53, 0))), 99);
        assertThat(again).isEqualTo(web);
        // A changed target port keeps the node ports; a new port gets the lowest free one.
        ServiceSpec changed = registry.prepareReplacement(request("web", "10.96.0.2", "NodePort",
                List.of(new ServiceSpec.Port("", "TCP", 80, 8080, 0), tcp(81, 0))), 99);
        assertThat(changed.clusterIp()).isEqualTo("10.96.0.2");
        assertThat(changed.createdAtMillis()).isEqualTo(web.createdAtMillis());
        assertThat(changed.ports()).extracting(p -> p.port() + ":" + p.targetPort() + "@" + p.nodePort())
                .containsExactly("80:8080@30000", "81:81@30001");
        assertThat(registry.get("web")).as("not registered until put").isEqualTo(web);
        // ClusterIP: no node ports left.
        assertThat(registry.prepareReplacement(request("web", null, "ClusterIP", List.of(tcp(80, 0))), 99).ports())
                .extracting(ServiceSpec.Port::nodePort).containsExactly(0);
        assertThatThrownBy(() -> registry.prepareReplacement(request("web", "10.96.0.9", null, List.of(tcp(80, 0))), 99))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("ClusterIP 10.96.0.9 differs from the Service's 10.96.0.2, which cannot change (delete the Service and create it again)");
        assertThatThrownBy(() -> registry.prepareReplacement(request("web", null, "NodePort", List.of(tcp(80, 30002))), 99))
                .isInstanceOf(ApiServer.Refusal.class).hasMessage("node port 30002 is taken by Service 'other'");
        assertThatThrownBy(() -> registry.prepareReplacement(request("nope", null, null, List.of(tcp(80, 0))), 99))
                .isInstanceOf(ApiServer.Refusal.class).hasMessage("no Service 'nope'");
        assertThat(registry.get("web")).isEqualTo(web);
    }
}
