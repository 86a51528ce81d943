package dev.shunt.port;

import java.lang.foreign.MemorySegment;

/**
 * Up to {@code capacity} received frames, each a slice of one memory segment given by offset and
 * length. Reused for every receive: holds no objects per frame.
 */
public final class RxBatch {
    private final long[] offsets;
    private final int[] lengths;
    private MemorySegment segment = MemorySegment.NULL;
    private int count;

    public RxBatch(int capacity) {
        offsets = new long[capacity];
        lengths = new int[capacity];
    }

    public int capacity() {
        return offsets.length;
    }

    public int count() {
        return count;
    }

    /** The memory every frame of this batch lives in. */
    public MemorySegment segment() {
        return segment;
    }

    public long offset(int i) {
        return offsets[i];
    }

    public int length(int i) {
        return lengths[i];
    }

    /** For ports: start filling the batch from {@code memory}. */
    public void reset(MemorySegment memory) {
        segment = memory;
        count = 0;
    }

    /** For ports: append a frame; returns false when the batch is full. */
    public boolean add(long offset, int length) {
        if (count == offsets.length) {
            return false;
        }
        offsets[count] = offset;
        lengths[count] = length;
        count++;
        return true;
    }
}
