package dev.shunt.datapath;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

import static dev.shunt.datapath.ConntrackDescriptor.*;
import static dev.shunt.datapath.ConntrackTable.*;
import static dev.shunt.datapath.Flows.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A table outlives its process: wrap() of a copy of the bytes sees the same flows; bad layouts are refused. */
class ConntrackPersistenceTest {
    static final int N = 1000;

    static ConntrackTable populated() {
        ConntrackTable t = table(2 * N);
        for (int i = 0; i < N; i++) {
            int h = t.insert(ip(10, 244, 1, i % 200), ip(10, 96, 0, 10), 20_000 + i, 80, IPPROTO_TCP,
                    ip(10, 244, 2, i % 7), ip(10, 244, 1, i % 200), 8080, 20_000 + i, FLAG_DNAT, 1, i % 7, T0);
            t.update(h, TcpState.TCP_SYN, ORIGINAL, 60, T0 + i);
        }
        for (int i = 0; i < N; i += 10) {
            t.remove(t.lookup(ip(10, 244, 1, i % 200), ip(10, 96, 0, 10), 20_000 + i, 80, IPPROTO_TCP, T0 + N));
        }
        return t;
    }

    /** What a restarted agent does with the tmpfs file: the same bytes, in a fresh segment. */
    static MemorySegment copyOf(ConntrackTable t) {
        t.flushCounters(); // as the pipeline does at the end of every batch
        MemorySegment copy = Arena.ofAuto().allocate(t.segment().byteSize(), 64);
        copy.copyFrom(t.segment());
        return copy;
    }

    @Test
    void aCopiedSegmentHoldsTheSameFlows() {
        ConntrackTable before = populated();
        ConntrackTable after = ConntrackTable.wrap(copyOf(before));
        assertThat(after.generation()).isEqualTo(1);
        assertThat(after.live()).isEqualTo(before.live()).isEqualTo(N - N / 10);
        assertThat(after.inserts()).isEqualTo(before.inserts());
        assertThat(after.removes()).isEqualTo(before.removes());
        assertThat(after.clock()).isEqualTo(before.clock());
        long now = T0 + 2 * N;
        for (int i = 0; i < N; i++) {
            int client = ip(10, 244, 1, i % 200);
            int h = after.lookup(client, ip(10, 96, 0, 10), 20_000 + i, 80, IPPROTO_TCP, now);
            int r = after.lookup(ip(10, 244, 2, i % 7), client, 8080, 20_000 + i, IPPROTO_TCP, now);
            if (i % 10 == 0) {
                assertThat(h).isEqualTo(MISS);
                assertThat(r).isEqualTo(MISS);
                continue;
            }
            assertThat(r).isEqualTo(h | REPLY);
            assertThat(after.backendId(h)).isEqualTo(i % 7);
            assertThat(after.tcpState(h)).isEqualTo(TcpState.SYN_SENT);
            assertThat(after.packets(h, ORIGINAL)).isEqualTo(1);
            assertThat(after.lastSeen(h)).isEqualTo(T0 + i);
        }
        // the adopted table goes on working, and the old one is untouched by it
        int h = insertPlain(after, 1, 2, 3, 4, IPPROTO_UDP, now);
        assertThat(after.remove(h)).isTrue();
        assertThat(after.purgeServicePort(1)).isEqualTo(N - N / 10);
        assertThat(before.live()).isEqualTo(N - N / 10);
        assertThat(ConntrackTable.wrap(copyOf(after)).generation()).isEqualTo(2);
    }

    @Test
    void aHeapSegmentIsRefusedAndLeftAsItWas() {
        // The table is read at absolute addresses (NativeMemory), which a heap segment does not have.
        ConntrackTable t = table(16);
        insertPlain(t, 1, 2, 3, 4, IPPROTO_UDP, T0);
        MemorySegment heap = MemorySegment.ofArray(new long[(int) (t.segment().byteSize() / 8)]);
        heap.copyFrom(t.segment());
        assertThatThrownBy(() -> ConntrackTable.wrap(heap)).hasMessageContaining("on the Java heap");
        assertThatThrownBy(() -> ConntrackTable.format(heap, 16, ConntrackTimeouts.kernelDefaults(TimeUnit.NANOSECONDS), 1))
                .hasMessageContaining("native memory");
        assertThat(heap.mismatch(t.segment())).isEqualTo(-1);
        // The same bytes in native memory are a table.
        MemorySegment copy = Arena.ofAuto().allocate(heap.byteSize(), 8).copyFrom(heap);
        assertThat(ConntrackTable.wrap(copy).lookup(1, 2, 3, 4, IPPROTO_UDP, T0)).isGreaterThanOrEqualTo(0);
    }

    @Test
    void formatPreparesAnyLargeEnoughSegment() {
        MemorySegment file = Arena.ofAuto().allocate(ConntrackTable.bytesFor(100) + 4096, 4096); // like an mmap
        file.fill((byte) 0x5a); // garbage from an earlier life
        MemorySegment slice = ConntrackFormat.format(file, 100, TimeUnit.NANOSECONDS, 1);
        ConntrackTable t = ConntrackTable.wrap(slice);
        assertThat(t.capacity()).isEqualTo(100);
        assertThat(t.live()).isZero();
        for (int i = 0; i < 100; i++) {
            assertThat(insertPlain(t, i, 2, 3, 4, IPPROTO_UDP, T0)).isEqualTo(i << 1);
        }
        assertThat(t.forEach(h -> { })).isEqualTo(100);
    }

    @Test
    void refusesAWrongMagicVersionOrCapacity() {
        ConntrackTable t = populated();
        assertRefused(corrupt(t, H_MAGIC, 0x1234L), "bad magic 0x1234");
        assertRefused(corrupt(t, H_MAGIC, Long.reverseBytes(MAGIC)), "other byte order");
        assertRefused(corruptInt(t, H_VERSION, 1), "layout version 1, this agent reads version 3");
        assertRefused(corruptInt(t, H_VERSION, 2), "layout version 2, this agent reads version 3");
        assertRefused(corruptInt(t, H_ENTRY_SIZE, 96), "entry size is 96");
        assertRefused(corruptInt(t, H_CAPACITY, 4 * N), "index slots for capacity 4000 is 8192, this agent's layout has 16384");
        assertRefused(corruptInt(t, H_CAPACITY, 2 * N - 1), "says capacity 1999");
        assertRefused(corruptInt(t, H_CAPACITY, 0), "capacity 0 is out of range");
        assertRefused(corruptInt(t, H_HIGH_WATER, 2 * N + 1), "inconsistent");
        assertRefused(copyOf(t).asSlice(0, t.segment().byteSize() - 32), "says capacity 2000");
        assertRefused(copyOf(t).asSlice(0, 100), "less than the 256-byte header");
        long bytes = t.segment().byteSize();
        assertRefused(Arena.ofAuto().allocate(bytes + 8, 8).asSlice(1, bytes), "8-byte aligned");
        assertRefused(MemorySegment.ofArray(new byte[(int) bytes]), "on the Java heap");
        assertThatThrownBy(() -> ConntrackTable.wrap(copyOf(t), ConntrackTimeouts.kernelDefaults(TimeUnit.MILLISECONDS)))
                .hasMessageContaining("ticks of 1 ns, the timeouts given are in MILLISECONDS");
    }

    @Test
    void aTableLeftHalfChangedIsRebuilt() {
        ConntrackTable t = populated();
        MemorySegment copy = copyOf(t);
        // a process killed inside free(): the index half-shifted, the free list and live count stale
        copy.asSlice(HEADER_SIZE, (long) t.indexSlots() * SLOT_SIZE).fill((byte) 0);
        copy.set(JAVA_INT, H_FREE_HEAD, -1);
        copy.set(JAVA_INT, H_LIVE, 3);
        copy.set(JAVA_INT, H_MUTATING, 1);
        ConntrackTable after = ConntrackTable.wrap(copy);
        assertThat(after.live()).isEqualTo(N - N / 10);
        assertThat(after.index().size()).isEqualTo(2 * after.live());
        assertThat(after.lookup(ip(10, 244, 1, 1), ip(10, 96, 0, 10), 20_001, 80, IPPROTO_TCP, T0 + N)).isGreaterThanOrEqualTo(0);
        int freed = insertPlain(after, 1, 2, 3, 4, IPPROTO_UDP, T0 + N);
        assertThat(entryIndex(freed)).as("the rebuilt free list hands out a removed entry").isLessThan(N);
        assertThat(entryIndex(freed) % 10).isZero();
    }

    private static MemorySegment corrupt(ConntrackTable t, int offset, long value) {
        MemorySegment copy = copyOf(t);
        copy.set(JAVA_LONG, offset, value);
        return copy;
    }

    private static MemorySegment corruptInt(ConntrackTable t, int offset, int value) {
        MemorySegment copy = copyOf(t);
        copy.set(JAVA_INT, offset, value);
        return copy;
    }

    private static void assertRefused(MemorySegment segment, String reason) {
        assertThatThrownBy(() -> ConntrackTable.wrap(segment))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("not a usable conntrack table: ")
                .hasMessageContaining(reason);
    }

    /**
     * A process killed between taking an entry (above the high-water mark, or off the free list)
     * and writing it leaves an entry that is neither free nor live, outside the mutation window
     * that wrap() checks; repair() gives it back and keeps every live flow.
     */
    @Test
    void repairReclaimsAnEntryTakenButNeverWritten() {
        ConntrackTable t = table(4);
        int kept = insertPlain(t, 1, 2, 3, 4, IPPROTO_UDP, T0);
        int freed = insertPlain(t, 5, 6, 7, 8, IPPROTO_UDP, T0);
        t.remove(freed);
        MemorySegment s = copyOf(t);
        // killed after taking the free entry and after raising the high-water mark, before writing either
        s.set(JAVA_INT, H_FREE_HEAD, -1);
        s.set(JAVA_INT, H_HIGH_WATER, 3);
        assertThat(ConntrackFormat.repair(s, TimeUnit.NANOSECONDS)).isEqualTo(1);
        ConntrackTable after = ConntrackTable.wrap(s);
        assertThat(after.lookup(1, 2, 3, 4, IPPROTO_UDP, T0)).isEqualTo(kept);
        for (int i = 0; i < 3; i++) {
            assertThat(insertPlain(after, 100 + i, 2, 3, 4, IPPROTO_UDP, T0)).as("insert %d", i).isNotNegative();
        }
        assertThat(after.live()).isEqualTo(4);
        assertThat(after.evicted()).isZero();
        assertThatThrownBy(() -> ConntrackFormat.repair(MemorySegment.ofArray(new long[64]), TimeUnit.NANOSECONDS))
                .hasMessageContaining("bad magic");
    }
}
