package dev.shunt.state;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The desired state's differences and the source that delivers them: seeded-random states, checked by replay. */
class StateSourceTest {
    static final long BASE_SEED = Long.getLong("state.seed", 0x57a7eL);

    /** What a listener holds: the last snapshot with every change since applied; revisions checked on the way. */
    static final class Replica implements StateListener {
        ClusterState state;
        long revision = -1;
        int snapshots;
        final List<List<StateChange>> batches = new ArrayList<>();

        @Override
        public void snapshot(long revision, ClusterState state) {
            snapshots++;
            this.revision = revision;
            this.state = state;
        }

        @Override
        public void changes(long revision, List<StateChange> changes) {
            assertThat(state).as("a snapshot comes first").isNotNull();
            assertThat(revision).as("revisions grow").isGreaterThan(this.revision);
            assertThat(changes).isNotEmpty();
            this.revision = revision;
            state = state.apply(changes);
            batches.add(changes);
        }
    }

    @Test
    void replayingTheChangesBetweenTwoStatesGivesTheSecond() {
        for (int c = 0; c < 2000; c++) {
            Random random = new Random(BASE_SEED + c);
            ClusterState a = randomState(random);
            ClusterState b = randomState(random);
            List<StateChange> changes = a.changesTo(b);
            assertThat(a.apply(changes)).as("seed %d", BASE_SEED + c).isEqualTo(b);
            assertThat(b.changesTo(b)).isEmpty();
            // Removals first (Services, pods, nodes), then puts (nodes, pods, Services).
            List<String> order = changes.stream().map(ch -> (ch instanceof StateChange.Put ? "put " : "remove ") + ch.kind()).toList();
            List<String> expected = new ArrayList<>();
            for (String step : List.of("remove SERVICE", "remove POD", "remove NODE", "put NODE", "put POD", "put SERVICE")) {
                order.stream().filter(step::equals).forEach(expected::add);
            }
            assertThat(order).isEqualTo(expected);
        }
    }

    @Test
    void listenersGetASnapshotThenEveryChangeOnceInOrder() throws Exception {
        DiffingStateSource source = new DiffingStateSource(e -> {
            throw new AssertionError("no listener fails here", e);
        });
        Replica early = new Replica();
        AutoCloseable earlyHandle = source.subscribe(early);
        assertThat(early.snapshots).isEqualTo(1);
        assertThat(early.state).isEqualTo(ClusterState.EMPTY);
        assertThat(early.revision).isZero();
        Random random = new Random(BASE_SEED);
        Replica late = null;
        Replica leaving = new Replica();
        AutoCloseable leavingHandle = source.subscribe(leaving);
        for (int step = 0; step < 300; step++) {
            ClusterState next = random.nextInt(5) == 0 ? source.current() : randomState(random);
            long before = source.revision();
            List<StateChange> delivered = source.publish(next);
            assertThat(source.revision()).isEqualTo(delivered.isEmpty() ? before : before + 1);
            if (step == 100) {
                late = new Replica();
                source.subscribe(late);
                assertThat(late.state).isEqualTo(next);
                assertThat(late.revision).isEqualTo(source.revision());
            }
            if (step == 150) {
                leavingHandle.close();
            }
            assertThat(early.state).isEqualTo(source.current());
            if (late != null) {
                assertThat(late.state).isEqualTo(source.current());
            }
        }
        assertThat(early.snapshots).isEqualTo(1);
        assertThat(early.revision).isEqualTo(source.revision());
        assertThat(leaving.batches).hasSizeLessThanOrEqualTo(151);
        assertThat(leaving.revision).isLessThan(source.revision());
        earlyHandle.close();
        source.publish(ClusterState.EMPTY);
        assertThat(early.state).isNotEqualTo(ClusterState.EMPTY);
    }

    @Test
    void aListenerThatThrowsIsDroppedAndTheOthersGoOn() {
        List<RuntimeException> failures = new ArrayList<>();
        DiffingStateSource source = new DiffingStateSource(failures::add);
        StateListener broken = new StateListener() {
            @Override
            public void snapshot(long revision, ClusterState state) {}

            @Override
            public void changes(long revision, List<StateChange> changes) {
                throw new IllegalStateException("broken follower");
            }
        };
        source.subscribe(broken);
        Replica fine = new Replica();
        source.subscribe(fine);
        Random random = new Random(BASE_SEED);
        for (int i = 0; i < 5; i++) {
            ClusterState next = randomState(random);
            source.publish(next);
            assertThat(fine.state).isEqualTo(next);
        }
        assertThat(failures).singleElement().extracting(Throwable::getMessage).isEqualTo("broken follower");
    }

    @Test
    void anObjectGivenTwiceIsRefused() {
        Pod a = new Pod("a", "n1", Map.of(), "", false);
        assertThatThrownBy(() -> ClusterState.of(List.of(a, a))).hasMessage("pods/a is given twice");
        assertThat(ClusterState.of(List.of(a)).without(Kind.POD, "a")).isEqualTo(ClusterState.EMPTY);
        assertThat(ClusterState.EMPTY.with(a).get(Kind.POD, "a")).contains(a);
    }

    static ClusterState randomState(Random random) {
        List<StateObject> objects = new ArrayList<>();
        for (String n : List.of("n1", "n2", "n3")) {
            if (random.nextBoolean()) {
                objects.add(new Node(n, "10.244." + random.nextInt(3) + ".0/24", "198.18.0." + (1 + random.nextInt(3)),
                        random.nextBoolean() ? "" : "02:00:00:00:00:0" + random.nextInt(3)));
            }
        }
        for (String p : List.of("a", "b", "c", "d")) {
            if (random.nextBoolean()) {
                objects.add(new Pod(p, "n" + (1 + random.nextInt(3)), random.nextBoolean() ? Map.of("app", "web") : Map.of(),
                        random.nextBoolean() ? "" : "10.244.0." + random.nextInt(4), random.nextInt(4) == 0));
            }
        }
        for (String s : List.of("web", "db")) {
            if (random.nextBoolean()) {
                objects.add(new Service(s, random.nextBoolean() ? "ClusterIP" : "NodePort", "",
                        List.of(new Service.Port("", "TCP", 80 + random.nextInt(2), 8080, 0)), Map.of("app", s),
                        random.nextBoolean() ? 0 : 60, "Cluster", "Cluster"));
            }
        }
        return ClusterState.of(objects);
    }
}
