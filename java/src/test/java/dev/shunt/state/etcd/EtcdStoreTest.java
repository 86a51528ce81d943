package dev.shunt.state.etcd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.lab.LabEtcd;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.PutOption;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * EtcdStore against a real etcd (Debian's 3.4 server) that the test runs inside a scratch
 * namespace on 127.0.0.1, with etcdctl as the independent witness. Stores are opened from a thread
 * inside that namespace and then used from the test's own thread (in the root namespace): the
 * store's sockets follow the thread that opened it (docs/kernel-notes.md). All tests share one
 * namespace because gRPC's shared executor threads, once made, stay in the namespace they were
 * made in; each test has its own etcd and data directory.
 */
class EtcdStoreTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration PATIENCE = Duration.ofSeconds(30);
    private static ScratchNamespace ns;

    @BeforeAll
    static void namespace() {
        ns = ScratchNamespace.create("etcd");
    }

    @AfterAll
    static void removeNamespace() {
        if (ns != null) {
            ns.close();
        }
    }

    @Test
    void putsGetsListsInPagesAndComparesAndSetsAsEtcdctlSeesIt(@TempDir Path dir) throws Exception {
        try (LabEtcd etcd = LabEtcd.start(ns, dir);
             EtcdStore store = open(etcd.endpoint())) {
            String key = store.keys().service("web");
            long r1 = store.put(key, bytes("{\"port\":80}"));
            assertThat(etcdctl(etcd, "get", key, "--print-value-only").strip()).isEqualTo("{\"port\":80}");
            Entry e = store.get(key).orElseThrow();
            assertThat(e.valueText()).isEqualTo("{\"port\":80}");
            assertThat(e.modRevision()).isEqualTo(r1);
            assertThat(e.createRevision()).isEqualTo(r1);
            assertThat(store.get(store.keys().service("none"))).isEmpty();

            assertThat(store.putIfRevision(key, bytes("{\"port\":81}"), r1 - 1)).as("stale revision").isEmpty();
            assertThat(store.putIfRevision(key, bytes("{\"port\":81}"), 0)).as("0 means absent").isEmpty();
            OptionalLong r2 = store.putIfRevision(key, bytes("{\"port\":81}"), r1);
            assertThat(r2).isPresent();
            assertThat(etcdctl(etcd, "get", key, "--print-value-only").strip()).isEqualTo("{\"port\":81}");
            assertThat(store.putIfRevision(store.keys().service("db"), bytes("{}"), 0)).as("create if absent").isPresent();
            assertThat(store.deleteIfRevision(key, r1)).isFalse();
            assertThat(store.deleteIfRevision(key, r2.getAsLong())).isTrue();
            assertThat(store.delete(key)).isFalse();
            assertThat(etcdctl(etcd, "get", key).strip()).isEmpty();

            // 1203 keys (more than two pages), written 100 per transaction, and a key just past the prefix.
            for (int t = 0; t < 13; t++) {
                List<Op> puts = new ArrayList<>();
                for (int i = t * 100; i < Math.min(1203, (t + 1) * 100); i++) {
                    puts.add(Op.put(EtcdStore.bytes(store.keys().pod("n1", String.format("p%04d", i))), seq("{\"i\":" + i + "}"), PutOption.DEFAULT));
                }
                store.start(() -> store.kvClient().txn().Then(puts.toArray(Op[]::new)).commit()).get(10, TimeUnit.SECONDS);
            }
            store.put("/shunt/pods/n10", bytes("not a pod of n1"));
            Snapshot pods = store.list(store.keys().pods("n1"));
            assertThat(pods.entries()).hasSize(1203);
            assertThat(pods.entries().getFirst().key()).isEqualTo("/shunt/pods/n1/p0000");
            assertThat(pods.entries().getLast().key()).isEqualTo("/shunt/pods/n1/p1202");
            assertThat(pods.entries().stream().map(Entry::key).distinct().count()).isEqualTo(1203);
            assertThat(pods.revision()).isEqualTo(Long.parseLong(etcdctlJson(etcd, "get", "/", "--prefix", "--keys-only")
                    .get("header").get("revision").asText()));
            assertThat(etcdctlJson(etcd, "get", "--prefix", store.keys().pods("n1"), "--keys-only").get("count").asInt()).isEqualTo(1203);
            assertThat(store.status().state()).isEqualTo(EtcdStatus.State.CONNECTED);

            // The test thread is in the root namespace; the client's connection is in the scratch one.
            assertThat(Witness.run(List.of("ip", "netns", "exec", ns.name(), "ss", "-Htnp", "dst", "127.0.0.1:" + LabEtcd.CLIENT_PORT)))
                    .contains("\"java\"");
        }
    }

    @Test
    void aTransactionWritesAllOfItsKeysAtOneRevisionOrNoneWhenAComparisonFails(@TempDir Path dir) throws Exception {
        try (LabEtcd etcd = LabEtcd.start(ns, dir);
             EtcdStore store = open(etcd.endpoint())) {
            KeyLayout k = store.keys();
            Transaction create = new Transaction(
                    List.of(Transaction.Expect.absent(k.service("web")), Transaction.Expect.absent(k.clusterIp("10.96.0.2"))),
                    List.of(Transaction.Write.put(k.service("web"), "{\"name\":\"web\"}"), Transaction.Write.put(k.clusterIp("10.96.0.2"), "web")));
            long r1 = store.commit(create).orElseThrow();
            JsonNode both = etcdctlJson(etcd, "get", "--prefix", "/shunt/");
            assertThat(both.get("count").asInt()).as("the witness: both keys").isEqualTo(2);
            for (JsonNode kv : both.get("kvs")) {
                assertThat(kv.get("mod_revision").asLong()).as("one revision for both").isEqualTo(r1);
            }
            assertThat(store.commit(create)).as("the same creation again: the key exists").isEmpty();

            // Another Service wanting the same address: its own key is free, the claim is not; nothing is written.
            Transaction clash = new Transaction(
                    List.of(Transaction.Expect.absent(k.service("db")), Transaction.Expect.absent(k.clusterIp("10.96.0.2"))),
                    List.of(Transaction.Write.put(k.service("db"), "{}"), Transaction.Write.put(k.clusterIp("10.96.0.2"), "db")));
            assertThat(store.commit(clash)).isEmpty();
            assertThat(etcdctl(etcd, "get", k.service("db")).strip()).isEmpty();
            assertThat(etcdctl(etcd, "get", k.clusterIp("10.96.0.2"), "--print-value-only").strip()).isEqualTo("web");

            // A delete of the Service and its claim, only at the revision read.
            Transaction delete = new Transaction(List.of(new Transaction.Expect(k.service("web"), r1)),
                    List.of(Transaction.Write.delete(k.service("web")), Transaction.Write.delete(k.clusterIp("10.96.0.2"))));
            store.put(k.service("web"), bytes("{\"name\":\"web\",\"changed\":true}"));
            assertThat(store.commit(delete)).as("the Service changed since").isEmpty();
            assertThat(etcdctlJson(etcd, "get", "--prefix", "/shunt/").get("count").asInt()).isEqualTo(2);
            long r3 = store.get(k.service("web")).orElseThrow().modRevision();
            Transaction deleteNow = new Transaction(List.of(new Transaction.Expect(k.service("web"), r3)), delete.writes());
            assertThat(store.commit(deleteNow)).isPresent();
            assertThat(etcdctlJson(etcd, "get", "--prefix", "/shunt/").path("count").asInt()).isZero();
        }
    }

    @Test
    void eightNodesRacingForSevenSubnetsGetSevenDifferentOnesAndOneIsTold(@TempDir Path dir) throws Exception {
        Ipv4Subnet cluster = Ipv4Subnet.parse("10.244.0.0/21"); // 8 /24s; the first is never handed out
        try (LabEtcd etcd = LabEtcd.start(ns, dir)) {
            List<EtcdStore> stores = new ArrayList<>();
            ExecutorService threads = Executors.newFixedThreadPool(8);
            try {
                for (int i = 0; i < 8; i++) {
                    stores.add(open(etcd.endpoint()));
                }
                CyclicBarrier start = new CyclicBarrier(8);
                List<Future<SubnetLease>> claims = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    EtcdStore store = stores.get(i);
                    SubnetOwner owner = owner("n" + i, 11 + i);
                    claims.add(threads.submit(() -> {
                        start.await(10, TimeUnit.SECONDS);
                        return store.claimSubnet(owner, cluster, 24, 30);
                    }));
                }
                Map<String, Ipv4Subnet> won = new LinkedHashMap<>();
                List<String> refused = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    try {
                        SubnetLease lease = claims.get(i).get(30, TimeUnit.SECONDS);
                        assertThat(lease.owner().node()).isEqualTo("n" + i);
                        won.put("n" + i, lease.subnet());
                    } catch (java.util.concurrent.ExecutionException e) {
                        assertThat(e.getCause()).isInstanceOf(EtcdStoreException.class);
                        refused.add(e.getCause().getMessage());
                    }
                }
                assertThat(won).hasSize(7);
                assertThat(new HashSet<>(won.values())).hasSize(7).doesNotContain(Ipv4Subnet.parse("10.244.0.0/24"))
                        .allMatch(cluster::contains);
                assertThat(refused).singleElement().asString().contains("no free /24 left in 10.244.0.0/21").contains("all 7 are claimed");

                // The witness: seven keys, each naming its winner, each on a lease that holds just it.
                JsonNode kvs = etcdctlJson(etcd, "get", "--prefix", "/shunt/subnets/").get("kvs");
                assertThat(kvs).hasSize(7);
                for (JsonNode kv : kvs) {
                    String k = decode(kv.get("key"));
                    SubnetOwner o = SubnetOwner.fromJson(decode(kv.get("value")).getBytes(StandardCharsets.UTF_8));
                    assertThat(k).isEqualTo("/shunt/subnets/" + won.get(o.node()).keySegment());
                    long lease = kv.get("lease").asLong();
                    assertThat(lease).isNotZero();
                    assertThat(etcdctl(etcd, "lease", "timetolive", Long.toHexString(lease), "--keys")).contains(k);
                }
            } finally {
                threads.shutdownNow();
                stores.forEach(EtcdStore::close);
            }
        }
    }

    @Test
    void aClaimThatLosesItsTransactionTriesAnotherSubnetAndLeavesTheWinnerAlone(@TempDir Path dir) {
        Ipv4Subnet cluster = Ipv4Subnet.parse("10.244.0.0/16");
        try (LabEtcd etcd = LabEtcd.start(ns, dir);
             EtcdStore store = open(etcd.endpoint())) {
            List<Ipv4Subnet> tried = new ArrayList<>();
            SubnetOwner rival = owner("rival", 99);
            SubnetLease lease = store.claimSubnet(owner("n1", 11), cluster, 24, 30, new Random(7), candidate -> {
                tried.add(candidate);
                if (tried.size() == 1) {
                    // Another node creates the chosen key between our list and our transaction.
                    etcdctl(etcd, "put", store.keys().subnet(candidate), new String(rival.toJson(), StandardCharsets.UTF_8));
                }
            });
            assertThat(lease.attempts()).isEqualTo(2);
            assertThat(tried).hasSize(2).doesNotHaveDuplicates();
            assertThat(lease.subnet()).isEqualTo(tried.get(1));
            assertThat(lease.reused()).isFalse();
            assertThat(etcdctl(etcd, "get", store.keys().subnet(tried.get(0)), "--print-value-only"))
                    .contains("\"node\":\"rival\"");
            assertThat(etcdctl(etcd, "get", store.keys().subnet(tried.get(1)), "--print-value-only")).contains("\"node\":\"n1\"");
        }
    }

    @Test
    void aRestartedNodeTakesItsSubnetBackUnderANewLeaseWithItsNewAddress(@TempDir Path dir) {
        Ipv4Subnet cluster = Ipv4Subnet.parse("10.244.0.0/16");
        try (LabEtcd etcd = LabEtcd.start(ns, dir)) {
            SubnetLease first;
            try (EtcdStore before = open(etcd.endpoint())) {
                first = before.claimSubnet(owner("n1", 11), cluster, 24, 30);
                before.claimSubnet(owner("n2", 12), cluster, 24, 30);
                assertThat(first.reused()).isFalse();
                assertThat(first.isAlive()).isTrue();
            } // the agent stops without revoking: the key stays for the TTL
            try (EtcdStore after = open(etcd.endpoint())) {
                SubnetLease again = after.claimSubnet(owner("n1", 21), cluster, 24, 30);
                assertThat(again.reused()).isTrue();
                assertThat(again.subnet()).isEqualTo(first.subnet());
                assertThat(again.leaseId()).isNotEqualTo(first.leaseId());
                String value = etcdctl(etcd, "get", again.key(), "--print-value-only");
                assertThat(value).contains("\"underlayIp\":\"198.18.0.21\"");
                assertThat(etcdctl(etcd, "lease", "timetolive", Long.toHexString(again.leaseId()), "--keys")).contains(again.key());
                assertThat(etcdctl(etcd, "lease", "timetolive", Long.toHexString(first.leaseId()), "--keys"))
                        .doesNotContain(again.key());
                assertThat(after.list(after.keys().subnets()).entries()).hasSize(2);
            }
        }
    }

    @Test
    void aNodeBackAfterItsLeaseExpiredGetsThePreferredSubnetIfFreeAndAnotherIfNot(@TempDir Path dir) {
        Ipv4Subnet cluster = Ipv4Subnet.parse("10.244.0.0/16");
        Ipv4Subnet wanted = Ipv4Subnet.parse("10.244.77.0/24");
        try (LabEtcd etcd = LabEtcd.start(ns, dir); EtcdStore store = open(etcd.endpoint())) {
            SubnetLease n1 = store.claimSubnet(owner("n1", 11), cluster, 24, 30, wanted);
            assertThat(n1.subnet()).isEqualTo(wanted);
            assertThat(n1.reused()).isFalse();
            assertThat(etcdctl(etcd, "get", store.keys().subnets() + "10.244.77.0-24", "--print-value-only"))
                    .contains("\"node\":\"n1\"");
            // n2 asks for the same one (a stale preference): it is taken, so n2 gets a random free one.
            SubnetLease n2 = store.claimSubnet(owner("n2", 12), cluster, 24, 30, wanted);
            assertThat(n2.subnet()).isNotEqualTo(wanted);
            assertThat(cluster.contains(n2.subnet())).isTrue();
            // A preference outside the cluster CIDR, or of another length, is not a claim: ignored.
            SubnetLease n3 = store.claimSubnet(owner("n3", 13), cluster, 24, 30, Ipv4Subnet.parse("10.245.1.0/24"));
            SubnetLease n4 = store.claimSubnet(owner("n4", 14), cluster, 24, 30, Ipv4Subnet.parse("10.244.78.0/23"));
            assertThat(List.of(n3.subnet(), n4.subnet())).allSatisfy(s -> {
                assertThat(cluster.contains(s)).isTrue();
                assertThat(s.prefixLength()).isEqualTo(24);
            });
            assertThat(store.list(store.keys().subnets()).entries()).hasSize(4);
        }
    }

    @Test
    void aLiveLeaseOutlivesItsTtlAndADeadNodesSubnetGoesToAnotherOnlyAfterItExpired(@TempDir Path dir) throws Exception {
        Ipv4Subnet cluster = Ipv4Subnet.parse("10.244.0.0/23"); // exactly one subnet to hand out: 10.244.1.0/24
        try (LabEtcd etcd = LabEtcd.start(ns, dir);
             EtcdStore other = open(etcd.endpoint())) {
            SubnetLease held;
            try (EtcdStore dying = open(etcd.endpoint())) {
                held = dying.claimSubnet(owner("n1", 11), cluster, 24, 2);
                assertThat(held.subnet()).isEqualTo(Ipv4Subnet.parse("10.244.1.0/24"));
                assertThat(held.ttlSeconds()).isEqualTo(2);
                Thread.sleep(5_000); // 2.5 TTLs: only the keep-alive keeps it
                assertThat(held.isAlive()).isTrue();
                assertThat(etcdctl(etcd, "get", held.key(), "--print-value-only")).contains("\"node\":\"n1\"");
                assertThatThrownBy(() -> other.claimSubnet(owner("n2", 12), cluster, 24, 2))
                        .isInstanceOf(EtcdStoreException.class).hasMessageContaining("no free /24 left in 10.244.0.0/23");
            } // n1 dies: no more keep-alives
            Instant died = Instant.now();
            assertThatThrownBy(() -> other.claimSubnet(owner("n2", 12), cluster, 24, 2))
                    .as("not reused before the lease expired").hasMessageContaining("no free /24 left");
            awaitTrue(() -> etcdctl(etcd, "get", held.key()).isBlank(), () -> "the dead node's subnet key to expire");
            assertThat(Duration.between(died, Instant.now())).as("not before the TTL").isGreaterThanOrEqualTo(Duration.ofMillis(1_000));
            assertThat(etcdctl(etcd, "lease", "timetolive", Long.toHexString(held.leaseId()))).contains("already expired");
            SubnetLease taken = other.claimSubnet(owner("n2", 12), cluster, 24, 2);
            assertThat(taken.subnet()).isEqualTo(held.subnet());
            assertThat(etcdctl(etcd, "get", taken.key(), "--print-value-only")).contains("\"node\":\"n2\"");
        }
    }

    @Test
    void aLeaseThatExpiresUnderALiveNodeIsReplacedIfItsSubnetIsStillFreeAndLostIfNot(@TempDir Path dir) throws Exception {
        Ipv4Subnet cluster = Ipv4Subnet.parse("10.244.0.0/16");
        try (LabEtcd etcd = LabEtcd.start(ns, dir);
             EtcdStore store = open(etcd.endpoint())) {
            SubnetLease lease = store.claimSubnet(owner("n1", 11), cluster, 24, 3);
            List<String> heard = java.util.Collections.synchronizedList(new ArrayList<>());
            lease.listen(new SubnetLease.Listener() {
                @Override
                public void leaseReplaced(SubnetLease l, long oldLeaseId) {
                    heard.add("replaced " + Long.toHexString(oldLeaseId) + " by " + Long.toHexString(l.leaseId()));
                }

                @Override
                public void lost(SubnetLease l) {
                    heard.add("lost");
                }
            });

            // As if this node had been cut off for longer than the TTL: etcd drops the lease and its key.
            long first = lease.leaseId();
            etcdctl(etcd, "lease", "revoke", Long.toHexString(first));
            awaitTrue(() -> !heard.isEmpty(), () -> "the lease to be replaced, last error " + lease.lastError());
            assertThat(heard).containsExactly("replaced " + Long.toHexString(first) + " by " + Long.toHexString(lease.leaseId()));
            assertThat(lease.leaseId()).isNotEqualTo(first);
            assertThat(lease.isAlive()).isTrue();
            assertThat(etcdctl(etcd, "lease", "timetolive", Long.toHexString(lease.leaseId()), "--keys")).contains(lease.key());
            assertThat(etcdctl(etcd, "get", lease.key(), "--print-value-only")).contains("\"node\":\"n1\"");

            // Now another node gets the subnet before this one notices its lease is gone.
            SubnetOwner rival = owner("rival", 99);
            etcdctl(etcd, "put", lease.key(), new String(rival.toJson(), StandardCharsets.UTF_8)); // detaches the key from our lease
            etcdctl(etcd, "lease", "revoke", Long.toHexString(lease.leaseId()));
            awaitTrue(() -> heard.size() == 2, () -> "the claim to be lost, heard " + heard);
            assertThat(heard.get(1)).isEqualTo("lost");
            assertThat(lease.state()).isEqualTo(SubnetLease.State.LOST);
            assertThat(lease.isAlive()).isFalse();
            assertThat(lease.lastError()).contains("held by").contains("rival");
            assertThat(etcdctl(etcd, "get", lease.key(), "--print-value-only")).contains("\"node\":\"rival\"");
        }
    }

    @Test
    void aWatchResumesAfterEtcdRestartsWithoutMissingOrRepeatingAChange(@TempDir Path dir) throws Exception {
        try (LabEtcd etcd = LabEtcd.start(ns, dir);
             EtcdStore watching = open(etcd.endpoint());
             EtcdStore writer = open(etcd.endpoint());
             EtcdStore otherPortWriter = open(LabEtcd.endpoint(LabEtcd.OTHER_CLIENT_PORT))) {
            String prefix = watching.keys().services();
            writer.put(prefix + "before", bytes("0"));
            Snapshot start = watching.list(prefix);
            Recorder seen = new Recorder();
            PrefixWatch watch = watching.watch(prefix, start.revision(), seen);
            List<Change> expected = new ArrayList<>();

            expected.addAll(writes(writer, prefix, "a"));
            awaitTrue(() -> seen.changes().size() == expected.size(), () -> "first changes, saw " + seen.changes());

            // Down; then up on another port where the watching store cannot follow; changes made there
            // are written while its watch is certainly disconnected.
            etcd.kill();
            etcd.startOn(LabEtcd.OTHER_CLIENT_PORT);
            awaitTrue(() -> reaches(otherPortWriter, prefix), () -> "the other port's writer connects: " + otherPortWriter.status().describe());
            expected.addAll(writes(otherPortWriter, prefix, "b"));
            etcd.kill();
            etcd.startOn(LabEtcd.CLIENT_PORT);
            // Requests fail fast while a store reconnects: the writer's channel may still be in
            // gRPC's backoff when etcd is back (seen in CI under load).
            awaitTrue(() -> reaches(writer, prefix), () -> "the writer reconnects: " + writer.status().describe());
            expected.addAll(writes(writer, prefix, "c"));

            awaitTrue(() -> seen.changes().size() >= expected.size(), () -> "all changes, saw " + seen.changes());
            Thread.sleep(300); // a duplicate would arrive right behind
            assertThat(seen.changes()).containsExactlyElementsOf(expected);
            assertThat(seen.relisted()).isEmpty();
            assertThat(watch.sessionsOpened()).isGreaterThanOrEqualTo(2);
            assertThat(watch.duplicatesDropped()).as("each session starts right after the last delivered revision").isZero();
            assertThat(watch.lastRevision()).isEqualTo(expected.getLast().modRevision());
            assertThat(watch.lastError()).isNotNull();

            // An agent that restarts with the revision it had applied gets exactly what followed.
            long appliedBefore = expected.get(5).modRevision();
            Recorder resumed = new Recorder();
            try (EtcdStore restarted = open(etcd.endpoint());
                 PrefixWatch again = restarted.watch(prefix, appliedBefore, resumed)) {
                List<Change> rest = expected.stream().filter(c -> c.modRevision() > appliedBefore).toList();
                awaitTrue(() -> resumed.changes().size() >= rest.size(), () -> "resumed changes, saw " + resumed.changes());
                assertThat(resumed.changes()).containsExactlyElementsOf(rest);
                assertThat(again.relists()).isZero();
            }
        }
    }

    @Test
    void aWatchWhoseHistoryWasCompactedAwayRelistsAndGoesOn(@TempDir Path dir) throws Exception {
        try (LabEtcd etcd = LabEtcd.start(ns, dir);
             EtcdStore watching = open(etcd.endpoint());
             EtcdStore writer = open(etcd.endpoint());
             EtcdStore otherPortWriter = open(LabEtcd.endpoint(LabEtcd.OTHER_CLIENT_PORT))) {
            String prefix = watching.keys().pods();
            Recorder seen = new Recorder();
            PrefixWatch watch = watching.watch(prefix, writer.list(prefix).revision(), seen);
            List<Change> expected = new ArrayList<>(writes(writer, prefix, "a"));
            awaitTrue(() -> seen.changes().size() == expected.size(), () -> "first changes, saw " + seen.changes());

            // While the watch is cut off, the keys change and the history is compacted.
            etcd.kill();
            etcd.startOn(LabEtcd.OTHER_CLIENT_PORT);
            writes(otherPortWriter, prefix, "b");
            long compactedAt = otherPortWriter.put(prefix + "b-last", bytes("x"));
            otherPortWriter.compact(compactedAt);
            Snapshot truth = otherPortWriter.list(prefix);
            etcd.kill();
            etcd.startOn(LabEtcd.CLIENT_PORT);

            awaitTrue(() -> !seen.relisted().isEmpty(), () -> "a relist, status " + watching.status().describe());
            Snapshot relisted = seen.relisted().getFirst();
            assertThat(relisted).isEqualTo(truth);
            assertThat(relisted.entries()).extracting(Entry::key).contains(prefix + "a1", prefix + "b-last").doesNotContain(prefix + "a2", prefix + "b2");
            assertThat(watch.relists()).isEqualTo(1);
            assertThat(seen.changes()).as("nothing from the compacted part").containsExactlyElementsOf(expected);

            Change after = put(writer, prefix + "after", "1");
            awaitTrue(() -> seen.changes().contains(after), () -> "the change after the relist, saw " + seen.changes());
            assertThat(seen.changes().getLast()).isEqualTo(after);

            // Starting a watch from a compacted revision relists at once.
            Recorder late = new Recorder();
            try (PrefixWatch fromOld = writer.watch(prefix, expected.getFirst().modRevision(), late)) {
                awaitTrue(() -> !late.relisted().isEmpty(), () -> "a relist for a watch from a compacted revision");
                assertThat(late.relisted().getFirst().entries()).extracting(Entry::key).contains(prefix + "after");
                assertThat(fromOld.relists()).isEqualTo(1);
            }
        }
    }

    @Test
    void withEtcdDownRequestsFailFastAndStatusSaysRetryingThenItRecoversAndTheLeaseSurvives(@TempDir Path dir) throws Exception {
        try (LabEtcd etcd = LabEtcd.start(ns, dir);
             EtcdStore store = open(etcd.endpoint())) {
            assertThat(store.canReconnectNow()).as("jetcd's channel is reachable to cut gRPC's backoff short").isTrue();
            assertThat(store.status().state()).isEqualTo(EtcdStatus.State.CONNECTING);
            SubnetLease lease = store.claimSubnet(owner("n1", 11), Ipv4Subnet.parse("10.244.0.0/16"), 24, 10);
            assertThat(store.status().state()).isEqualTo(EtcdStatus.State.CONNECTED);

            Instant killed = Instant.now();
            etcd.kill();
            assertThatThrownBy(() -> store.get(lease.key()))
                    .isInstanceOfSatisfying(EtcdStoreException.class, e -> assertThat(e.unavailable()).isTrue())
                    .hasMessageContaining("etcd unreachable at " + etcd.endpoint());
            EtcdStatus down = store.status();
            assertThat(down.state()).isEqualTo(EtcdStatus.State.RETRYING);
            assertThat(down.since()).isAfterOrEqualTo(killed.minusMillis(1));
            assertThat(down.lastError()).isPresent();
            assertThat(down.describe()).startsWith("retrying since").contains(etcd.endpoint()).contains(down.lastError().get());

            etcd.startOn(LabEtcd.CLIENT_PORT);
            awaitTrue(() -> store.status().connected(), () -> "the store to reconnect by itself, status " + store.status().describe());
            assertThat(store.status().since()).isAfter(down.since());
            assertThat(store.status().lastError()).as("kept for the record").isPresent();
            assertThat(store.get(lease.key())).isPresent();
            awaitTrue(lease::isAlive, () -> "the lease to be confirmed again, last error " + lease.lastError());
            assertThat(lease.state()).isEqualTo(SubnetLease.State.HELD);
        }
    }

    // ---- helpers ----

    private static EtcdStore open(String endpoint) {
        return ns.namespace().call(() -> EtcdStore.open(EtcdConfig.of(endpoint).withRequestTimeout(Duration.ofSeconds(3))));
    }

    private static SubnetOwner owner(String node, int host) {
        return new SubnetOwner(node, "198.18.0." + host, String.format("0e:5a:00:00:00:%02x", host));
    }

    /**
     * Five changes in four revisions: two puts, an overwrite, a transaction of two puts, a delete.
     * Raw jetcd calls go through {@code store.start} so that they, too, start on the store's thread
     * (one started here, in the root namespace, could open a socket there).
     */
    private static List<Change> writes(EtcdStore store, String prefix, String tag) throws Exception {
        List<Change> changes = new ArrayList<>();
        changes.add(put(store, prefix + tag + "1", tag + "-1"));
        changes.add(put(store, prefix + tag + "2", tag + "-2"));
        changes.add(put(store, prefix + tag + "1", tag + "-1b"));
        long r = store.start(() -> store.kvClient().txn().Then(
                Op.put(EtcdStore.bytes(prefix + tag + "3"), seq(tag + "-3"), PutOption.DEFAULT),
                Op.put(EtcdStore.bytes(prefix + tag + "4"), seq(tag + "-4"), PutOption.DEFAULT)).commit())
                .get(10, TimeUnit.SECONDS).getHeader().getRevision();
        changes.add(new Change(Change.Type.PUT, prefix + tag + "3", (tag + "-3").getBytes(StandardCharsets.UTF_8), r));
        changes.add(new Change(Change.Type.PUT, prefix + tag + "4", (tag + "-4").getBytes(StandardCharsets.UTF_8), r));
        long deleted = store.start(() -> store.kvClient().delete(EtcdStore.bytes(prefix + tag + "2")))
                .get(10, TimeUnit.SECONDS).getHeader().getRevision();
        changes.add(new Change(Change.Type.DELETE, prefix + tag + "2", new byte[0], deleted));
        return changes;
    }

    private static boolean reaches(EtcdStore store, String prefix) {
        try {
            store.list(prefix);
            return true;
        } catch (EtcdStoreException e) {
            return false;
        }
    }

    private static Change put(EtcdStore store, String key, String value) {
        long r = store.put(key, value.getBytes(StandardCharsets.UTF_8));
        return new Change(Change.Type.PUT, key, value.getBytes(StandardCharsets.UTF_8), r);
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static ByteSequence seq(String text) {
        return ByteSequence.from(text, StandardCharsets.UTF_8);
    }

    private static String etcdctl(LabEtcd etcd, String... args) {
        return etcd.etcdctl(args);
    }

    private static JsonNode etcdctlJson(LabEtcd etcd, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("-w", "json"));
        try {
            return JSON.readTree(etcd.etcdctl(all.toArray(String[]::new)));
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    private static String decode(JsonNode base64) {
        return new String(Base64.getDecoder().decode(base64.asText()), StandardCharsets.UTF_8);
    }

    /** Polls (bounded) until {@code condition} holds: waiting for something to happen, not timing it. */
    private static void awaitTrue(BooleanSupplier condition, Supplier<String> what) throws InterruptedException {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("gave up after " + PATIENCE.toSeconds() + " s waiting for " + what.get());
            }
            Thread.sleep(50);
        }
    }

    /**
     * Records what a watch delivers and notes contract violations (an assertion thrown inside a
     * listener would only end up in the watch's lastError, so violations are checked by the test).
     */
    private static final class Recorder implements WatchListener {
        private final List<Change> changes = new ArrayList<>();
        private final List<Snapshot> relisted = new ArrayList<>();
        private final List<String> violations = new ArrayList<>();
        private long lastRevision;

        @Override
        public synchronized void changed(List<Change> batch) {
            if (batch.isEmpty()) {
                violations.add("an empty batch");
                return;
            }
            if (batch.getFirst().modRevision() <= lastRevision) {
                violations.add("revision " + batch.getFirst().modRevision() + " after " + lastRevision);
            }
            for (int i = 1; i < batch.size(); i++) {
                if (batch.get(i).modRevision() < batch.get(i - 1).modRevision()) {
                    violations.add("out of order in " + batch);
                }
            }
            changes.addAll(batch);
            lastRevision = batch.getLast().modRevision();
        }

        @Override
        public synchronized void relisted(Snapshot snapshot) {
            if (snapshot.revision() < lastRevision) {
                violations.add("snapshot at " + snapshot.revision() + " after " + lastRevision);
            }
            relisted.add(snapshot);
            lastRevision = snapshot.revision();
        }

        synchronized List<Change> changes() {
            assertThat(violations).as("listener contract").isEmpty();
            return List.copyOf(changes);
        }

        synchronized List<Snapshot> relisted() {
            assertThat(violations).as("listener contract").isEmpty();
            return List.copyOf(relisted);
        }
    }
}
