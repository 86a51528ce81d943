package dev.shunt.datapath;

import dev.shunt.sys.NativeMemory;

import java.lang.foreign.MemorySegment;

import static dev.shunt.datapath.ConntrackDescriptor.HEADER_SIZE;
import static dev.shunt.datapath.ConntrackDescriptor.SLOT_SIZE;

/**
 * The slot array of a {@link ConntrackTable}'s index: open addressing with linear probing and
 * backward-shift deletion, over the table's segment (layout in {@link ConntrackDescriptor}).
 *
 * <p>Why this scheme: conntrack churns without pause (every short connection adds and removes two
 * keys), so deletion must leave no tombstones; tombstones lengthen probe chains until a rehash,
 * and a rehash of a million-flow table is exactly the stop-the-world pause the fast path cannot
 * take. Backward-shift deletion (Knuth 6.4, algorithm R) moves later members of the cluster back
 * instead, so the table is always as if the live keys had just been inserted. At a load factor of
 * at most 0.5 the expected probe count is about 1.5 for a hit and 2.5 for a miss, eight slots share
 * a cache line, and a miss stops at the first empty slot.
 *
 * <p>A slot holds {@code (hash32 << 32) | (ref + 1)}, 0 when empty. The stored hash gives the slot's
 * home without reading the entry, and is compared before the entry's tuple is.
 *
 * <p>Not thread-safe: the owner of the table is the only caller.
 */
final class ConntrackIndex {
    /** The table segment's address: slots are read through {@link NativeMemory} (see there why). */
    private final long base;
    private final int mask;

    ConntrackIndex(MemorySegment segment, int slots) {
        this.base = NativeMemory.address(segment);
        this.mask = slots - 1;
    }

    int mask() {
        return mask;
    }

    /** The raw slot value (0 = empty). */
    long slot(int i) {
        return NativeMemory.getLong(base + HEADER_SIZE + (long) i * SLOT_SIZE);
    }

    private void set(int i, long value) {
        NativeMemory.setLong(base + HEADER_SIZE + (long) i * SLOT_SIZE, value);
    }

    static int hashOf(long slot) {
        return (int) (slot >>> 32);
    }

    /** The ref stored in a non-empty slot. */
    static int refOf(long slot) {
        return (int) slot - 1;
    }

    /** Adds a key known to be absent. The caller keeps the load factor at most 0.5, so a slot is free. */
    void add(int hash, int ref) {
        int i = hash & mask;
        while (slot(i) != 0) {
            i = (i + 1) & mask;
        }
        set(i, ((long) hash << 32) | (ref + 1L));
    }

    /** Removes the key of {@code ref} whose hash is {@code hash}; false if it was not there. */
    boolean remove(int hash, int ref) {
        long wanted = ((long) hash << 32) | (ref + 1L);
        int i = hash & mask;
        for (long v = slot(i); v != 0; v = slot(i)) {
            if (v == wanted) {
                deleteAt(i);
                return true;
            }
            i = (i + 1) & mask;
        }
        return false;
    }

    /**
     * Empties slot {@code hole}, then walks the rest of its cluster and moves back every key whose
     * home lies at or before the hole (cyclically), so no probe chain is broken.
     */
    private void deleteAt(int hole) {
        int j = hole;
        while (true) {
            j = (j + 1) & mask;
            long v = slot(j);
            if (v == 0) {
                break;
            }
            int home = hashOf(v) & mask;
            // v may fill the hole if the hole lies on its probe path: home .. hole .. j.
            if (((j - home) & mask) >= ((j - hole) & mask)) {
                set(hole, v);
                hole = j;
            }
        }
        set(hole, 0);
    }

    /** Number of keys (a scan, for tests and diagnostics). */
    int size() {
        int n = 0;
        for (int i = 0; i <= mask; i++) {
            if (slot(i) != 0) {
                n++;
            }
        }
        return n;
    }

    /** Largest distance of a key from its home (a scan, for tests and diagnostics). */
    int maxProbeDistance() {
        int max = 0;
        for (int i = 0; i <= mask; i++) {
            long v = slot(i);
            if (v != 0) {
                max = Math.max(max, (i - (hashOf(v) & mask)) & mask);
            }
        }
        return max;
    }
}
