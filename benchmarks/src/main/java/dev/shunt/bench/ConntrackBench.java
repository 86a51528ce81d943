package dev.shunt.bench;

import dev.shunt.datapath.ConntrackDescriptor;
import dev.shunt.datapath.ConntrackTable;
import dev.shunt.datapath.ConntrackTimeouts;
import dev.shunt.datapath.TcpState;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

import java.lang.foreign.Arena;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static dev.shunt.datapath.ConntrackTable.IPPROTO_TCP;

/**
 * The per-packet cost of the conntrack table with {@code flows} live DNAT'ed TCP flows in a table
 * of twice that capacity (1k fits in L1/L2, 100k in L2/L3, 1M — 256 MiB of table — does not fit
 * any cache, so its figures are mostly DRAM misses):
 *
 * <ul>
 *   <li>{@code lookupHit}: the original-direction tuple of a random live flow;</li>
 *   <li>{@code lookupHitUpdate}: the same plus {@code update} (what a packet of a known flow costs);</li>
 *   <li>{@code lookupMiss}: a tuple no flow has (the first packet of a new connection);</li>
 *   <li>{@code insertRemove}: a new DNAT flow (two index keys) and its removal, the table staying at
 *       {@code flows} live.</li>
 * </ul>
 *
 * Flows are visited in a shuffled order (so entry accesses are random, like real traffic), with the
 * tuples precomputed in arrays. {@code now} stays constant: nothing expires. Run with
 * {@code -prof gc}: every benchmark should allocate 0 B/op.
 */
public class ConntrackBench extends BenchmarkDefaults {
    static final long NOW = 1_000_000_000_000L;
    static final int VIP_BASE = 0x0a600000; // 10.96.0.0
    static final int POD_BASE = 0x0af40000; // 10.244.0.0

    @Param({"1000", "100000", "1000000"})
    public int flows;

    Arena arena;
    ConntrackTable table;
    int[] src;
    int[] dst;
    int[] sport;
    int[] newSrc;
    int cursor;
    int newCursor;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        table = ConntrackTable.allocate(arena, 2 * flows, ConntrackTimeouts.kernelDefaults(TimeUnit.NANOSECONDS),
                0x5eedL);
        src = new int[flows];
        dst = new int[flows];
        sport = new int[flows];
        for (int k = 0; k < flows; k++) {
            int client = POD_BASE + (k >>> 4); // up to 65536 clients, 16 connections each
            int port = 40_000 + (k & 15);
            int vip = VIP_BASE + k % 1000; // 1000 Services
            int backend = POD_BASE + 0xff00 + k % 200;
            int h = table.insert(client, vip, port, 80, IPPROTO_TCP, backend, client, 8080, port,
                    ConntrackDescriptor.FLAG_DNAT, k % 1000, k % 200, NOW);
            if (h < 0) {
                throw new IllegalStateException("setup insert " + k + " returned " + h);
            }
            table.update(h, TcpState.TCP_SYN, ConntrackTable.ORIGINAL, 60, NOW);
            src[k] = client;
            dst[k] = vip;
            sport[k] = port;
        }
        Random random = new Random(42);
        for (int k = flows - 1; k > 0; k--) { // Fisher-Yates, the three arrays together
            int j = random.nextInt(k + 1);
            swap(src, k, j);
            swap(dst, k, j);
            swap(sport, k, j);
        }
        newSrc = new int[1 << 16];
        for (int i = 0; i < newSrc.length; i++) {
            newSrc[i] = 0x0af50000 + i; // 10.245.0.0/16: never in the table
        }
    }

    private static void swap(int[] a, int i, int j) {
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (table.live() != flows) {
            throw new IllegalStateException("live " + table.live() + " after the trial, expected " + flows);
        }
        table = null;
        arena.close();
    }

    private int next() {
        int i = cursor;
        cursor = i + 1 == flows ? 0 : i + 1;
        return i;
    }

    @Benchmark
    public int lookupHit() {
        int i = next();
        return table.lookup(src[i], dst[i], sport[i], 80, IPPROTO_TCP, NOW);
    }

    @Benchmark
    public int lookupHitUpdate() {
        int i = next();
        int h = table.lookup(src[i], dst[i], sport[i], 80, IPPROTO_TCP, NOW);
        return table.update(h, TcpState.TCP_ACK, ConntrackTable.direction(h), 1500, NOW);
    }

    @Benchmark
    public int lookupMiss() {
        int i = next();
        return table.lookup(src[i], dst[i], sport[i], 81, IPPROTO_TCP, NOW);
    }

    @Benchmark
    public boolean insertRemove() {
        int i = next();
        int client = newSrc[newCursor++ & 0xffff];
        int h = table.insert(client, dst[i], sport[i], 80, IPPROTO_TCP, POD_BASE + 0xff00, client, 8080, sport[i],
                ConntrackDescriptor.FLAG_DNAT, 1, 1, NOW);
        return table.remove(h);
    }
}
