package dev.shunt.ipam;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code kill -9} at random moments: a child JVM ({@link IpamCrashChild}) allocates and releases
 * on one store and is killed with SIGKILL 0-150 ms after its first acknowledgement, over and over
 * on the same store. After every kill the store must hold every acknowledged allocation, no address
 * twice, and pass {@link IpamStore#check}.
 */
class IpamCrashTest {
    static final int KILLS = Integer.getInteger("ipam.crash.kills", 220);
    static final long BUDGET_MILLIS = Long.getLong("ipam.crash.budgetMillis", 170_000);
    /** Small, so that kills also land in compactions (every 50 records, a few per child). */
    static final int CHILD_COMPACT_AFTER = 50;

    @TempDir
    Path tmp;

    @Test
    void killedAtRandomMomentsTheStoreKeepsEveryAcknowledgedAllocation() throws Exception {
        long seed = Long.getLong("ipam.crash.seed", System.nanoTime());
        Random random = new Random(seed);
        Path store = Files.createDirectories(tmp.resolve("store"));
        System.out.println("IpamCrashTest: seed=" + seed + " (rerun: -Dipam.crash.seed=" + seed + "); store on "
                + Files.getFileStore(store) + "; java.class.path under this runner = " + System.getProperty("java.class.path"));

        Ledger ledger = new Ledger();
        long start = System.nanoTime();
        long deadline = start + BUDGET_MILLIS * 1_000_000;
        int kills = 0;
        int finishedBeforeKill = 0;
        int tornSeen = 0;
        int headerlessLogs = 0;
        int tornInjected = 0;
        int olderGenerationsSeen = 0;
        int stateTmpSeen = 0;
        int partialStdoutLines = 0;
        long childStartMillis = 0;
        long generation = 0;
        long compactions = 0;
        String lastStateTmp = "";
        List<String> lines = List.of();
        for (int i = 0; i < KILLS && System.nanoTime() < deadline; i++) {
            String prefix = "k" + i;
            long childSeed = random.nextLong();
            int delay = random.nextInt(151);
            try (ChildJvm child = new ChildJvm(ChildJvm.command(store.toString(), String.valueOf(CHILD_COMPACT_AFTER),
                    prefix, "100000", String.valueOf(childSeed)), tmp.resolve("child.err"))) {
                String first = child.awaitFirstLine(30_000);
                if (first == null) {
                    child.kill();
                    throw new AssertionError("child " + i + " printed nothing (seed " + seed + "); stderr:\n" + child.stderr());
                }
                childStartMillis += (System.nanoTime() - child.startNanos) / 1_000_000;
                Thread.sleep(delay);
                child.kill();
                lines = child.lines();
                if (lines.contains("DONE")) {
                    finishedBeforeKill++;
                }
                if (child.partialBytes() > 0) {
                    partialStdoutLines++;
                }
                kills++;
                ledger.apply(lines, prefix, true);
                if (!child.stderr().isBlank()) {
                    throw new AssertionError("child " + i + " wrote to stderr (seed " + seed + "):\n" + child.stderr());
                }
            }

            // What the kill left, before anything repairs it (kept for a post-mortem if the checks fail).
            Path snapshot = tmp.resolve("snapshot");
            deleteTree(snapshot);
            copyTree(store, snapshot);
            IpamStore.CheckReport report = IpamStore.check(store);
            assertThat(report.problems()).as("check after kill %d (seed %d)", i, seed).isEmpty();
            for (String note : report.notes()) {
                if (note.contains("unfinished record")) {
                    tornSeen++;
                } else if (note.contains("unfinished header")) {
                    headerlessLogs++;
                } else if (note.contains("older generation")) {
                    olderGenerationsSeen++;
                }
            }
            Path stateTmp = store.resolve("state.tmp");
            if (Files.exists(stateTmp)) {
                // Left by a kill during a state write (the next compaction overwrites it): count each one once.
                String key = Files.getLastModifiedTime(stateTmp) + "/" + Files.size(stateTmp);
                if (!key.equals(lastStateTmp)) {
                    stateTmpSeen++;
                    lastStateTmp = key;
                }
            }
            long gen = currentGeneration(store);
            compactions += gen - generation;
            generation = gen;

            try (IpamStore s = IpamStore.open(store)) {
                List<String> problems = ledger.verify(s.usage());
                if (!problems.isEmpty()) {
                    Path kept = Path.of(System.getProperty("java.io.tmpdir"), "ipam-crash-failure-" + seed + "-" + i);
                    copyTree(snapshot, kept.resolve("store-as-the-kill-left-it"));
                    Files.write(kept.resolve("child-stdout"), lines);
                    problems = new ArrayList<>(problems);
                    problems.add("store as the kill left it and the child's output kept in " + kept);
                }
                assertThat(problems).as("after kill %d (seed %d, delay %d ms)", i, seed, delay).isEmpty();
            }
            assertThat(IpamStore.check(store).problems()).as("check after reopening, kill %d", i).isEmpty();

            // Now and then, a torn write that a power cut could leave (SIGKILL cannot tear a small write):
            // part of a record that was never acknowledged. The next child must drop it.
            if (random.nextInt(8) == 0) {
                injectTornTail(store, random);
                tornInjected++;
            }
        }
        long elapsed = (System.nanoTime() - start) / 1_000_000;

        // A last child on the (possibly torn) store, run to completion, then the final checks.
        try (ChildJvm child = new ChildJvm(ChildJvm.command(store.toString(), String.valueOf(CHILD_COMPACT_AFTER),
                "final", "60", String.valueOf(seed)), tmp.resolve("child.err"))) {
            assertThat(child.awaitExit(60_000)).as("final child exits").isTrue();
            assertThat(child.process.exitValue()).as("final child exit code; stderr: %s", child.stderr()).isZero();
            ledger.apply(child.lines(), "final", false);
        }
        IpamStore.CheckReport end = IpamStore.check(store);
        assertThat(end.problems()).isEmpty();
        try (IpamStore s = IpamStore.open(store)) {
            assertThat(ledger.verify(s.usage())).isEmpty();
            assertThat(end.allocations()).isEqualTo(ledger.outstanding());
        }

        System.out.printf("IpamCrashTest summary: kills=%d acked=%d released=%d outstanding=%d torn-tails-seen=%d"
                        + " torn-tails-injected=%d logs-with-cut-header=%d compactions=%d kills-mid-compaction(older log left)=%d"
                        + " kills-mid-state-write(state.tmp left)=%d unacked-but-durable=%d will-rel-that-happened=%d"
                        + " cut-stdout-lines=%d children-finished-before-kill=%d avg-child-start-to-first-ack=%d ms"
                        + " elapsed=%d ms seed=%d%n",
                kills, ledger.acks, ledger.releases, ledger.outstanding(), tornSeen, tornInjected, headerlessLogs, compactions,
                olderGenerationsSeen, stateTmpSeen, ledger.adoptedUnacked, ledger.maybeReleasedThatHappened,
                partialStdoutLines, finishedBeforeKill, kills == 0 ? 0 : childStartMillis / kills, elapsed, seed);
        assertThat(kills).as("kills within the time budget of %d ms", BUDGET_MILLIS).isGreaterThanOrEqualTo(Math.min(KILLS, 200));
        assertThat(finishedBeforeKill).as("children must be killed, not finish").isZero();
    }

    /**
     * Every state a crash inside a compaction can leave, built step by step from the files a
     * compaction writes: the store must open with every allocation and the same cursor.
     */
    @Test
    void everyCrashPointOfACompactionRecovers() throws IOException {
        Path before = tmp.resolve("before"); // every record in log.0, no compaction
        Path after = tmp.resolve("after"); // the same, compacted into state gen=1 + log.1 by the last record
        List<Allocation> held = fill(before, 1000);
        int records = Files.readAllLines(before.resolve("log.0")).size() - 1;
        assertThat(fill(after, records)).isEqualTo(held);
        assertThat(after.resolve("state")).exists();
        assertThat(after.resolve("log.0")).doesNotExist();
        assertThat(Files.readAllLines(after.resolve("log.1"))).hasSize(1); // the header only
        byte[] state = Files.readAllBytes(after.resolve("state"));
        byte[] log1 = Files.readAllBytes(after.resolve("log.1"));
        String nextAfterCompaction = nextAddress(copy(after, "probe"));

        List<String> failures = new ArrayList<>();
        int point = 0;
        for (int cut : new int[] {0, 1, state.length / 2, state.length - 1, state.length}) {
            Path d = copy(before, "tmp-" + cut);
            Files.write(d.resolve("state.tmp"), Arrays.copyOf(state, cut));
            failures.addAll(expectRecovers("state.tmp with " + cut + " of " + state.length + " bytes", d, held, nextAfterCompaction));
            point++;
        }
        Path renamed = copy(before, "renamed");
        Files.write(renamed.resolve("state"), state);
        failures.addAll(expectRecovers("state renamed, log.1 not created yet", renamed, held, nextAfterCompaction));
        for (int cut : new int[] {0, 1, log1.length - 2, log1.length - 1, log1.length}) {
            Path d = copy(renamed, "log1-" + cut);
            Files.write(d.resolve("log.1"), Arrays.copyOf(log1, cut));
            failures.addAll(expectRecovers("log.1 created with " + cut + " of " + log1.length + " header bytes, log.0 still there",
                    d, held, nextAfterCompaction));
            point++;
        }
        failures.addAll(expectRecovers("compaction complete", copy(after, "done"), held, nextAfterCompaction));

        // The same for the very first open of a new store: log.0 created, its header not written yet.
        for (int cut : new int[] {0, 5}) {
            Path fresh = Files.createDirectories(tmp.resolve("fresh-" + cut));
            Files.write(fresh.resolve("lock"), new byte[0]);
            Files.write(fresh.resolve("log.0"), Arrays.copyOf(StoreRecord.line(new StoreRecord.Header(StoreRecord.LOG_MAGIC, 0)), cut));
            failures.addAll(expectRecovers("new store, log.0 with " + cut + " header bytes", fresh, List.of(), "10.96.0.1"));
        }
        assertThat(failures).as("crash points that do not recover (of %d)", point + 3).isEmpty();
    }

    static List<Allocation> fill(Path dir, int compactAfter) {
        List<Allocation> out = new ArrayList<>();
        try (IpamStore s = IpamStore.open(dir, compactAfter)) {
            for (int i = 0; i < 12; i++) {
                out.add(s.allocate(IpamCrashChild.V4, Owner.of("p" + i)));
            }
            s.release(Owner.of("p3"));
            s.release(Owner.of("p7"));
        }
        out.remove(7);
        out.remove(3);
        return out;
    }

    static String nextAddress(Path dir) {
        try (IpamStore s = IpamStore.open(dir)) {
            return Cidr.Addresses.format(s.allocate(IpamCrashChild.V4, Owner.of("next")).address());
        }
    }

    static List<String> expectRecovers(String what, Path dir, List<Allocation> held, String next) {
        List<String> failures = new ArrayList<>();
        try {
            IpamStore.CheckReport report = IpamStore.check(dir);
            if (!report.ok()) {
                failures.add(what + ": check reports " + report.problems());
            }
            try (IpamStore s = IpamStore.open(dir)) {
                List<Allocation> now = new ArrayList<>();
                s.usage().forEach(u -> now.addAll(u.allocations()));
                if (!new java.util.HashSet<>(now).equals(new java.util.HashSet<>(held))) {
                    failures.add(what + ": holds " + now + ", expected " + held);
                }
                String got = Cidr.Addresses.format(s.allocate(IpamCrashChild.V4, Owner.of("next")).address());
                if (!got.equals(next)) {
                    failures.add(what + ": next address " + got + ", expected " + next);
                }
            }
            if (!IpamStore.check(dir).ok()) {
                failures.add(what + ": check after reopening reports " + IpamStore.check(dir).problems());
            }
        } catch (RuntimeException e) {
            failures.add(what + ": " + e);
        }
        return failures;
    }

    private Path copy(Path from, String name) throws IOException {
        Path to = tmp.resolve(name);
        copyTree(from, to);
        return to;
    }

    static void copyTree(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList()) {
                Files.copy(f, to.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }

    static long currentGeneration(Path store) throws IOException {
        try (Stream<Path> files = Files.list(store)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("log."))
                    .mapToLong(n -> Long.parseLong(n.substring(4))).max().orElse(0);
        }
    }

    /** Appends a prefix (without its newline) of a record for an owner no child ever uses. */
    static void injectTornTail(Path store, Random random) throws IOException {
        Path log = IpamStore.logPath(store, currentGeneration(store));
        Allocation ghost = new Allocation(IpamCrashChild.V4, IpamCrashChild.V4.address(60_000 + random.nextInt(5000)),
                Owner.of("ghost" + random.nextInt(100)));
        byte[] line = StoreRecord.line(new StoreRecord.Alloc(ghost));
        Files.write(log, Arrays.copyOf(line, 1 + random.nextInt(line.length - 1)), StandardOpenOption.APPEND);
    }
}
