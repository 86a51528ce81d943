package dev.shunt.service;

import org.junit.jupiter.api.Test;

import java.net.Inet4Address;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static dev.shunt.service.ServiceTableTest.DNS;
import static dev.shunt.service.ServiceTableTest.HTTP;
import static dev.shunt.service.ServiceTableTest.ip;
import static dev.shunt.service.ServiceTableTest.ipInt;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A snapshot built over the previous one keeps the previous Maglev table (the same object) of every
 * Service port whose candidate backends did not change, builds the others anew, and picks exactly
 * as a snapshot built from nothing would.
 */
class ServiceTableRebuildTest {
    private static final ServicePort DB = ServicePort.of(Protocol.TCP, 5432, 5432);

    @Test
    void anEndpointChangeRebuildsOnlyTheTablesOfTheServicePortsItBacks() {
        Endpoint a = Endpoint.ready(ip("10.244.1.5"), "n1");
        Endpoint b = Endpoint.ready(ip("10.244.1.6"), "n1");
        Endpoint c = Endpoint.ready(ip("10.244.1.7"), "n1");
        List<Service> before = new ArrayList<>();
        before.add(Service.clusterIp("web", ip("10.96.0.10"), List.of(HTTP, DNS), List.of(a, b)));
        before.add(Service.clusterIp("db", ip("10.96.0.11"), List.of(DB), List.of(b, c)));
        for (int i = 0; i < 100; i++) {
            before.add(Service.clusterIp("other-" + i, ip("10.96.1." + (i + 1)), List.of(HTTP), List.of()));
        }
        ServiceTable first = ServiceTable.build(before, "n1");

        // Pod a starts terminating: it backs both ports of web, and nothing else.
        List<Service> after = new ArrayList<>(before);
        after.set(0, before.get(0).withEndpoints(List.of(a.terminatingServing(), b)));
        ServiceTable second = ServiceTable.build(after, "n1", first);

        for (int port : new int[] {80, 53}) {
            int protocol = port == 80 ? 6 : 17;
            int was = first.findClusterIp(ipInt("10.96.0.10"), protocol, port);
            int now = second.findClusterIp(ipInt("10.96.0.10"), protocol, port);
            assertThat(second.clusterTable(now)).isNotSameAs(first.clusterTable(was));
            for (long h = 0; h < 500; h++) {
                assertThat(second.backendIp(now, second.pickCluster(now, Hashing.mix(h)))).isEqualTo(ipInt("10.244.1.6"));
            }
        }
        int dbWas = first.findClusterIp(ipInt("10.96.0.11"), 6, 5432);
        int dbNow = second.findClusterIp(ipInt("10.96.0.11"), 6, 5432);
        assertThat(second.clusterTable(dbNow)).isSameAs(first.clusterTable(dbWas));
        assertThat(second.externalTable(dbNow)).isSameAs(first.externalTable(dbWas));
        for (int i = 0; i < 100; i++) {
            int was = first.findClusterIp(ipInt("10.96.1." + (i + 1)), 6, 80);
            int now = second.findClusterIp(ipInt("10.96.1." + (i + 1)), 6, 80);
            assertThat(second.clusterTable(now)).isSameAs(first.clusterTable(was));
        }
        assertPicksAsAFreshBuild(second, ServiceTable.build(after, "n1"));
    }

    @Test
    void sameAddressesOnAnotherTargetPortAreRebuilt() {
        Endpoint a = Endpoint.ready(ip("10.244.1.5"), "n1");
        Endpoint b = Endpoint.ready(ip("10.244.1.6"), "n1");
        ServiceTable first = ServiceTable.build(List.of(Service.clusterIp("web", ip("10.96.0.10"), List.of(HTTP), List.of(a, b))), "n1");
        List<Service> moved = List.of(Service.clusterIp("web", ip("10.96.0.10"), List.of(ServicePort.of(Protocol.TCP, 80, 9090)),
                List.of(a, b)));
        ServiceTable second = ServiceTable.build(moved, "n1", first);
        assertThat(second.clusterTable(0)).isNotSameAs(first.clusterTable(0));
        assertThat(second.backendPort(0, second.pickCluster(0, 1))).isEqualTo(9090);
        assertPicksAsAFreshBuild(second, ServiceTable.build(moved, "n1"));
    }

    @Test
    void clusterAndExternalShareATableWhenTheirCandidatesAgree() {
        Endpoint local = Endpoint.ready(ip("10.244.1.5"), "n1");
        Endpoint remote = Endpoint.ready(ip("10.244.2.5"), "n2");
        Service cluster = new Service("web", ip("10.96.0.10"), Service.Type.NODE_PORT, List.of(HTTP.withNodePort(30080)), 0,
                Service.TrafficPolicy.CLUSTER, Service.TrafficPolicy.CLUSTER, List.of(local, remote));
        Service localExternal = new Service("api", ip("10.96.0.11"), Service.Type.NODE_PORT, List.of(HTTP.withNodePort(30081)), 0,
                Service.TrafficPolicy.LOCAL, Service.TrafficPolicy.CLUSTER, List.of(local, remote));
        ServiceTable t = ServiceTable.build(List.of(cluster, localExternal), "n1");
        assertThat(t.externalTable(0)).isSameAs(t.clusterTable(0));
        assertThat(t.externalTable(1)).isNotSameAs(t.clusterTable(1));
        // Rebuilt over itself with nothing changed: every table is kept, the Local one too.
        ServiceTable again = ServiceTable.build(List.of(cluster, localExternal), "n1", t);
        assertThat(again.clusterTable(1)).isSameAs(t.clusterTable(1));
        assertThat(again.externalTable(1)).isSameAs(t.externalTable(1));
    }

    @Test
    void servicePortsWithoutEndpointsShareOneEmptyTable() {
        ServiceTable t = ServiceTable.build(List.of(Service.clusterIp("a", ip("10.96.0.10"), List.of(HTTP), List.of()),
                Service.clusterIp("b", ip("10.96.0.11"), List.of(HTTP, DNS), List.of())), "n1");
        assertThat(t.clusterTable(1)).isSameAs(t.clusterTable(0));
        assertThat(t.clusterTable(2)).isSameAs(t.clusterTable(0));
        assertThat(t.pickCluster(2, 99)).isEqualTo(-1);
    }

    /** Random endpoint, policy and Service churn (seeded): a snapshot built over the last one always picks as a fresh one. */
    @Test
    void randomChurnPicksAsAFreshBuild() {
        Random random = new Random(20261124L);
        List<Service> services = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            services.add(randomService(random, i));
        }
        ServiceTable previous = ServiceTable.build(services, "n1");
        int kept = 0;
        int total = 0;
        for (int step = 0; step < 200; step++) {
            int victim = random.nextInt(services.size());
            switch (random.nextInt(4)) {
                case 0 -> services.set(victim, services.get(victim).withEndpoints(randomEndpoints(random)));
                case 1 -> services.set(victim, randomService(random, victim));
                case 2 -> {
                    Service s = services.get(victim);
                    services.set(victim, new Service(s.name(), s.clusterIp(), s.type(), s.ports(), 0, s.internalPolicy(),
                            s.externalPolicy(), s.endpoints()));
                }
                default -> {
                    // nothing changes: every table must be kept
                }
            }
            ServiceTable next = ServiceTable.build(services, "n1", previous);
            assertPicksAsAFreshBuild(next, ServiceTable.build(services, "n1"));
            for (int e = 0; e < next.entryCount(); e++) {
                int was = previous.findClusterIp(next.vip(e), next.protocol(e), next.port(e));
                total++;
                if (was >= 0 && next.clusterTable(e) == previous.clusterTable(was)) {
                    kept++;
                }
            }
            previous = next;
        }
        // One Service of 30 changes per step at most: most tables must have been kept.
        assertThat(kept).isGreaterThan(total * 8 / 10);
    }

    private static Service randomService(Random random, int i) {
        List<ServicePort> ports = random.nextBoolean() ? List.of(HTTP.withNodePort(30000 + i)) : List.of(HTTP.withNodePort(30000 + i), DNS);
        return new Service("svc-" + i, ip("10.96.0." + (i + 10)), Service.Type.NODE_PORT, ports, 0,
                random.nextBoolean() ? Service.TrafficPolicy.LOCAL : Service.TrafficPolicy.CLUSTER,
                random.nextBoolean() ? Service.TrafficPolicy.LOCAL : Service.TrafficPolicy.CLUSTER, randomEndpoints(random));
    }

    private static List<Endpoint> randomEndpoints(Random random) {
        List<Endpoint> out = new ArrayList<>();
        int n = random.nextInt(6);
        for (int i = 0; i < n; i++) {
            Inet4Address address = ip("10.244." + (1 + random.nextInt(2)) + "." + (1 + random.nextInt(8)));
            if (out.stream().anyMatch(e -> e.address().equals(address))) {
                continue;
            }
            Endpoint e = Endpoint.ready(address, random.nextBoolean() ? "n1" : "n2");
            out.add(random.nextInt(4) == 0 ? e.terminatingServing() : e);
        }
        return out;
    }

    private static void assertPicksAsAFreshBuild(ServiceTable reused, ServiceTable fresh) {
        assertThat(reused.entryCount()).isEqualTo(fresh.entryCount());
        Random hashes = new Random(7);
        for (int e = 0; e < fresh.entryCount(); e++) {
            for (int i = 0; i < 200; i++) {
                long h = hashes.nextLong();
                assertThat(describe(reused, e, reused.pickCluster(e, h))).isEqualTo(describe(fresh, e, fresh.pickCluster(e, h)));
                assertThat(describe(reused, e, reused.pickExternal(e, h))).isEqualTo(describe(fresh, e, fresh.pickExternal(e, h)));
            }
        }
    }

    private static String describe(ServiceTable t, int entry, int backend) {
        return backend < 0 ? "refused" : t.backendIp(entry, backend) + ":" + t.backendPort(entry, backend);
    }
}
