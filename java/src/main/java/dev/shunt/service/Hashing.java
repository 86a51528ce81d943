package dev.shunt.service;

/**
 * 64-bit hashing for Maglev (backend names) and for flows (5-tuples). MurmurHash3's finaliser
 * mixes well and costs a few multiplications; what matters for Maglev is that h1 and h2 of a name
 * are independent, hence two different seeds.
 */
public final class Hashing {
    private static final long C1 = 0x87c37b91114253d5L;
    private static final long C2 = 0x4cf5ad432745937fL;

    private Hashing() {}

    /** MurmurHash3 fmix64. */
    public static long mix(long k) {
        k ^= k >>> 33;
        k *= 0xff51afd7ed558ccdL;
        k ^= k >>> 33;
        k *= 0xc4ceb9fe1a85ec53L;
        k ^= k >>> 33;
        return k;
    }

    /** A 64-bit hash of {@code bytes} with a seed (8-byte blocks, then the tail, then fmix). */
    public static long hash(byte[] bytes, long seed) {
        long h = seed;
        int i = 0;
        for (; i + 8 <= bytes.length; i += 8) {
            long k = 0;
            for (int b = 7; b >= 0; b--) {
                k = (k << 8) | (bytes[i + b] & 0xffL);
            }
            k *= C1;
            k = Long.rotateLeft(k, 31);
            k *= C2;
            h ^= k;
            h = Long.rotateLeft(h, 27) * 5 + 0x52dce729;
        }
        long tail = 0;
        for (int b = bytes.length - 1; b >= i; b--) {
            tail = (tail << 8) | (bytes[b] & 0xffL);
        }
        h ^= tail * C1;
        h ^= bytes.length;
        return mix(h);
    }

    /**
     * A flow hash of an IPv4 5-tuple with no allocation. Symmetric it is not, on purpose: the
     * fast path looks up a flow's backend once, in the direction the connection was opened.
     */
    public static long flow(int srcIp, int dstIp, int srcPort, int dstPort, int protocol, long seed) {
        long a = ((long) srcIp << 32) | (dstIp & 0xffffffffL);
        long b = ((long) srcPort << 32) | ((long) dstPort << 8) | protocol;
        return mix(mix(a ^ seed) + b);
    }
}
