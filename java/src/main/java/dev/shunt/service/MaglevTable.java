package dev.shunt.service;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016, section 3.4): a lookup table of prime
 * size M in which every backend owns about M/N entries, so that a flow's hash picks a backend in
 * O(1), and adding or removing one backend moves close to the minimal 1/N of the entries.
 *
 * <p>Table size rule: the smallest prime in {@link #SIZES} that is at least 100 × the number of
 * backends (the paper and Katran keep M well above 100·N so the largest and smallest shares differ
 * by about 1 %), at least 251. Entries are {@code short}s (backend indexes, at most 32767
 * backends), so a Service port with 2 backends costs 251 × 2 B = 502 B, with 100 backends
 * 16381 × 2 B = 32 KiB, with 1000 backends 131071 × 2 B = 256 KiB. A Service port with no backend
 * has an empty table and {@link #lookup} returns -1.
 *
 * <p>Weights: a backend of weight w takes w turns per round of the population loop, so its share
 * is proportional to w (weight 0 takes no entries). Immutable once built.
 */
public final class MaglevTable {
    /** Primes, each roughly double the last, the largest under 2^17. */
    static final int[] SIZES = {251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071};
    static final int MAX_BACKENDS = Short.MAX_VALUE;
    private static final long SEED_OFFSET = 0x6d61676c65760001L; // "maglev" + 1
    private static final long SEED_SKIP = 0x6d61676c65760002L;

    private static final MaglevTable NONE = build(List.of(), new int[0], SIZES[0]);

    private final short[] entries;
    private final int backends;

    private MaglevTable(short[] entries, int backends) {
        this.entries = entries;
        this.backends = backends;
    }

    /** The table size the rule picks for {@code backends} backends. */
    public static int sizeFor(int backends) {
        long wanted = Math.max(251L, 100L * backends);
        for (int size : SIZES) {
            if (size >= wanted) {
                return size;
            }
        }
        return SIZES[SIZES.length - 1];
    }

    /**
     * Builds the table for backends named by stable keys (e.g. "10.244.1.5:8080"), all of weight 1.
     * Every table without backends is one shared instance: a node with thousands of Service ports
     * whose endpoints live elsewhere keeps one 502-byte table, not one per port.
     */
    public static MaglevTable build(List<String> backendKeys) {
        if (backendKeys.isEmpty()) {
            return NONE;
        }
        int[] weights = new int[backendKeys.size()];
        Arrays.fill(weights, 1);
        return build(backendKeys, weights, sizeFor(backendKeys.size()));
    }

    /**
     * Builds the table with explicit weights and size (a prime larger than the backend count).
     * Backend {@code i} of {@code backendKeys} is entry value {@code i}.
     */
    public static MaglevTable build(List<String> backendKeys, int[] weights, int size) {
        int n = backendKeys.size();
        if (n > MAX_BACKENDS) {
            throw new IllegalArgumentException(n + " backends; a Maglev table holds at most " + MAX_BACKENDS);
        }
        if (weights.length != n) {
            throw new IllegalArgumentException("one weight per backend: " + weights.length + " weights for " + n + " backends");
        }
        if (!isPrime(size) || size <= n) {
            throw new IllegalArgumentException("Maglev table size must be a prime larger than the backend count, not " + size);
        }
        long totalWeight = 0;
        for (int w : weights) {
            if (w < 0) {
                throw new IllegalArgumentException("negative weight " + w);
            }
            totalWeight += w;
        }
        short[] entries = new short[size];
        if (n == 0 || totalWeight == 0) {
            Arrays.fill(entries, (short) -1);
            return new MaglevTable(entries, 0);
        }
        long[] offset = new long[n];
        long[] skip = new long[n];
        long[] next = new long[n];
        for (int i = 0; i < n; i++) {
            byte[] key = backendKeys.get(i).getBytes(StandardCharsets.UTF_8);
            offset[i] = Long.remainderUnsigned(Hashing.hash(key, SEED_OFFSET), size);
            skip[i] = Long.remainderUnsigned(Hashing.hash(key, SEED_SKIP), size - 1) + 1;
        }
        Arrays.fill(entries, (short) -1);
        int filled = 0;
        outer:
        while (true) {
            for (int i = 0; i < n; i++) {
                for (int turn = 0; turn < weights[i]; turn++) {
                    // permutation[i][j] = (offset + j * skip) mod M; skip the slots already taken.
                    int slot;
                    do {
                        slot = (int) ((offset[i] + next[i] * skip[i]) % size);
                        next[i]++;
                    } while (entries[slot] >= 0);
                    entries[slot] = (short) i;
                    if (++filled == size) {
                        break outer;
                    }
                }
            }
        }
        return new MaglevTable(entries, n);
    }

    /** The backend index for a flow hash, or -1 when the table has no backend. Allocation-free. */
    public int lookup(long flowHash) {
        return entries[(int) Long.remainderUnsigned(flowHash, entries.length)];
    }

    public int size() {
        return entries.length;
    }

    public int backendCount() {
        return backends;
    }

    /** How many entries each backend owns (for tests and `shunt service` diagnostics). */
    public int[] shares() {
        int[] shares = new int[backends];
        for (short e : entries) {
            if (e >= 0) {
                shares[e]++;
            }
        }
        return shares;
    }

    /** The backend at table position {@code slot}. */
    public int entry(int slot) {
        return entries[slot];
    }

    static boolean isPrime(int n) {
        if (n < 2) {
            return false;
        }
        for (int d = 2; (long) d * d <= n; d++) {
            if (n % d == 0) {
                return false;
            }
        }
        return true;
    }
}
