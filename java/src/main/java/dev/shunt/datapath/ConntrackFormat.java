package dev.shunt.datapath;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

import static dev.shunt.datapath.ConntrackDescriptor.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Writing, checking and repairing the segment of a {@link ConntrackTable} (layout in
 * {@link ConntrackDescriptor}): the start-up side of the table, never on the per-packet path.
 */
public final class ConntrackFormat {
    private ConntrackFormat() {}

    /**
     * Writes an empty table of {@code capacity} flows into the start of {@code segment} (at least
     * {@link ConntrackDescriptor#bytesFor} bytes, 8-aligned, e.g. a freshly mapped tmpfs file) and
     * returns that slice, ready for {@link ConntrackTable#wrap}. Only the header and the index are
     * cleared: entries above the high-water mark are never read.
     */
    public static MemorySegment format(MemorySegment segment, int capacity, TimeUnit clockUnit, long hashSeed) {
        long bytes = bytesFor(capacity);
        if (segment.byteSize() < bytes) {
            throw new IllegalArgumentException("a conntrack table of " + capacity + " flows needs " + bytes
                    + " bytes; the segment has " + segment.byteSize());
        }
        checkAlignment(segment);
        MemorySegment table = segment.asSlice(0, bytes);
        int slots = indexSlots(capacity);
        table.asSlice(0, entriesOffset(slots)).fill((byte) 0);
        table.set(JAVA_LONG, H_MAGIC, MAGIC);
        table.set(JAVA_INT, H_VERSION, VERSION);
        table.set(JAVA_INT, H_HEADER_SIZE, HEADER_SIZE);
        table.set(JAVA_INT, H_ENTRY_SIZE, ENTRY_SIZE);
        table.set(JAVA_INT, H_EXTRAS_SIZE, EXTRAS_SIZE);
        table.set(JAVA_INT, H_CAPACITY, capacity);
        table.set(JAVA_INT, H_INDEX_SLOTS, slots);
        table.set(JAVA_LONG, H_HASH_SEED, hashSeed);
        table.set(JAVA_LONG, H_CLOCK_UNIT_NANOS, clockUnit.toNanos(1));
        table.set(JAVA_INT, H_FREE_HEAD, -1);
        return table;
    }

    /**
     * Checks that {@code segment} is exactly a table of this layout whose clock unit is
     * {@code clockUnit}; returns it. Throws {@link IllegalArgumentException} saying what
     * does not match.
     */
    static MemorySegment validate(MemorySegment segment, TimeUnit clockUnit) {
        if (segment.byteSize() < HEADER_SIZE) {
            throw refuse("the segment has " + segment.byteSize() + " bytes, less than the " + HEADER_SIZE + "-byte header");
        }
        checkAlignment(segment);
        long magic = segment.get(JAVA_LONG, H_MAGIC);
        if (magic == Long.reverseBytes(MAGIC)) {
            throw refuse("it was written with the other byte order");
        }
        if (magic != MAGIC) {
            throw refuse("bad magic 0x" + Long.toHexString(magic) + ", expected 0x" + Long.toHexString(MAGIC) + " (\"SHUNTCT1\")");
        }
        int version = segment.get(JAVA_INT, H_VERSION);
        if (version != VERSION) {
            throw refuse("layout version " + version + ", this agent reads version " + VERSION);
        }
        expect(segment, H_HEADER_SIZE, HEADER_SIZE, "header size");
        expect(segment, H_ENTRY_SIZE, ENTRY_SIZE, "entry size");
        expect(segment, H_EXTRAS_SIZE, EXTRAS_SIZE, "per-entry extras size");
        int capacity = segment.get(JAVA_INT, H_CAPACITY);
        if (capacity < 1 || capacity > MAX_CAPACITY) {
            throw refuse("capacity " + capacity + " is out of range 1.." + MAX_CAPACITY);
        }
        expect(segment, H_INDEX_SLOTS, indexSlots(capacity), "index slots for capacity " + capacity);
        long bytes = bytesFor(capacity);
        if (segment.byteSize() != bytes) {
            throw refuse("its header says capacity " + capacity + ", a table of " + bytes + " bytes, but the segment has "
                    + segment.byteSize());
        }
        long unitNanos = segment.get(JAVA_LONG, H_CLOCK_UNIT_NANOS);
        if (unitNanos != clockUnit.toNanos(1)) {
            throw refuse("its timestamps are in ticks of " + unitNanos + " ns, the timeouts given are in " + clockUnit);
        }
        int highWater = segment.get(JAVA_INT, H_HIGH_WATER);
        int freeHead = segment.get(JAVA_INT, H_FREE_HEAD);
        int live = segment.get(JAVA_INT, H_LIVE);
        int hand = segment.get(JAVA_INT, H_CLOCK_HAND);
        if (highWater < 0 || highWater > capacity || freeHead < -1 || freeHead >= highWater
                || live < 0 || live > highWater || hand < 0 || hand > capacity) {
            throw refuse("its state is inconsistent: highWater " + highWater + ", freeHead " + freeHead + ", live " + live
                    + ", clock hand " + hand + ", capacity " + capacity);
        }
        return segment;
    }

    /**
     * Checks {@code segment} like {@link ConntrackTable#wrap} does (throwing the same
     * {@link IllegalArgumentException} with the reason) and then rebuilds its index, free list and
     * live count from the entries, whether or not the last owner was caught mid-change: what a
     * process that was killed can have left half-done outside that window (an entry taken from
     * the free list or above the high-water mark but not yet written, so neither free nor live) is
     * reclaimed too. Returns the number of live flows. O(capacity): a start-up step, e.g. before
     * adopting a table file that no graceful stop removed.
     */
    public static int repair(MemorySegment segment, TimeUnit clockUnit) {
        rebuild(validate(segment, clockUnit));
        return segment.get(JAVA_INT, H_LIVE);
    }

    /**
     * Rebuilds the index, the free list and the live count from the entries' in-use flags, after a
     * process died while changing them. Per-table counters may be off by the one operation that
     * was cut short. O(capacity).
     */
    static void rebuild(MemorySegment table) {
        int slots = table.get(JAVA_INT, H_INDEX_SLOTS);
        long seed = table.get(JAVA_LONG, H_HASH_SEED);
        long seedB = ConntrackTable.seedB(seed);
        long entries = entriesOffset(slots);
        table.asSlice(HEADER_SIZE, (long) slots * SLOT_SIZE).fill((byte) 0);
        ConntrackIndex index = new ConntrackIndex(table, slots);
        int highWater = table.get(JAVA_INT, H_HIGH_WATER);
        int freeHead = -1;
        int live = 0;
        for (int e = highWater - 1; e >= 0; e--) {
            long off = entries + ((long) e << ENTRY_SHIFT);
            int flags = table.get(JAVA_SHORT, off + E_FLAGS);
            if ((flags & FLAG_IN_USE) == 0) {
                table.set(JAVA_INT, off + E_FREE_NEXT, freeHead);
                freeHead = e;
                continue;
            }
            int protocol = table.get(JAVA_BYTE, off + E_PROTOCOL) & 0xff;
            index.add(ConntrackTable.hash(table.get(JAVA_LONG, off + E_ORIG_IPS), table.get(JAVA_INT, off + E_ORIG_PORTS),
                    protocol, seed, seedB), e << 1);
            if ((flags & FLAG_SINGLE_KEY) == 0) {
                index.add(ConntrackTable.hash(table.get(JAVA_LONG, off + E_REPLY_IPS), table.get(JAVA_INT, off + E_REPLY_PORTS),
                        protocol, seed, seedB), e << 1 | ConntrackTable.REPLY);
            }
            live++;
        }
        table.set(JAVA_INT, H_FREE_HEAD, freeHead);
        table.set(JAVA_INT, H_LIVE, live);
        table.set(JAVA_INT, H_CLOCK_HAND, 0);
        table.set(JAVA_INT, H_MUTATING, 0);
    }

    private static void checkAlignment(MemorySegment segment) {
        if (segment.maxByteAlignment() < 8) {
            throw refuse("the segment is not 8-byte aligned; a table lives in native memory aligned to 8 bytes (an arena or a mapped file)");
        }
    }

    private static void expect(MemorySegment segment, int offset, int expected, String what) {
        int actual = segment.get(JAVA_INT, offset);
        if (actual != expected) {
            throw refuse(what + " is " + actual + ", this agent's layout has " + expected);
        }
    }

    private static IllegalArgumentException refuse(String why) {
        return new IllegalArgumentException("not a usable conntrack table: " + why);
    }
}
