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
 *
 * <p>With a virtio-net header ({@link #withVnetHeader}) it behaves as an AF_PACKET port with
 * PACKET_VNET_HDR: {@link #inject(byte[], VnetHeader)} puts a header before the received frame and
 * {@link #sentHeaders()} records the header each transmitted frame went out with; without one, a
 * partial checksum is finished in software and a GSO frame refused (the {@link Port} default).
 */
public final class InMemoryPort implements Port {
    private final int id;
    private final String name;
    private final ArrayDeque<byte[]> incoming = new ArrayDeque<>();
    private final ArrayDeque<int[]> incomingHeaders = new ArrayDeque<>();
    private final List<int[]> pendingHeaders = new ArrayList<>();
    private final List<int[]> sentHeaders = new ArrayList<>();
    private boolean vnetHeader;
    private final List<byte[]> pendingTx = new ArrayList<>();
    private final List<byte[]> sent = new ArrayList<>();
    private final MemorySegment rxMemory;
    private final int frameSize;
    private final PortCounters counters = new PortCounters();
    private int txCapacity = Integer.MAX_VALUE;
    private final VnetHeader scratchHeader = new VnetHeader();

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
        inject(frame, null);
    }

    /** Queues a frame with its virtio-net header (null: a complete frame); needs {@link #withVnetHeader}. */
    public void inject(byte[] frame, VnetHeader header) {
        if (header != null && !vnetHeader) {
            throw new IllegalStateException(name + " has no vnet header");
        }
        incoming.add(frame);
        incomingHeaders.add(header == null ? new int[6] : fields(header));
    }

    /** Makes this port carry a 10-byte virtio-net header before every frame, as PACKET_VNET_HDR does. */
    public InMemoryPort withVnetHeader() {
        vnetHeader = true;
        return this;
    }

    /**
     * The header of every frame in {@link #sent()}, same order, as {flags, gso_type, hdr_len,
     * gso_size, csum_start, csum_offset} the way the port wrote it (all 0, hdr_len the length, for
     * a frame sent without offload); empty without a vnet header.
     */
    public List<int[]> sentHeaders() {
        return sentHeaders;
    }

    private static int[] fields(VnetHeader h) {
        return new int[] {h.flags(), h.gsoType(), h.hdrLen(), h.gsoSize(), h.csumStart(), h.csumOffset()};
    }

    /** Everything transmitted and flushed so far, oldest first. */
    public List<byte[]> sent() {
        return sent;
    }

    /** Removes and returns what was sent. */
    public List<byte[]> drainSent() {
        List<byte[]> out = new ArrayList<>(sent);
        sent.clear();
        sentHeaders.clear();
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
        int headerBytes = vnetHeader ? VnetHeader.LENGTH : 0;
        batch.reset(rxMemory, headerBytes);
        int slots = (int) (rxMemory.byteSize() / frameSize);
        int n = 0;
        while (n < batch.capacity() && n < slots && !incoming.isEmpty()) {
            byte[] frame = incoming.poll();
            int[] h = incomingHeaders.poll();
            int length = Math.min(frame.length, frameSize - headerBytes);
            long offset = (long) n * frameSize + headerBytes;
            if (vnetHeader) {
                scratchHeader.set(h[0], h[1], h[2], h[3], h[4], h[5]);
                scratchHeader.writeAsIs(rxMemory, offset - headerBytes);
            }
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
        return transmit(frame, offset, length, null);
    }

    @Override
    public boolean transmit(MemorySegment frame, long offset, int length, VnetHeader offload) {
        if (!vnetHeader && offload != null && !offload.isComplete()) {
            return Port.super.transmit(frame, offset, length, offload);
        }
        if (pendingTx.size() >= txCapacity) {
            counters.countTxDropped();
            return false;
        }
        pendingTx.add(frame.asSlice(offset, length).toArray(ValueLayout.JAVA_BYTE));
        if (vnetHeader) {
            // What an AF_PACKET port would put in its TX slot, read back.
            MemorySegment written = Arena.ofAuto().allocate(VnetHeader.LENGTH);
            if (offload == null) {
                VnetHeader.writeNone(written, 0, length);
            } else {
                offload.write(written, 0, length);
            }
            VnetHeader back = new VnetHeader();
            back.read(written, 0);
            pendingHeaders.add(fields(back));
        }
        return true;
    }

    @Override
    public void flush() {
        for (byte[] frame : pendingTx) {
            sent.add(frame);
            counters.countTx(frame.length);
        }
        sentHeaders.addAll(pendingHeaders);
        pendingHeaders.clear();
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
