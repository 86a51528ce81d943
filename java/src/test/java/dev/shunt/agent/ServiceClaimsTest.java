package dev.shunt.agent;

import dev.shunt.state.etcd.KeyLayout;
import dev.shunt.state.etcd.Transaction;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The Services' etcd transactions, without etcd: which keys each one compares and writes, and, over
 * a small model of etcd's compare-and-set (a key's mod revision, 0 when absent), that racing
 * writers end with one Service per name and never one address or node port for two.
 */
class ServiceClaimsTest {
    private static final KeyLayout KEYS = new KeyLayout("/t/");

    private static ServiceSpec nodePortService(String name, String clusterIp, int nodePort) {
        return new ServiceSpec(name, clusterIp, ServiceSpec.NODE_PORT, List.of(new ServiceSpec.Port("http", "TCP", 80, 8080, nodePort)),
                Map.of("app", name), 0, ServiceSpec.CLUSTER, ServiceSpec.CLUSTER, 0);
    }

    @Test
    void aNewServiceIsWrittenOnlyIfItAndEveryClaimItMakesAreAbsent() {
        ServiceSpec web = nodePortService("web", "10.96.0.2", 30001);
        Transaction t = new ServiceClaims(KEYS).put(null, web).build();
        assertThat(t.expects()).containsExactly(Transaction.Expect.absent("/t/services/web"),
                Transaction.Expect.absent("/t/clusterips/10.96.0.2"), Transaction.Expect.absent("/t/nodeports/30001"));
        assertThat(t.writes()).containsExactly(Transaction.Write.put("/t/services/web", ServiceClaims.encode(web)),
                Transaction.Write.put("/t/clusterips/10.96.0.2", "web"), Transaction.Write.put("/t/nodeports/30001", "web"));
    }

    @Test
    void aChangedServiceComparesItsRevisionClaimsOnlyWhatItGainsAndReleasesWhatItDrops() {
        ServiceSpec before = nodePortService("web", "10.96.0.2", 30001);
        ServiceSpec after = nodePortService("web", "10.96.0.2", 30002);
        Transaction t = new ServiceClaims(KEYS).put(new ServiceClaims.Stored(before, 5), after).build();
        assertThat(t.expects()).containsExactly(new Transaction.Expect("/t/services/web", 5),
                Transaction.Expect.absent("/t/nodeports/30002"));
        assertThat(t.writes()).containsExactly(Transaction.Write.put("/t/services/web", ServiceClaims.encode(after)),
                Transaction.Write.put("/t/nodeports/30002", "web"), Transaction.Write.delete("/t/nodeports/30001"));
    }

    @Test
    void aDeletedServiceTakesItsClaimsWithIt() {
        ServiceSpec web = nodePortService("web", "10.96.0.2", 30001);
        Transaction t = new ServiceClaims(KEYS).delete(new ServiceClaims.Stored(web, 7)).build();
        assertThat(t.expects()).containsExactly(new Transaction.Expect("/t/services/web", 7));
        assertThat(t.writes()).containsExactly(Transaction.Write.delete("/t/services/web"), Transaction.Write.delete("/t/clusterips/10.96.0.2"),
                Transaction.Write.delete("/t/nodeports/30001"));
    }

    @Test
    void theValueIsTheModelServiceAndReadsBackAsTheSameSpecWithoutCreationTime() {
        ServiceSpec prepared = new ServiceRegistry("n1", List.of()).prepare(
                new ServiceSpec("web", null, "NodePort", List.of(new ServiceSpec.Port("", "tcp", 80, 0, 0)), Map.of("app", "web"),
                        60, null, "Local", 0), 1234);
        byte[] value = ServiceClaims.encode(prepared);
        assertThat(new String(value, StandardCharsets.UTF_8)).contains("\"name\":\"web\"", "\"clusterIp\":\"10.96.0.2\"",
                "\"nodePort\":30000").doesNotContain("1234");
        assertThat(ServiceClaims.decode(value)).isEqualTo(ServiceClaims.withoutCreationTime(prepared));
        String later = new String(value, StandardCharsets.UTF_8).replaceFirst("\\{", "{\"fromALaterVersion\":1,");
        assertThat(ServiceClaims.decode(later.getBytes(StandardCharsets.UTF_8))).as("unknown fields are ignored")
                .isEqualTo(ServiceClaims.withoutCreationTime(prepared));
        assertThatThrownBy(() -> ServiceClaims.decode("[]".getBytes(StandardCharsets.UTF_8))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ServiceClaims.decode("{\"name\":\"web\"}".getBytes(StandardCharsets.UTF_8)))
                .hasMessageContaining("needs a name and a ClusterIP");
    }

    @Test
    void theSameFileAppliedByTwoNodesAtOnceEndsAsOneServiceAndTheLoserFindsItUnchanged() {
        FakeEtcd etcd = new FakeEtcd();
        ServiceSpec request = new ServiceSpec("web", null, "NodePort", List.of(new ServiceSpec.Port("", "TCP", 80, 0, 0)),
                Map.of("app", "web"), 0, null, null, 0);
        // Both nodes read the same (empty) state and plan the same allocation.
        Transaction a = plan(etcd.read(), request);
        Transaction b = plan(etcd.read(), request);
        assertThat(etcd.commit(a)).isPresent();
        assertThat(etcd.commit(b)).as("the loser's comparisons fail").isEmpty();
        // The loser reads again: the winner's Service, with the winner's allocation, is what it asked for.
        assertThat(plan(etcd.read(), request)).isNull();
        assertThat(etcd.values()).containsOnlyKeys("/t/services/web", "/t/clusterips/10.96.0.2", "/t/nodeports/30000");
    }

    @Test
    void twoDifferentServicesRacingForTheLowestAddressAndNodePortGetDifferentOnes() {
        FakeEtcd etcd = new FakeEtcd();
        ServiceSpec web = new ServiceSpec("web", null, "NodePort", List.of(new ServiceSpec.Port("", "TCP", 80, 0, 0)),
                Map.of("app", "web"), 0, null, null, 0);
        ServiceSpec db = new ServiceSpec("db", null, "NodePort", List.of(new ServiceSpec.Port("", "TCP", 5432, 0, 0)),
                Map.of("app", "db"), 0, null, null, 0);
        Transaction forWeb = plan(etcd.read(), web);
        Transaction forDb = plan(etcd.read(), db);
        assertThat(etcd.commit(forWeb)).isPresent();
        assertThat(etcd.commit(forDb)).as("its address and node port are claimed now").isEmpty();
        assertThat(etcd.commit(plan(etcd.read(), db))).isPresent();
        assertThat(etcd.values()).containsEntry("/t/clusterips/10.96.0.2", "web").containsEntry("/t/clusterips/10.96.0.3", "db")
                .containsEntry("/t/nodeports/30000", "web").containsEntry("/t/nodeports/30001", "db");
        // A claim without its Service (written by hand) blocks its address: the plan does not see it, the commit fails.
        FakeEtcd orphan = new FakeEtcd();
        orphan.commit(new Transaction(List.of(), List.of(Transaction.Write.put("/t/clusterips/10.96.0.2", "gone"))));
        assertThat(orphan.commit(plan(orphan.read(), web))).isEmpty();
    }

    /** What StateApi does for one Service of a file: plan against what etcd holds; null when unchanged. */
    private static Transaction plan(Map<String, ServiceClaims.Stored> stored, ServiceSpec request) {
        ServiceRegistry trial = new ServiceRegistry("n1", stored.values().stream().map(ServiceClaims.Stored::spec).toList());
        ServiceSpec before = trial.get(request.name());
        ServiceSpec prepared = ServiceClaims.withoutCreationTime(before == null ? trial.prepare(request, 1)
                : trial.prepareReplacement(request, 1));
        if (prepared.equals(before)) {
            return null;
        }
        return new ServiceClaims(KEYS).put(stored.get(request.name()), prepared).build();
    }

    /** etcd's compare-and-set, as far as these transactions use it. */
    private static final class FakeEtcd {
        private final Map<String, byte[]> values = new TreeMap<>();
        private final Map<String, Long> modRevisions = new TreeMap<>();
        private long revision = 1;

        OptionalLong commit(Transaction t) {
            for (Transaction.Expect e : t.expects()) {
                if (modRevisions.getOrDefault(e.key(), 0L) != e.modRevision()) {
                    return OptionalLong.empty();
                }
            }
            revision++;
            for (Transaction.Write w : t.writes()) {
                if (w.isDelete()) {
                    values.remove(w.key());
                    modRevisions.remove(w.key());
                } else {
                    values.put(w.key(), w.value());
                    modRevisions.put(w.key(), revision);
                }
            }
            return OptionalLong.of(revision);
        }

        Map<String, ServiceClaims.Stored> read() {
            Map<String, ServiceClaims.Stored> out = new TreeMap<>();
            values.forEach((k, v) -> {
                if (KEYS.parse(k).orElse(null) instanceof KeyLayout.ServiceKey(String name)) {
                    out.put(name, new ServiceClaims.Stored(ServiceClaims.decode(v), modRevisions.get(k)));
                }
            });
            return out;
        }

        Map<String, String> values() {
            Map<String, String> out = new TreeMap<>();
            values.forEach((k, v) -> out.put(k, new String(v, StandardCharsets.UTF_8)));
            return out;
        }
    }
}
