package dev.shunt.port;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * A port backed by Java queues, for tests and benchmarks: {@link #inject} puts a frame on the
 * receive side, {@link #sent} shows what the pipeline transmitted. Received frames are copied into
 * one native buffer, as a ring would hold them. Allocates on inject and transmit (test code), not
 * on receive.
 */
public final class InMemoryPort implements Port {
    private final int id;
    private final String name;
    private final ArrayDeque<byte[]> incoming = new ArrayDeque<>();
    private final List<byte[]> pendingTx = new ArrayList<>();
    private final List<byte[]> sent = new ArrayList<>();
    private final MemorySegment rxMemory;
    private final int frameSize;
    private final PortCounters counters = new PortCounters();
    private int txCapacity = Integer.MAX_VALUE;

    public InMemoryPort(int id, String name) {
        this(id, name, 64, 2048);
    }

    public InMemoryPort(int id, String name, int slots, int frameSize) {
        this.id = id;
        this.name = name;
        this.frameSize = frameSize;
        this.rxMemory = Arena.ofAuto().allocate((long) slots * frameSize, 64);
    }

    /** Queues a frame for the next {@link #receive}. Frames longer than a slot are cut, as a ring would. */
    public void inject(byte[] frame) {
        incoming.add(frame);
    }

    /** Everything transmitted and flushed so far, oldest first. */
    public List<byte[]> sent() {
        return sent;
    }

    /** Removes and returns what was sent. */
    public List<byte[]> drainSent() {
        List<byte[]> out = new ArrayList<>(sent);
        sent.clear();
        return out;
    }

    /** Limits how many frames may wait for {@link #flush} (to test a full TX ring). */
    public void setTxCapacity(int frames) {
        txCapacity = frames;
    }

    @Override
    public int id() {
        return id;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int receive(RxBatch batch) {
        batch.reset(rxMemory);
        int slots = (int) (rxMemory.byteSize() / frameSize);
        int n = 0;
        while (n < batch.capacity() && n < slots && !incoming.isEmpty()) {
            byte[] frame = incoming.poll();
            int length = Math.min(frame.length, frameSize);
            long offset = (long) n * frameSize;
            MemorySegment.copy(frame, 0, rxMemory, ValueLayout.JAVA_BYTE, offset, length);
            batch.add(offset, length);
            counters.countRx(length);
            n++;
        }
        return n;
    }

    @Override
    public void release(RxBatch batch) {
        // The slots are reused by the next receive.
    }

    @Override
    public boolean transmit(MemorySegment frame, long offset, int length) {
        if (pendingTx.size() >= txCapacity) {
            counters.countTxDropped();
            return false;
        }
        pendingTx.add(frame.asSlice(offset, length).toArray(ValueLayout.JAVA_BYTE));
        return true;
    }

    @Override
    public void flush() {
        for (byte[] frame : pendingTx) {
            sent.add(frame);
            counters.countTx(frame.length);
        }
        pendingTx.clear();
    }

    @Override
    public PortCounters counters() {
        return counters;
    }

    @Override
    public String toString() {
        return "port " + id + " " + name;
    }
}
