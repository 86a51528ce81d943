package dev.shunt.datapath;

/**
 * ClientIP session affinity: which backend a client last used for a Service port, and when. As
 * kube-proxy's {@code recent} match does, a client keeps its backend while it keeps coming back
 * within the Service's timeout; the pipeline checks that the remembered backend can still take
 * new flows before using it.
 *
 * <p>Fixed capacity, primitive arrays, linear probing; allocation-free. When a probe run grows past
 * {@link #MAX_PROBE}, the least recently used slot of the run is overwritten (an approximate LRU:
 * affinity is a preference, losing one only costs a re-pick). Single-threaded (the poll thread).
 */
public final class AffinityTable {
    static final int MAX_PROBE = 16;

    private final long[] clientAndVip;
    private final long[] protoPort;
    private final long[] backend;
    private final long[] lastUsed;
    private final int mask;
    private long evictions;

    public AffinityTable(int capacity) {
        int size = Integer.highestOneBit(Math.max(16, capacity - 1)) << 1;
        clientAndVip = new long[size];
        protoPort = new long[size];
        backend = new long[size];
        lastUsed = new long[size];
        mask = size - 1;
    }

    /**
     * The remembered backend ({@code ip << 16 | port}, as a non-negative long) of {@code clientIp}
     * for the Service port (vip, protocol, port), if used within {@code timeoutNanos}; else -1.
     */
    public long lookup(int clientIp, int vip, int protocol, int port, long now, long timeoutNanos) {
        long k1 = key1(clientIp, vip);
        long k2 = key2(protocol, port);
        int slot = slot(k1, k2);
        for (int i = 0; i < MAX_PROBE; i++, slot = (slot + 1) & mask) {
            if (lastUsed[slot] == 0) {
                return -1;
            }
            if (clientAndVip[slot] == k1 && protoPort[slot] == k2) {
                return now - lastUsed[slot] <= timeoutNanos ? backend[slot] : -1;
            }
        }
        return -1;
    }

    /** Records (or refreshes) the client's backend. {@code now} must be positive. */
    public void remember(int clientIp, int vip, int protocol, int port, int backendIp, int backendPort, long now) {
        long k1 = key1(clientIp, vip);
        long k2 = key2(protocol, port);
        int slot = slot(k1, k2);
        int oldest = slot;
        for (int i = 0; i < MAX_PROBE; i++, slot = (slot + 1) & mask) {
            if (lastUsed[slot] == 0 || (clientAndVip[slot] == k1 && protoPort[slot] == k2)) {
                store(slot, k1, k2, backendIp, backendPort, now);
                return;
            }
            if (lastUsed[slot] < lastUsed[oldest]) {
                oldest = slot;
            }
        }
        evictions++;
        store(oldest, k1, k2, backendIp, backendPort, now);
    }

    /** Affinities overwritten because their probe run was full. */
    public long evictions() {
        return evictions;
    }

    private void store(int slot, long k1, long k2, int backendIp, int backendPort, long now) {
        clientAndVip[slot] = k1;
        protoPort[slot] = k2;
        backend[slot] = ((backendIp & 0xffffffffL) << 16) | (backendPort & 0xffff);
        lastUsed[slot] = Math.max(1, now);
    }

    private int slot(long k1, long k2) {
        long h = k1 * 0x9E3779B97F4A7C15L ^ (k2 + 0x632BE59BD9B4E019L);
        h ^= h >>> 29;
        h *= 0xBF58476D1CE4E5B9L;
        h ^= h >>> 32;
        return (int) h & mask;
    }

    private static long key1(int clientIp, int vip) {
        return ((clientIp & 0xffffffffL) << 32) | (vip & 0xffffffffL);
    }

    private static long key2(int protocol, int port) {
        return ((long) (protocol & 0xff) << 16) | (port & 0xffff) | (1L << 32);
    }
}
