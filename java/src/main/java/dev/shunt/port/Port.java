package dev.shunt.port;

import java.lang.foreign.MemorySegment;

/**
 * A packet port of the fast path: the host end of a pod's veth, the host-stack veth, the overlay
 * device, or an in-memory port in tests. One thread (the poll loop that owns the port) calls
 * {@link #receive} and {@link #transmit}; nothing here blocks.
 *
 * <p>Frames are Ethernet frames. Received frames live in the port's own memory (a ring slot, or a
 * test buffer) until the next {@link #receive} or {@link #release}: the pipeline rewrites them in
 * place and hands them to another port's {@link #transmit}, which copies them out.
 */
public interface Port {
    /** A small dense number, used as an index into forwarding tables and counter arrays. */
    int id();

    String name();

    /** Fills {@code batch} with up to {@link RxBatch#capacity()} frames; returns how many. */
    int receive(RxBatch batch);

    /** Gives the frames of the last {@link #receive} back to the port (e.g. ring slots to the kernel). */
    void release(RxBatch batch);

    /**
     * Queues a copy of {@code length} bytes of {@code frame} from {@code offset} for sending.
     * Returns false, and counts it, when the port cannot take it now (TX ring full, link down).
     */
    boolean transmit(MemorySegment frame, long offset, int length);

    /**
     * {@link #transmit(MemorySegment, long, int)} of a frame whose offload state is
     * {@code offload} (null: a complete frame). A port with a virtio-net header writes it in front
     * of the frame, so GSO frames and checksum-partial frames go out as they came in. This
     * default, for ports without one, finishes a partial checksum in place (in {@code frame})
     * and refuses a GSO frame, counting it in {@link PortCounters#txOffloadRefused()}: it would
     * be longer than the link's MTU. The holder is only read, and only during the call.
     */
    default boolean transmit(MemorySegment frame, long offset, int length, VnetHeader offload) {
        if (offload != null && !offload.isComplete()) {
            if (offload.isGso() || !offload.completeChecksum(frame, offset, length)) {
                counters().txOffloadRefused++;
                return false;
            }
        }
        return transmit(frame, offset, length);
    }

    /** Sends what {@link #transmit} queued (one syscall per batch for kernel ports). */
    void flush();

    PortCounters counters();

    /**
     * Bytes of virtio-net header the port carries before each frame (PACKET_VNET_HDR): 0 when it
     * has none. Received frames still start at {@link RxBatch#offset(int)}; the header is at
     * {@link RxBatch#vnetHeaderOffset(int)}. {@link #transmit(MemorySegment, long, int)} writes a
     * header that asks for no GSO and no checksum offload; the four-argument transmit writes the
     * one it is given.
     */
    default int vnetHeaderLength() {
        return 0;
    }
}
