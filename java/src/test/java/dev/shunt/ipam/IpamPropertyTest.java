package dev.shunt.ipam;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random operation sequences on small pools, checked against a model after every step.
 *
 * <p>Plain JUnit with seeded {@link Random}: every seed is a reproducible case. A failure names its
 * seed and the last steps; rerun one seed with {@code -Dipam.seed=N} (and {@code -Dipam.seeds=1}).
 *
 * <p>The model is the documented policy itself (the host-local round robin of {@link AddressPool}):
 * the next address is the first free usable one after the last one handed out, wrapping around.
 * It predicts every address exactly, so the store, {@link InMemoryIpam} and the model must give
 * the same answer at every step, across restarts and compactions too (the cursor is persisted).
 */
class IpamPropertyTest {
    static final Cidr V4 = Cidr.parse("10.250.0.0/28"); // usable .1-.14
    static final Cidr V4_TINY = Cidr.parse("10.250.1.0/30"); // usable .1-.2; a second IPv4 pool: owner conflicts
    static final Cidr V6 = Cidr.parse("fd00:250::/124"); // usable ::1-::e
    static final List<Cidr> POOLS = List.of(V4, V6, V4_TINY);
    static final List<String> CONTAINERS = List.of("c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c10");
    static final List<String> IFNAMES = List.of("eth0", "net1");
    static final List<Owner> OWNERS = CONTAINERS.stream().flatMap(c -> IFNAMES.stream().map(i -> new Owner(c, i))).toList();
    static final int[] COMPACT_AFTER = {1, 2, 3, 5, 8, 13, 40, 4096};

    static final long BASE_SEED = Long.getLong("ipam.seed", 0x5eedL);
    static final int SEEDS = Integer.getInteger("ipam.seeds", 150);
    static final int STEPS = Integer.getInteger("ipam.steps", 400);

    @TempDir
    Path tempDir;

    /** On tmpfs when there is one: this test is about logic, and fdatasync on a disk would dominate. */
    Path storeRoot() throws IOException {
        Path shm = Path.of("/dev/shm");
        if (Files.isDirectory(shm) && Files.isWritable(shm)) {
            return Files.createTempDirectory(shm, "ipam-prop-");
        }
        return tempDir;
    }

    @Test
    void randomSequencesWithRestartsAndCompactionMatchTheModel() throws IOException {
        Path root = storeRoot();
        Stats stats = new Stats();
        long start = System.nanoTime();
        try {
            for (int i = 0; i < SEEDS; i++) {
                long seed = BASE_SEED + i;
                new Run(seed, root.resolve("seed-" + seed), true, stats).run(STEPS);
            }
        } finally {
            deleteTree(root);
        }
        System.out.printf("IpamPropertyTest: %d seeds x %d steps, %s; %d ms%n", SEEDS, STEPS, stats,
                (System.nanoTime() - start) / 1_000_000);
        // The sequences must actually reach the interesting states.
        assertThat(stats.exhausted).isPositive();
        assertThat(stats.wraps).isPositive();
        assertThat(stats.conflicts).isPositive();
        assertThat(stats.restarts).isPositive();
        assertThat(stats.tornRestarts).isPositive();
        assertThat(stats.compactions).isPositive();
    }

    /** Without restarts the store and {@link InMemoryIpam} must hand out identical addresses at every step. */
    @Test
    void storeAndInMemoryIpamHandOutIdenticalAddressesWithoutRestarts() throws IOException {
        Path root = storeRoot();
        Stats stats = new Stats();
        try {
            for (int i = 0; i < SEEDS / 3; i++) {
                long seed = BASE_SEED + 1_000_000 + i;
                new Run(seed, root.resolve("seed-" + seed), false, stats).run(STEPS);
            }
        } finally {
            deleteTree(root);
        }
        System.out.printf("IpamPropertyTest (no restarts): %s%n", stats);
        assertThat(stats.allocations).isPositive();
    }

    /**
     * Pins the policy at its edge: the round robin reuses an address released a moment ago when it
     * is the first free one after the cursor, even if other addresses are free (host-local does the
     * same). Only addresses "ahead" of the cursor are protected from immediate reuse.
     */
    @Test
    void aJustReleasedAddressIsReusedWhenItIsTheFirstFreeOneAfterTheCursor() throws IOException {
        Path dir = storeRoot();
        try (IpamStore store = IpamStore.open(dir)) {
            for (int i = 1; i <= 14; i++) {
                store.allocate(V4, Owner.of("p" + i)); // .1-.14, cursor at .14
            }
            store.release(Owner.of("p5"));
            store.release(Owner.of("p1"));
            // .1 was released last, .5 is also free: the wrap-around starts at .1.
            assertThat(Cidr.Addresses.format(store.allocate(V4, Owner.of("q")).address())).isEqualTo("10.250.0.1");
            store.release(Owner.of("p3"));
            // .3 was released last, but .5 comes first after the cursor (.1).
            assertThat(Cidr.Addresses.format(store.allocate(V4, Owner.of("r")).address())).isEqualTo("10.250.0.3");
        } finally {
            deleteTree(dir);
        }
    }

    // ------------------------------------------------------------------ one seeded run

    static final class Stats {
        long steps, allocations, exhausted, conflicts, wraps, releases, gcs, restarts, tornRestarts, compactions;
        long justReleasedReusedWithOthersFree;

        @Override
        public String toString() {
            return "steps=" + steps + " allocations=" + allocations + " exhausted=" + exhausted + " conflicts=" + conflicts
                    + " wraps=" + wraps + " releases=" + releases + " gcs=" + gcs + " restarts=" + restarts
                    + " tornRestarts=" + tornRestarts + " compactions=" + compactions
                    + " justReleasedReusedWhileOthersFree=" + justReleasedReusedWithOthersFree;
        }
    }

    final class Run {
        final long seed;
        final Path dir;
        final boolean restarts;
        final Stats stats;
        final Random random;
        final Model model = new Model();
        final InMemoryIpam memory = new InMemoryIpam();
        final Deque<String> history = new ArrayDeque<>();
        IpamStore store;
        int compactAfter;
        long generation;
        /** Addresses released by the previous step (empty if it released nothing). */
        Set<InetAddress> justReleased = Set.of();

        Run(long seed, Path dir, boolean restarts, Stats stats) {
            this.seed = seed;
            this.dir = dir;
            this.restarts = restarts;
            this.stats = stats;
            this.random = new Random(seed);
        }

        void run(int steps) {
            int step = 0;
            try {
                compactAfter = COMPACT_AFTER[random.nextInt(COMPACT_AFTER.length)];
                store = IpamStore.open(dir, compactAfter);
                note("open compactAfter=" + compactAfter);
                for (step = 0; step < steps; step++) {
                    step();
                    checkEverything();
                }
                store.close();
                store = null;
                IpamStore.CheckReport report = IpamStore.check(dir);
                assertThat(report.problems()).as("check(dir) at the end").isEmpty();
                assertThat(report.allocations()).isEqualTo(model.allocationCount());
                // A last reopen sees exactly the model.
                store = IpamStore.open(dir);
                checkEverything();
                store.close();
                store = null;
                deleteTree(dir);
            } catch (AssertionError | RuntimeException e) {
                String message = "seed=" + seed + " (rerun: -Dipam.seed=" + seed + " -Dipam.seeds=1) failed at step " + step
                        + " of " + (restarts ? "the run with restarts" : "the run without restarts") + "; last steps:\n  "
                        + String.join("\n  ", history);
                System.out.println(message);
                throw new AssertionError(message, e);
            } finally {
                if (store != null) {
                    store.close();
                }
            }
        }

        void note(String what) {
            history.addLast(what);
            if (history.size() > 25) {
                history.removeFirst();
            }
        }

        void step() {
            stats.steps++;
            int dice = random.nextInt(100);
            Set<InetAddress> released = Set.of();
            if (dice < 55) {
                allocate(pickPool(), pickOwner());
            } else if (dice < 72) {
                released = release(pickOwner());
            } else if (dice < 82) {
                released = releaseContainer(CONTAINERS.get(random.nextInt(CONTAINERS.size())));
            } else if (dice < 87) {
                released = gc();
            } else if (dice < 92 && restarts) {
                restart(false);
            } else if (dice < 95 && restarts) {
                restart(true);
            } else {
                // Idempotent re-allocation of something held, or a fresh allocation.
                List<Owner> holders = model.holders();
                Owner owner = holders.isEmpty() ? pickOwner() : holders.get(random.nextInt(holders.size()));
                allocate(pickPool(), owner);
            }
            justReleased = released;
        }

        Cidr pickPool() {
            int p = random.nextInt(10);
            return p < 5 ? V4 : p < 9 ? V6 : V4_TINY;
        }

        Owner pickOwner() {
            return OWNERS.get(random.nextInt(OWNERS.size()));
        }

        void allocate(Cidr pool, Owner owner) {
            stats.allocations++;
            PoolModel pm = model.pool(pool);
            long cursorBefore = pm.cursor;
            Set<Long> freeBefore = pm.freeOffsets();
            String expected = model.allocate(pool, owner);
            String fromStore = outcome(() -> ip(store.allocate(pool, owner)));
            String fromMemory = outcome(() -> ip(memory.allocate(pool, owner)));
            note("allocate " + pool + " " + owner + " -> " + fromStore + " (model " + expected + ")");
            assertThat(fromStore).as("store: allocate %s %s", pool, owner).isEqualTo(expected);
            assertThat(fromMemory).as("InMemoryIpam: allocate %s %s", pool, owner).isEqualTo(expected);
            if (expected.startsWith("error 100")) {
                stats.exhausted++;
                assertThat(freeBefore).as("exhausted only when the model's pool is full").isEmpty();
            } else if (expected.startsWith("error 101")) {
                stats.conflicts++;
            } else if (pm.cursor != cursorBefore) { // a new address
                long got = pm.cursor;
                if (cursorBefore != -1 && Long.compareUnsigned(got, cursorBefore) < 0) {
                    stats.wraps++;
                }
                InetAddress address = pool.address(got);
                if (justReleased.contains(address) && freeBefore.size() > 1) {
                    stats.justReleasedReusedWithOthersFree++;
                    // The policy's guarantee: no free address lies between the cursor and it.
                    for (long free : freeBefore) {
                        if (free != got) {
                            assertThat(pm.cyclicDistance(cursorBefore, free)).as("just-released %s was handed out although %s"
                                    + " was free and comes first after the cursor", ip(address), ip(pool.address(free)))
                                    .isGreaterThan(pm.cyclicDistance(cursorBefore, got));
                        }
                    }
                }
            }
        }

        Set<InetAddress> release(Owner owner) {
            stats.releases++;
            List<Allocation> expected = model.release(owner::equals);
            List<Allocation> fromStore = store.release(owner);
            List<Allocation> fromMemory = memory.release(owner);
            note("release " + owner + " -> " + fromStore);
            assertThat(sorted(fromStore)).as("store: release %s", owner).isEqualTo(sorted(expected));
            assertThat(sorted(fromMemory)).as("InMemoryIpam: release %s", owner).isEqualTo(sorted(expected));
            return addresses(expected);
        }

        Set<InetAddress> releaseContainer(String id) {
            stats.releases++;
            List<Allocation> expected = model.release(o -> o.containerId().equals(id));
            List<Allocation> fromStore = store.releaseContainer(id);
            List<Allocation> fromMemory = new ArrayList<>();
            OWNERS.stream().filter(o -> o.containerId().equals(id)).forEach(o -> fromMemory.addAll(memory.release(o)));
            note("releaseContainer " + id + " -> " + fromStore);
            assertThat(sorted(fromStore)).as("store: releaseContainer %s", id).isEqualTo(sorted(expected));
            assertThat(sorted(fromMemory)).as("InMemoryIpam: release owners of %s", id).isEqualTo(sorted(expected));
            return addresses(expected);
        }

        Set<InetAddress> gc() {
            stats.gcs++;
            List<String> live = new ArrayList<>();
            for (String c : CONTAINERS) {
                int d = random.nextInt(4);
                if (d == 0) {
                    live.add(c); // the whole container stays
                } else if (d == 1) {
                    live.add(c + "/" + IFNAMES.get(random.nextInt(IFNAMES.size()))); // one attachment stays
                }
            }
            List<Allocation> expected = model.release(o -> !isLive(o, live));
            List<Allocation> fromStore = store.gc(live);
            List<Allocation> fromMemory = new ArrayList<>();
            OWNERS.stream().filter(o -> !isLive(o, live)).forEach(o -> fromMemory.addAll(memory.release(o)));
            note("gc live=" + live + " -> " + fromStore);
            assertThat(sorted(fromStore)).as("store: gc %s", live).isEqualTo(sorted(expected));
            assertThat(sorted(fromMemory)).as("InMemoryIpam: gc %s", live).isEqualTo(sorted(expected));
            // No leak: nothing outside the live set remains.
            for (IpamStore.PoolUsage usage : store.usage()) {
                for (Allocation a : usage.allocations()) {
                    assertThat(isLive(a.owner(), live)).as("%s survived gc %s", a, live).isTrue();
                }
            }
            return addresses(expected);
        }

        /** Close and reopen, sometimes with a torn last line appended first (a crash mid-append). */
        void restart(boolean tearTail) {
            stats.restarts++;
            store.close();
            store = null;
            String torn = "";
            if (tearTail) {
                stats.tornRestarts++;
                torn = appendTornLine();
            }
            IpamStore.CheckReport report = IpamStore.check(dir);
            assertThat(report.problems()).as("check(dir) before reopening").isEmpty();
            if (!torn.isEmpty()) {
                assertThat(report.notes()).as("check notes a torn tail").anyMatch(n -> n.contains("unfinished record"));
            }
            compactAfter = COMPACT_AFTER[random.nextInt(COMPACT_AFTER.length)];
            store = IpamStore.open(dir, compactAfter);
            note("restart compactAfter=" + compactAfter + torn);
            if (!torn.isEmpty()) {
                assertThat(IpamStore.check(dir).notes()).as("the torn tail is gone after reopening")
                        .noneMatch(n -> n.contains("unfinished record"));
            }
        }

        /** Appends part of a record that was never acknowledged: a prefix without newline, or a line with a bad checksum. */
        String appendTornLine() {
            Path log;
            try (Stream<Path> files = Files.list(dir)) {
                log = files.filter(p -> p.getFileName().toString().startsWith("log."))
                        .max(Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString().substring(4))))
                        .orElseThrow();
                Owner ghost = new Owner("ghost" + random.nextInt(1000), "eth0");
                Allocation never = new Allocation(V4, V4.address(1 + random.nextInt(14)), ghost);
                byte[] line = StoreRecord.line(random.nextBoolean() ? new StoreRecord.Alloc(never) : new StoreRecord.Release(never));
                byte[] tail;
                String what;
                if (random.nextBoolean()) {
                    tail = java.util.Arrays.copyOf(line, 1 + random.nextInt(line.length - 1));
                    what = " after tearing " + tail.length + " bytes of a line";
                } else {
                    tail = line.clone();
                    tail[tail.length - 2] = (byte) (tail[tail.length - 2] == '0' ? '1' : '0'); // last CRC digit
                    what = " after appending a line with a bad checksum";
                }
                Files.write(log, tail, StandardOpenOption.APPEND);
                return what + " to " + log.getFileName();
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        }

        void checkEverything() {
            Map<Cidr, Map<String, Owner>> actual = new HashMap<>();
            Map<Owner, Set<Boolean>> families = new HashMap<>();
            for (IpamStore.PoolUsage usage : store.usage()) {
                Map<String, Owner> held = new TreeMap<>();
                for (Allocation a : usage.allocations()) {
                    assertThat(a.pool()).isEqualTo(usage.cidr());
                    Owner previous = held.put(ip(a.address()), a.owner());
                    assertThat(previous).as("%s held twice, by %s and %s", ip(a.address()), previous, a.owner()).isNull();
                    assertThat(families.computeIfAbsent(a.owner(), o -> new HashSet<>()).add(a.pool().isIpv4()))
                            .as("%s holds two addresses of one family", a.owner()).isTrue();
                }
                assertThat(usage.used()).isEqualTo(held.size());
                if (!held.isEmpty()) {
                    actual.put(usage.cidr(), held);
                }
            }
            assertThat(actual).as("store usage vs model").isEqualTo(model.snapshot());
            for (Owner owner : OWNERS) {
                List<Allocation> expected = sorted(model.allocationsOf(owner));
                assertThat(sorted(memory.allocationsOf(owner))).as("InMemoryIpam allocationsOf %s", owner).isEqualTo(expected);
            }
            Owner sample = pickOwnerQuietly();
            assertThat(sorted(store.allocationsOf(sample))).as("store allocationsOf %s", sample)
                    .isEqualTo(sorted(model.allocationsOf(sample)));
            if (Files.exists(IpamStore.logPath(dir, generation + 1))) {
                generation++;
                stats.compactions++;
            }
        }

        private int sampleIndex;

        Owner pickOwnerQuietly() { // does not consume the step random, so steps stay the same if checks change
            sampleIndex = (sampleIndex + 7) % OWNERS.size();
            return OWNERS.get(sampleIndex);
        }
    }

    static boolean isLive(Owner owner, List<String> live) {
        return live.contains(owner.containerId()) || live.contains(owner.toString());
    }

    // ------------------------------------------------------------------ the model

    /** One pool: usable offsets 1..size-2 (no reserved ranges), the round-robin cursor, the holders. */
    static final class PoolModel {
        final Cidr cidr;
        final long first = 1;
        final long last;
        final TreeMap<Long, Owner> held = new TreeMap<>();
        long cursor = -1;

        PoolModel(Cidr cidr) {
            this.cidr = cidr;
            this.last = (1L << (cidr.addressBits() - cidr.prefixLength())) - 2;
        }

        long capacity() {
            return last - first + 1;
        }

        Set<Long> freeOffsets() {
            Set<Long> free = new HashSet<>();
            for (long o = first; o <= last; o++) {
                if (!held.containsKey(o)) {
                    free.add(o);
                }
            }
            return free;
        }

        /** How many steps after the cursor the search reaches {@code offset} (1 = the next one). */
        long cyclicDistance(long from, long offset) {
            long start = from == -1 ? first - 1 : from;
            return Math.floorMod(offset - start - 1, capacity()) + 1;
        }

        long nextFree() {
            long start = cursor == -1 || cursor == last ? first : cursor + 1;
            for (long i = 0; i < capacity(); i++) {
                long o = first + Math.floorMod(start - first + i, capacity());
                if (!held.containsKey(o)) {
                    return o;
                }
            }
            return -1;
        }
    }

    static final class Model {
        final Map<Cidr, PoolModel> pools = new LinkedHashMap<>();

        PoolModel pool(Cidr cidr) {
            return pools.computeIfAbsent(cidr, PoolModel::new);
        }

        List<Allocation> allocationsOf(Owner owner) {
            List<Allocation> out = new ArrayList<>();
            for (PoolModel pm : pools.values()) {
                pm.held.forEach((o, who) -> {
                    if (who.equals(owner)) {
                        out.add(new Allocation(pm.cidr, pm.cidr.address(o), who));
                    }
                });
            }
            return out;
        }

        List<Owner> holders() {
            return pools.values().stream().flatMap(pm -> pm.held.values().stream()).distinct().sorted().toList();
        }

        long allocationCount() {
            return pools.values().stream().mapToLong(pm -> pm.held.size()).sum();
        }

        String allocate(Cidr cidr, Owner owner) {
            PoolModel pm = pool(cidr);
            for (Allocation a : allocationsOf(owner)) {
                if (a.pool().equals(cidr)) {
                    return ip(a.address());
                }
                if (a.pool().isIpv4() == cidr.isIpv4()) {
                    return "error 101";
                }
            }
            long o = pm.nextFree();
            if (o == -1) {
                return "error 100";
            }
            pm.held.put(o, owner);
            pm.cursor = o;
            return ip(cidr.address(o));
        }

        List<Allocation> release(java.util.function.Predicate<Owner> which) {
            List<Allocation> out = new ArrayList<>();
            for (PoolModel pm : pools.values()) {
                pm.held.entrySet().removeIf(e -> {
                    if (which.test(e.getValue())) {
                        out.add(new Allocation(pm.cidr, pm.cidr.address(e.getKey()), e.getValue()));
                        return true;
                    }
                    return false;
                });
            }
            return out;
        }

        Map<Cidr, Map<String, Owner>> snapshot() {
            Map<Cidr, Map<String, Owner>> out = new HashMap<>();
            pools.forEach((cidr, pm) -> {
                if (!pm.held.isEmpty()) {
                    Map<String, Owner> m = new TreeMap<>();
                    pm.held.forEach((o, who) -> m.put(ip(cidr.address(o)), who));
                    out.put(cidr, m);
                }
            });
            return out;
        }
    }

    // ------------------------------------------------------------------ helpers

    interface Call {
        String run();
    }

    /** The address, or "error CODE" for an IpamException. */
    static String outcome(Call call) {
        try {
            return call.run();
        } catch (IpamException e) {
            return "error " + e.cniCode();
        }
    }

    static String ip(Allocation a) {
        return ip(a.address());
    }

    static String ip(InetAddress address) {
        return Cidr.Addresses.format(address);
    }

    static List<Allocation> sorted(List<Allocation> list) {
        List<Allocation> copy = new ArrayList<>(list);
        copy.sort(Comparator.comparing((Allocation a) -> a.pool().toString()).thenComparing(a -> ip(a.address()))
                .thenComparing(Allocation::owner));
        return copy;
    }

    static Set<InetAddress> addresses(List<Allocation> list) {
        Set<InetAddress> out = new HashSet<>();
        list.forEach(a -> out.add(a.address()));
        return out;
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new AssertionError("cannot delete " + root, e);
        }
    }
}
