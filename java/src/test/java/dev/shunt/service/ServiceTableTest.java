package dev.shunt.service;

import org.junit.jupiter.api.Test;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ServiceTableTest {
    static Inet4Address ip(String text) {
        try {
            return (Inet4Address) InetAddress.getByName(text);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static int ipInt(String text) {
        return ServiceTable.ipv4(ip(text));
    }

    static final ServicePort HTTP = ServicePort.of(Protocol.TCP, 80, 8080);
    static final ServicePort DNS = ServicePort.of(Protocol.UDP, 53, 5353);

    @Test
    void clusterIpLookupIsByVipProtocolAndPort() {
        Service web = Service.clusterIp("web", ip("10.96.0.10"), List.of(HTTP, DNS),
                List.of(Endpoint.ready(ip("10.244.1.5"), "n1"), Endpoint.ready(ip("10.244.1.6"), "n1")));
        ServiceTable t = ServiceTable.build(List.of(web), "n1");
        int http = t.findClusterIp(ipInt("10.96.0.10"), 6, 80);
        int dns = t.findClusterIp(ipInt("10.96.0.10"), 17, 53);
        assertThat(http).isNotNegative();
        assertThat(dns).isNotNegative().isNotEqualTo(http);
        assertThat(t.findClusterIp(ipInt("10.96.0.10"), 17, 80)).isEqualTo(-1);
        assertThat(t.findClusterIp(ipInt("10.96.0.11"), 6, 80)).isEqualTo(-1);
        assertThat(t.isServiceIp(ipInt("10.96.0.10"))).isTrue();
        assertThat(t.isServiceIp(ipInt("10.96.0.11"))).isFalse();
        int b = t.pickCluster(http, 42);
        assertThat(t.backendPort(http, b)).isEqualTo(8080);
        assertThat(t.backendIp(http, b)).isIn(ipInt("10.244.1.5"), ipInt("10.244.1.6"));
        assertThat(t.backendPort(dns, t.pickCluster(dns, 42))).isEqualTo(5353);
    }

    @Test
    void newFlowsGoToReadyThenServingTerminatingThenNowhere() {
        Endpoint a = Endpoint.ready(ip("10.244.1.5"), "n1");
        Endpoint b = Endpoint.ready(ip("10.244.1.6"), "n1");
        Service s = Service.clusterIp("web", ip("10.96.0.10"), List.of(HTTP), List.of(a, b.terminatingServing()));
        ServiceTable t = ServiceTable.build(List.of(s), "n1");
        int e = t.findClusterIp(ipInt("10.96.0.10"), 6, 80);
        for (long h = 0; h < 1000; h++) {
            assertThat(t.backendIp(e, t.pickCluster(e, h))).isEqualTo(ipInt("10.244.1.5"));
        }
        assertThat(t.backendCount(e)).isEqualTo(2);

        ServiceTable allTerminating = ServiceTable.build(List.of(s.withEndpoints(List.of(a.terminatingServing(),
                new Endpoint(ip("10.244.1.7"), "n1", false, false, true)))), "n1");
        int e2 = allTerminating.findClusterIp(ipInt("10.96.0.10"), 6, 80);
        for (long h = 0; h < 1000; h++) {
            assertThat(allTerminating.backendIp(e2, allTerminating.pickCluster(e2, h))).isEqualTo(ipInt("10.244.1.5"));
        }

        ServiceTable none = ServiceTable.build(List.of(s.withEndpoints(List.of())), "n1");
        int e3 = none.findClusterIp(ipInt("10.96.0.10"), 6, 80);
        assertThat(e3).isNotNegative();
        assertThat(none.pickCluster(e3, 1)).isEqualTo(-1);
    }

    @Test
    void localPoliciesUseOnlyThisNodesEndpoints() {
        Endpoint local = Endpoint.ready(ip("10.244.1.5"), "n1");
        Endpoint remote = Endpoint.ready(ip("10.244.2.5"), "n2");
        Service s = new Service("web", ip("10.96.0.10"), Service.Type.NODE_PORT, List.of(HTTP.withNodePort(30080)), 0,
                Service.TrafficPolicy.LOCAL, Service.TrafficPolicy.CLUSTER, List.of(local, remote));
        ServiceTable onN1 = ServiceTable.build(List.of(s), "n1");
        int np = onN1.findNodePort(6, 30080);
        assertThat(np).isNotNegative();
        assertThat(onN1.externalLocal(np)).isTrue();
        for (long h = 0; h < 500; h++) {
            assertThat(onN1.backendIp(np, onN1.pickExternal(np, h))).isEqualTo(ipInt("10.244.1.5"));
        }
        // The internal policy is Cluster: ClusterIP traffic still reaches both.
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (long h = 0; h < 500; h++) {
            seen.add(onN1.backendIp(np, onN1.pickCluster(np, Hashing.mix(h))));
        }
        assertThat(seen).containsExactlyInAnyOrder(ipInt("10.244.1.5"), ipInt("10.244.2.5"));
        // A node without local endpoints refuses NodePort traffic under Local (kube-proxy drops it).
        ServiceTable onN3 = ServiceTable.build(List.of(s), "n3");
        assertThat(onN3.pickExternal(onN3.findNodePort(6, 30080), 7)).isEqualTo(-1);
    }

    @Test
    void backendOrderDoesNotChangeTheTable() {
        List<Endpoint> eps = new ArrayList<>();
        for (int i = 1; i <= 7; i++) {
            eps.add(Endpoint.ready(ip("10.244.1." + i), "n1"));
        }
        List<Endpoint> shuffled = new ArrayList<>(eps);
        java.util.Collections.shuffle(shuffled, new Random(1));
        ServiceTable a = ServiceTable.build(List.of(Service.clusterIp("web", ip("10.96.0.10"), List.of(HTTP), eps)), "n1");
        ServiceTable b = ServiceTable.build(List.of(Service.clusterIp("web", ip("10.96.0.10"), List.of(HTTP), shuffled)), "n1");
        Random r = new Random(2);
        for (int i = 0; i < 10_000; i++) {
            long h = r.nextLong();
            assertThat(b.backendIp(0, b.pickCluster(0, h))).isEqualTo(a.backendIp(0, a.pickCluster(0, h)));
        }
    }

    @Test
    void manyServicesAllResolve() {
        List<Service> services = new ArrayList<>();
        Map<Integer, Integer> vipToBackend = new HashMap<>();
        for (int i = 0; i < 5000; i++) {
            Inet4Address vip = ip("10.96." + (i / 250) + "." + (i % 250 + 1));
            Inet4Address be = ip("10.244." + (i / 250) + "." + (i % 250 + 1));
            services.add(Service.clusterIp("svc-" + i, vip, List.of(HTTP), List.of(Endpoint.ready(be, "n1"))));
            vipToBackend.put(ServiceTable.ipv4(vip), ServiceTable.ipv4(be));
        }
        ServiceTable t = ServiceTable.build(services, "n1");
        assertThat(t.entryCount()).isEqualTo(5000);
        vipToBackend.forEach((vip, be) -> {
            int e = t.findClusterIp(vip, 6, 80);
            assertThat(t.backendIp(e, t.pickCluster(e, vip))).isEqualTo(be);
        });
    }

    @Test
    void conflictsAndBadServicesAreRefused() {
        Service a = Service.clusterIp("a", ip("10.96.0.10"), List.of(HTTP), List.of());
        Service b = Service.clusterIp("b", ip("10.96.0.10"), List.of(HTTP), List.of());
        assertThatThrownBy(() -> ServiceTable.build(List.of(a, b), "n1")).hasMessageContaining("claim the same 10.96.0.10:80");
        assertThatThrownBy(() -> Service.clusterIp("Bad_Name", ip("10.96.0.1"), List.of(HTTP), List.of()))
                .hasMessageContaining("invalid Service name");
        assertThatThrownBy(() -> Service.clusterIp("x", ip("10.96.0.1"), List.of(HTTP, HTTP), List.of()))
                .hasMessageContaining("twice");
        assertThatThrownBy(() -> ServicePort.of(Protocol.TCP, 0, 80)).hasMessageContaining("port 0 is outside");
        assertThatThrownBy(() -> HTTP.withNodePort(80)).hasMessageContaining("nodePort 80 is outside 30000-32767");
        assertThatThrownBy(() -> Protocol.parse("icmp")).hasMessageContaining("unknown protocol 'icmp'");
    }
}
