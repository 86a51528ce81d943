package dev.shunt.port;

import java.lang.foreign.MemorySegment;

/**
 * Up to {@code capacity} received frames, each a slice of one memory segment given by offset and
 * length: the offset is where the Ethernet header starts, so the pipeline sees every frame from
 * offset 0 of its own view. Reused for every receive: holds no objects per frame.
 *
 * <p>A port with virtio-net headers (PACKET_VNET_HDR) puts each frame's header in the
 * {@link #vnetHeaderLength()} bytes right before the frame, at {@link #vnetHeaderOffset(int)};
 * it is 0 bytes long otherwise.
 */
public final class RxBatch {
    private final long[] offsets;
    private final int[] lengths;
    private MemorySegment segment = MemorySegment.NULL;
    private int count;
    private int vnetHeaderLength;

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

    /** Bytes of virtio-net header before each frame of this batch: 0, 10 or 12. */
    public int vnetHeaderLength() {
        return vnetHeaderLength;
    }

    /** Where frame {@code i}'s virtio-net header starts in {@link #segment()} (meaningful when {@link #vnetHeaderLength()} > 0). */
    public long vnetHeaderOffset(int i) {
        return offsets[i] - vnetHeaderLength;
    }

    /** For ports: start filling the batch from {@code memory}, frames without a vnet header. */
    public void reset(MemorySegment memory) {
        reset(memory, 0);
    }

    /** For ports: start filling the batch from {@code memory}, each frame preceded by a vnet header of {@code headerLength} bytes. */
    public void reset(MemorySegment memory, int headerLength) {
        segment = memory;
        vnetHeaderLength = headerLength;
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
