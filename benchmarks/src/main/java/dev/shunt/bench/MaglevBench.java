package dev.shunt.bench;

import dev.shunt.service.Hashing;
import dev.shunt.service.MaglevTable;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Maglev table build time per Service port (what one endpoint change costs the control plane)
 * and lookup time per new flow (what it costs the fast path). Table sizes follow
 * {@link MaglevTable#sizeFor}: 251 entries for 10 backends is too few, so 10 → 1021, 100 → 16381,
 * 1000 → 131071.
 */
public class MaglevBench extends BenchmarkDefaults {
    @Param({"10", "100", "1000"})
    public int backends;

    private List<String> keys;
    private MaglevTable table;
    private long flow;

    @Setup
    public void setUp() {
        keys = new ArrayList<>(backends);
        for (int i = 0; i < backends; i++) {
            keys.add("10.244." + (i / 250) + "." + (i % 250 + 1) + ":8080");
        }
        table = MaglevTable.build(keys);
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public MaglevTable build() {
        return MaglevTable.build(keys);
    }

    @Benchmark
    public int lookup() {
        flow++;
        return table.lookup(Hashing.flow((int) flow, 0x0a600001, (int) (flow & 0xffff), 80, 6, 0x5eed));
    }
}
