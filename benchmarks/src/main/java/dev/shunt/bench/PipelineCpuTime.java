package dev.shunt.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;

/**
 * {@link PipelineBench#packet} timed by the thread's CPU time instead of the wall clock: on a
 * shared 2-core machine other processes stretch JMH's wall-clock scores by 1.5-3x, while CPU time
 * only grows by what they do to the caches. For A/B comparisons while others build; JMH stays the
 * reference for published figures.
 *
 * <p>Usage: {@code java --enable-native-access=ALL-UNNAMED -cp 'benchmarks/target/benchmarks.jar:benchmarks/target/lib/*'
 * dev.shunt.bench.PipelineCpuTime 1:established 100000:newflow ...}. Per combination: 4 s of
 * warm-up, then 60 chunks of 20,000 calls (640,000 packets); prints min, p25 and median ns/packet.
 */
public final class PipelineCpuTime {
    private PipelineCpuTime() {}

    public static void main(String[] args) {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        for (String combo : args) {
            String[] p = combo.split(":");
            PipelineBench b = new PipelineBench();
            b.services = Integer.parseInt(p[0]);
            b.traffic = p[1];
            b.setUp();
            long sink = 0;
            long end = System.nanoTime() + 4_000_000_000L;
            while (System.nanoTime() < end) {
                for (int i = 0; i < 1000; i++) {
                    sink += b.packet();
                }
            }
            int chunks = 60;
            int calls = 20_000;
            double[] ns = new double[chunks];
            for (int c = 0; c < chunks; c++) {
                long t0 = mx.getCurrentThreadCpuTime();
                for (int i = 0; i < calls; i++) {
                    sink += b.packet();
                }
                ns[c] = (mx.getCurrentThreadCpuTime() - t0) / (double) calls / PipelineBench.BATCH;
            }
            b.check();
            Arrays.sort(ns);
            System.out.printf("%s: cpu ns/packet min %.1f p25 %.1f median %.1f (%d)%n",
                    combo, ns[0], ns[chunks / 4], ns[chunks / 2], sink & 1);
        }
    }
}
