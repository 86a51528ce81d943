package dev.shunt.bench;

import java.io.File;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@link PipelineCpuTime} for an A/B of builds in ONE process: each build (a directory holding
 * {@code benchmarks.jar} and {@code lib/}, copied from {@code benchmarks/target}) is loaded by
 * its own class loader, and short chunks of {@link PipelineBench#packet} calls alternate between
 * the builds, timed by the thread's CPU time. Whatever else runs on the machine then falls on
 * every build alike, and the ratio of paired chunks (same moment, different build) cancels
 * most of it: on the shared 2-core machine separate runs of one jar vary by 10-30 % while a build
 * against itself here gives a median ratio within 1 %. The first build is the reference.
 *
 * <p>What it cannot cancel: the JIT's decisions (what is inlined where) differ between JVM launches,
 * by up to ~10 % here, so run it several times ({@code -Drot=N} rotates the order in which builds
 * are loaded and warmed up) and compare the ratios of all launches.
 *
 * <p>Usage: {@code java --enable-native-access=ALL-UNNAMED -Drot=1 -cp benchmarks/target/benchmarks.jar
 * dev.shunt.bench.PipelineCpuTimeAb 1:established 200 3000 /tmp/before /tmp/after}: per build
 * ~5.6 s of warm-up in 8 turns, then 200 rounds of one chunk of 3000 calls (96,000 packets)
 * per build, in an order that rotates every round. Prints min, p10, p25 and median ns/packet
 * per build and the p25 / median / p75 of its per-round ratio to the first build.
 */
public final class PipelineCpuTimeAb {
    private PipelineCpuTimeAb() {}

    public static void main(String[] args) throws Throwable {
        if (args.length < 4) {
            System.err.println("usage: PipelineCpuTimeAb SERVICES:TRAFFIC ROUNDS CALLS BUILD_DIR...");
            System.exit(2);
        }
        String[] combo = args[0].split(":");
        int rounds = Integer.parseInt(args[1]);
        int calls = Integer.parseInt(args[2]);
        int n = args.length - 3;
        int rot = Integer.getInteger("rot", 0);
        Object[] benches = new Object[n];
        MethodHandle[] packet = new MethodHandle[n];
        for (int k = 0; k < n; k++) {
            int v = (k + rot) % n;
            Class<?> c = Class.forName(PipelineBench.class.getName(), true, loader(new File(args[3 + v])));
            Object b = c.getConstructor().newInstance();
            c.getField("services").setInt(b, Integer.parseInt(combo[0]));
            c.getField("traffic").set(b, combo[1]);
            c.getMethod("setUp").invoke(b);
            benches[v] = b;
            packet[v] = MethodHandles.publicLookup().findVirtual(c, "packet", MethodType.methodType(int.class))
                    .asType(MethodType.methodType(int.class, Object.class));
        }
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long sink = 0;
        for (int turn = 0; turn < 8; turn++) {
            for (int k = 0; k < n; k++) {
                int v = (k + rot) % n;
                long end = System.nanoTime() + 700_000_000L;
                while (System.nanoTime() < end) {
                    for (int i = 0; i < 1000; i++) {
                        sink += (int) packet[v].invokeExact(benches[v]);
                    }
                }
            }
        }
        double[][] ns = new double[n][rounds];
        for (int r = 0; r < rounds; r++) {
            for (int k = 0; k < n; k++) {
                int v = (r + k) % n;
                MethodHandle h = packet[v];
                Object b = benches[v];
                long t0 = mx.getCurrentThreadCpuTime();
                for (int i = 0; i < calls; i++) {
                    sink += (int) h.invokeExact(b);
                }
                ns[v][r] = (mx.getCurrentThreadCpuTime() - t0) / (double) calls / PipelineBench.BATCH;
            }
        }
        for (int v = 0; v < n; v++) {
            double[] ratio = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                ratio[r] = ns[v][r] / ns[0][r];
            }
            Arrays.sort(ratio);
            double[] s = ns[v].clone();
            Arrays.sort(s);
            System.out.printf("%-24s %s: cpu ns/packet min %.1f p10 %.1f p25 %.1f median %.1f | ratio to %s: p25 %.3f median %.3f p75 %.3f%n",
                    args[3 + v], args[0], s[0], s[rounds / 10], s[rounds / 4], s[rounds / 2], args[3],
                    ratio[rounds / 4], ratio[rounds / 2], ratio[3 * rounds / 4]);
        }
        System.out.println("(" + (sink & 1) + ")");
    }

    private static ClassLoader loader(File build) throws MalformedURLException {
        List<URL> urls = new ArrayList<>();
        urls.add(new File(build, "benchmarks.jar").toURI().toURL());
        File[] libs = new File(build, "lib").listFiles();
        if (libs == null) {
            throw new IllegalArgumentException(build + " has no lib/ (copy benchmarks/target/benchmarks.jar and lib/ there)");
        }
        for (File f : libs) {
            urls.add(f.toURI().toURL());
        }
        return new URLClassLoader(urls.toArray(new URL[0]), ClassLoader.getPlatformClassLoader());
    }
}
