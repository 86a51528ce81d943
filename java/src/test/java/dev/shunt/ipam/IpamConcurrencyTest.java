package dev.shunt.ipam;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Several processes, and several {@link IpamStore} instances inside one JVM, on one store at the
 * same time: the fcntl lock and the re-read of what others appended must keep every acknowledged
 * allocation and never hand out an address twice.
 */
class IpamConcurrencyTest {
    static final int CHILDREN = 4;
    static final int OWNERS_PER_CHILD = 200;
    /** Small, so that processes also compact under each other's feet. */
    static final int COMPACT_AFTER = 64;

    @TempDir
    Path tmp;

    @Test
    void fourProcessesAllocatingAtOnceNeverCollide() throws Exception {
        Path store = Files.createDirectories(tmp.resolve("store"));
        long start = System.nanoTime();
        List<ChildJvm> children = new ArrayList<>();
        Ledger ledger = new Ledger();
        try {
            for (int c = 0; c < CHILDREN; c++) {
                children.add(new ChildJvm(ChildJvm.command(store.toString(), String.valueOf(COMPACT_AFTER), "p" + c,
                        String.valueOf(OWNERS_PER_CHILD), String.valueOf(1000 + c)), tmp.resolve("child-" + c + ".err")));
            }
            for (int c = 0; c < CHILDREN; c++) {
                ChildJvm child = children.get(c);
                assertThat(child.awaitExit(150_000)).as("child %d exits within 150 s", c).isTrue();
                assertThat(child.process.exitValue()).as("child %d exit code; stderr:%n%s", c, child.stderr()).isZero();
                List<String> lines = child.lines();
                assertThat(lines).as("child %d output", c).last().isEqualTo("DONE");
                assertThat(lines.stream().filter(l -> l.startsWith("ACK ") && l.contains(IpamCrashChild.V4.toString())))
                        .hasSize(OWNERS_PER_CHILD);
                ledger.apply(lines, "p" + c, false);
            }
        } finally {
            children.forEach(ChildJvm::close);
        }
        IpamStore.CheckReport report = IpamStore.check(store);
        assertThat(report.problems()).isEmpty();
        try (IpamStore s = IpamStore.open(store)) {
            assertThat(ledger.verify(s.usage())).isEmpty();
            assertThat(report.allocations()).isEqualTo(ledger.outstanding());
        }
        System.out.printf("IpamConcurrencyTest: %d processes x %d owners: acked=%d released=%d outstanding=%d, %d ms%n",
                CHILDREN, OWNERS_PER_CHILD, ledger.acks, ledger.releases, ledger.outstanding(),
                (System.nanoTime() - start) / 1_000_000);
    }

    @Test
    void twoInstancesInOneJvmInterleaveCorrectly() throws Exception {
        Path dir = tmp.resolve("store");
        int perThread = 300;
        List<Allocation> acked = new ArrayList<>();
        Set<Owner> released = new HashSet<>();
        try (IpamStore a = IpamStore.open(dir, 20); IpamStore b = IpamStore.open(dir, 20)) {
            List<Thread> threads = new ArrayList<>();
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            List<List<Allocation>> ackedBy = List.of(new ArrayList<>(), new ArrayList<>());
            List<Set<Owner>> releasedBy = List.of(new HashSet<>(), new HashSet<>());
            CountDownLatch go = new CountDownLatch(1);
            for (int t = 0; t < 2; t++) {
                IpamStore store = t == 0 ? a : b;
                int id = t;
                threads.add(Thread.ofPlatform().name("instance-" + t).start(() -> {
                    try {
                        go.await();
                        Random random = new Random(id);
                        List<Owner> mine = new ArrayList<>();
                        for (int i = 0; i < perThread; i++) {
                            Owner owner = new Owner("t" + id + "-" + i, "eth0");
                            ackedBy.get(id).add(store.allocate(IpamCrashChild.V4, owner));
                            if (i % 4 == 0) {
                                ackedBy.get(id).add(store.allocate(IpamCrashChild.V6, owner));
                            }
                            mine.add(owner);
                            if (random.nextInt(5) == 0) {
                                Owner victim = mine.remove(random.nextInt(mine.size()));
                                assertThat(store.release(victim)).isNotEmpty();
                                releasedBy.get(id).add(victim);
                            }
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            go.countDown();
            for (Thread t : threads) {
                t.join(120_000);
                assertThat(t.isAlive()).as("%s finished", t.getName()).isFalse();
            }
            assertThat(failures).isEmpty();
            ackedBy.forEach(acked::addAll);
            releasedBy.forEach(released::addAll);
            // Each instance sees the other's work.
            for (Allocation x : acked) {
                List<Allocation> expected = released.contains(x.owner()) ? List.of() : List.of(x);
                assertThat(a.allocationsOf(x.owner()).stream().filter(y -> y.pool().equals(x.pool())).toList()).isEqualTo(expected);
                assertThat(b.allocationsOf(x.owner()).stream().filter(y -> y.pool().equals(x.pool())).toList()).isEqualTo(expected);
            }
        }
        assertNoDuplicatesAndExactly(dir, acked, released);
    }

    /**
     * fcntl locks belong to the process, and closing any descriptor of the lock file drops all of
     * them: an instance closed while another instance of the same JVM is inside an operation must
     * not let another process in. Here one thread allocates through a long-lived instance, another
     * opens and closes short-lived instances (as a CLI or a status endpoint in the agent might), and
     * a child process allocates at the same time.
     */
    @Test
    void closingOneInstanceDoesNotDropTheLockAnotherInstanceHolds() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("store"));
        List<Allocation> acked = new ArrayList<>();
        Ledger ledger = new Ledger();
        AtomicBoolean stop = new AtomicBoolean();
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        int churned;
        // compactAfter 1: every change compacts, so every operation holds the lock for several fsyncs.
        try (IpamStore longLived = IpamStore.open(dir, 1);
             ChildJvm child = new ChildJvm(ChildJvm.command(dir.toString(), "1", "proc",
                     String.valueOf(OWNERS_PER_CHILD), "7"), tmp.resolve("child.err"))) {
            int[] opens = {0};
            Thread churn = Thread.ofPlatform().name("open-close").start(() -> {
                try {
                    while (!stop.get()) {
                        try (IpamStore shortLived = IpamStore.open(dir)) {
                            shortLived.usage();
                        }
                        opens[0]++;
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            });
            try {
                for (int i = 0; i < 400 && child.process.isAlive(); i++) {
                    acked.add(longLived.allocate(IpamCrashChild.V4, Owner.of("jvm-" + i)));
                }
            } finally {
                stop.set(true);
                churn.join(30_000);
            }
            assertThat(child.awaitExit(120_000)).as("child exits").isTrue();
            assertThat(child.process.exitValue()).as("child exit code; stderr:%n%s", child.stderr()).isZero();
            ledger.apply(child.lines(), "proc", false);
            churned = opens[0];
        }
        assertThat(failures).isEmpty();
        IpamStore.CheckReport report = IpamStore.check(dir);
        assertThat(report.problems()).as("check").isEmpty();
        try (IpamStore s = IpamStore.open(dir)) {
            List<String> problems = new ArrayList<>();
            List<IpamStore.PoolUsage> usage = s.usage();
            Set<String> held = new HashSet<>();
            usage.forEach(u -> u.allocations().forEach(x -> held.add(x.owner().containerId() + " " + x.pool() + " "
                    + Cidr.Addresses.format(x.address()))));
            for (Allocation x : acked) {
                if (!held.contains(x.owner().containerId() + " " + x.pool() + " " + Cidr.Addresses.format(x.address()))) {
                    problems.add("lost in-JVM acknowledged " + x);
                }
            }
            // The ledger only knows the child's owners: hand it the JVM's as acknowledged too.
            acked.forEach(x -> ledger.mustHold.computeIfAbsent(x.owner().containerId(), k -> new java.util.HashMap<>())
                    .put(x.pool(), Cidr.Addresses.format(x.address())));
            problems.addAll(ledger.verify(usage));
            assertThat(problems).as("after %d in-JVM allocations, %d open/close cycles and a child's %d acks",
                    acked.size(), churned, ledger.acks).isEmpty();
        }
        System.out.printf("IpamConcurrencyTest (close while another instance holds the lock): in-JVM=%d child acks=%d"
                + " open/close cycles=%d%n", acked.size(), ledger.acks, churned);
    }

    static void assertNoDuplicatesAndExactly(Path dir, List<Allocation> acked, Set<Owner> released) {
        IpamStore.CheckReport report = IpamStore.check(dir);
        assertThat(report.problems()).isEmpty();
        try (IpamStore s = IpamStore.open(dir)) {
            List<Allocation> all = new ArrayList<>();
            s.usage().forEach(u -> all.addAll(u.allocations()));
            Set<String> addresses = new HashSet<>();
            for (Allocation x : all) {
                assertThat(addresses.add(x.pool() + " " + Cidr.Addresses.format(x.address()))).as("%s held twice", x).isTrue();
            }
            List<Allocation> expected = acked.stream().filter(x -> !released.contains(x.owner())).toList();
            assertThat(all).containsExactlyInAnyOrderElementsOf(expected);
            assertThat(report.allocations()).isEqualTo(expected.size());
        }
    }
}
