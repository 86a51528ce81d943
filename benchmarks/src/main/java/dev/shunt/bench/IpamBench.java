package dev.shunt.bench;

import dev.shunt.ipam.Allocation;
import dev.shunt.ipam.Cidr;
import dev.shunt.ipam.InMemoryIpam;
import dev.shunt.ipam.IpamStore;
import dev.shunt.ipam.Owner;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One pod's IPAM round trip, CNI ADD then DEL: {@code allocate} + {@code release} of one owner per
 * operation, on an IPv4 /16 pool that already holds {@value #HELD} other pods (a busy node).
 *
 * <ul>
 *   <li>{@code inMemory}: {@link InMemoryIpam}, the policy alone (bitmap search, maps).</li>
 *   <li>{@code store} with {@code dir=disk}: {@link IpamStore} in a temporary directory under
 *       {@code /var/tmp} (the machine's disk); every change is appended and fdatasynced, so this is
 *       mostly the disk's flush latency.</li>
 *   <li>{@code store} with {@code dir=shm}: the same on {@code /dev/shm} (tmpfs), where a sync is
 *       nearly free: what the store costs besides the disk (lock, stat, write, CRC, compaction).</li>
 * </ul>
 *
 * <p>The {@code fsyncs} secondary result counts {@link IpamStore#fsyncCount()} over each iteration;
 * divided by the operations of the iteration it gives the syncs per allocate+release, which the
 * trial also prints: 2 (one per change) plus the amortised compaction (4 syncs per 4096 records).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class IpamBench extends BenchmarkDefaults {
    static final Cidr POOL = Cidr.parse("10.64.0.0/16");
    static final int HELD = 100;
    static final Owner POD = Owner.of("bench-pod");

    @Benchmark
    public Allocation inMemory(Memory m) {
        Allocation a = m.ipam.allocate(POOL, POD);
        m.ipam.release(POD);
        return a;
    }

    @Benchmark
    public Allocation store(Store s, Syncs syncs) {
        long before = s.store.fsyncCount();
        Allocation a = s.store.allocate(POOL, POD);
        s.store.release(POD);
        syncs.fsyncs += s.store.fsyncCount() - before;
        s.ops++;
        return a;
    }

    @State(Scope.Thread)
    public static class Memory {
        InMemoryIpam ipam;

        @Setup(Level.Trial)
        public void setUp() {
            ipam = new InMemoryIpam();
            for (int i = 0; i < HELD; i++) {
                ipam.allocate(POOL, Owner.of("held-" + i));
            }
        }
    }

    @State(Scope.Thread)
    public static class Store {
        @Param({"disk", "shm"})
        public String dir;

        Path directory;
        IpamStore store;
        long ops;
        long fsyncsAtStart;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            Path parent = Path.of(dir.equals("shm") ? "/dev/shm" : "/var/tmp");
            directory = Files.createTempDirectory(parent, "shunt-bench-ipam-");
            store = IpamStore.open(directory);
            for (int i = 0; i < HELD; i++) {
                store.allocate(POOL, Owner.of("held-" + i));
            }
            fsyncsAtStart = store.fsyncCount();
            System.out.println();
            System.out.println("IpamBench store dir=" + dir + ": " + directory + " on " + Files.getFileStore(directory).type()
                    + " (" + Files.getFileStore(directory).name() + ")");
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            try {
                if (store != null) {
                    long syncs = store.fsyncCount() - fsyncsAtStart;
                    System.out.printf("%nIpamBench store dir=%s: %d allocate+release, %d fsyncs: %.4f fsyncs per allocate+release%n",
                            dir, ops, syncs, ops == 0 ? 0.0 : (double) syncs / ops);
                    store.close();
                }
            } finally {
                deleteTree(directory);
            }
        }
    }

    /** fdatasync/fsync calls per iteration (IpamStore.fsyncCount()). */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Syncs {
        public long fsyncs;

        @Setup(Level.Iteration)
        public void reset() {
            fsyncs = 0;
        }
    }

    static void deleteTree(Path root) {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            List<Path> paths = walk.sorted(Comparator.reverseOrder()).toList();
            for (Path p : paths) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + root, e);
        }
    }
}
