package dev.shunt.ipam;

import java.util.HashSet;
import java.util.Set;

/**
 * Which offsets of a pool are taken. A bitmap for pools up to 2^24 addresses (2 MiB at most, an
 * IPv4 /8); a hash set of taken offsets for larger pools such as an IPv6 /64, where a bitmap would
 * need 2^64 bits and allocations are always sparse.
 */
abstract sealed class Occupancy permits Occupancy.Bitmap, Occupancy.Sparse {
    static final long BITMAP_LIMIT = 1L << 24;

    static Occupancy forPool(Cidr pool) {
        int hostBits = pool.addressBits() - pool.prefixLength();
        return hostBits <= 24 ? new Bitmap(1L << hostBits) : new Sparse();
    }

    abstract boolean isTaken(long offset);

    abstract void take(long offset);

    abstract void free(long offset);

    abstract long count();

    /**
     * The first free offset in {@code [from, toExclusive)} (unsigned comparison), or -1 when all
     * are taken. {@code -1} cannot be a real answer: the last offset of a pool is never handed out
     * (IPv4 broadcast; for IPv6 it is excluded by the same rule, see {@link AddressPool}).
     */
    abstract long firstFree(long from, long toExclusive);

    static final class Bitmap extends Occupancy {
        private final long[] words;
        private long count;

        Bitmap(long size) {
            words = new long[(int) ((size + 63) >>> 6)];
        }

        @Override
        boolean isTaken(long offset) {
            return (words[(int) (offset >>> 6)] & (1L << offset)) != 0;
        }

        @Override
        void take(long offset) {
            int w = (int) (offset >>> 6);
            if ((words[w] & (1L << offset)) == 0) {
                words[w] |= 1L << offset;
                count++;
            }
        }

        @Override
        void free(long offset) {
            int w = (int) (offset >>> 6);
            if ((words[w] & (1L << offset)) != 0) {
                words[w] &= ~(1L << offset);
                count--;
            }
        }

        @Override
        long count() {
            return count;
        }

        @Override
        long firstFree(long from, long toExclusive) {
            long offset = from;
            while (offset < toExclusive) {
                int w = (int) (offset >>> 6);
                long freeBits = ~words[w] & (-1L << (offset & 63));
                if (freeBits != 0) {
                    long candidate = ((long) w << 6) + Long.numberOfTrailingZeros(freeBits);
                    return candidate < toExclusive ? candidate : -1;
                }
                offset = (long) (w + 1) << 6;
            }
            return -1;
        }
    }

    static final class Sparse extends Occupancy {
        private final Set<Long> taken = new HashSet<>();

        @Override
        boolean isTaken(long offset) {
            return taken.contains(offset);
        }

        @Override
        void take(long offset) {
            taken.add(offset);
        }

        @Override
        void free(long offset) {
            taken.remove(offset);
        }

        @Override
        long count() {
            return taken.size();
        }

        @Override
        long firstFree(long from, long toExclusive) {
            // Sparse by construction (at most 2^31 entries in a pool of more than 2^24): the walk
            // meets a free offset after at most count() steps, in practice after one.
            for (long offset = from; Long.compareUnsigned(offset, toExclusive) < 0; offset++) {
                if (!taken.contains(offset)) {
                    return offset;
                }
            }
            return -1;
        }
    }
}
