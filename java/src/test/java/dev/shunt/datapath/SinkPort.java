package dev.shunt.datapath;

import dev.shunt.packet.Checksums;
import dev.shunt.packet.DropReason;
import dev.shunt.packet.PacketMeta;
import dev.shunt.packet.PacketParser;
import dev.shunt.port.Port;
import dev.shunt.port.PortCounters;
import dev.shunt.port.RxBatch;
import dev.shunt.port.VnetHeader;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import java.util.List;

/**
 * A port that allocates nothing per frame: transmit copies the frame into a preallocated slot
 * (as a TX ring would), flush frees the slots. Optionally re-parses every transmitted frame and
 * remembers the first one that does not parse with the given {@link PacketParser} flags. Or
 * ({@link #record}) takes every frame as it is given, offload header and all, and describes it in a
 * list instead. Receiving is the test's business (it fills an {@link RxBatch} itself).
 */
final class SinkPort implements Port {
    static final int SLOTS = 64;
    static final int SLOT_SIZE = 2048;

    private final int id;
    private final MemorySegment slots = Arena.ofAuto().allocate((long) SLOTS * SLOT_SIZE, 64);
    private final PortCounters counters = new PortCounters();
    private final PacketMeta meta = new PacketMeta();
    private PacketParser checker;
    private int pending;
    long transmitted;
    long badFrames;
    long shortQuotes;
    DropReason firstBadReason;
    byte[] firstBad;
    private List<String> record;

    SinkPort(int id) {
        this.id = id;
    }

    /** Re-parse every transmitted frame with these parser flags (0: stop checking). */
    void check(int parserFlags) {
        checker = parserFlags == 0 ? null : new PacketParser(parserFlags);
    }

    @Override
    public int id() {
        return id;
    }

    @Override
    public String name() {
        return "sink" + id;
    }

    @Override
    public int receive(RxBatch batch) {
        return 0;
    }

    @Override
    public void release(RxBatch batch) {
    }

    /** From now on, take every frame and append "port header bytes-in-hex" to {@code into}. */
    void record(List<String> into) {
        record = into;
    }

    @Override
    public boolean transmit(MemorySegment frame, long offset, int length, VnetHeader offload) {
        if (record == null) {
            return Port.super.transmit(frame, offset, length, offload);
        }
        String header = offload == null ? "-" : offload.flags() + "/" + offload.gsoType() + "/" + offload.hdrLen() + "/"
                + offload.gsoSize() + "/" + offload.csumStart() + "/" + offload.csumOffset();
        record.add(id + " " + header + " " + HexFormat.of().formatHex(frame.asSlice(offset, length).toArray(ValueLayout.JAVA_BYTE)));
        return true;
    }

    @Override
    public boolean transmit(MemorySegment frame, long offset, int length) {
        if (pending == SLOTS || length > SLOT_SIZE) {
            counters.countTxDropped();
            return false;
        }
        long at = (long) pending * SLOT_SIZE;
        MemorySegment.copy(frame, offset, slots, at, length);
        pending++;
        transmitted++;
        counters.countTx(length);
        if (checker != null) {
            DropReason r = checker.parse(slots, at, length, meta);
            if (r == DropReason.TRUNCATED_ICMP_ERROR && checksumsValid(at)) {
                // An ICMP error about a datagram with less than 8 bytes of data quotes all of it
                // (RFC 792); Shunt's parser wants 8 to find ports, but the frame is well made.
                shortQuotes++;
                r = DropReason.OK;
            }
            if (r != DropReason.OK) {
                badFrames++;
                if (firstBad == null) {
                    firstBadReason = r;
                    firstBad = slots.asSlice(at, length).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                }
            }
        }
        return true;
    }

    /** The IPv4 header and ICMP checksums of the ICMP error at {@code at} (parsed into meta up to its ICMP header). */
    private boolean checksumsValid(long at) {
        long l3 = meta.l3Offset();
        long l4 = meta.l4Offset();
        return Checksums.verifyIpv4Header(slots, l3, meta.l3HeaderLength())
                && Checksums.verifyIcmp(slots, l4, (int) (meta.l3End() - l4));
    }

    @Override
    public void flush() {
        pending = 0;
    }

    @Override
    public PortCounters counters() {
        return counters;
    }
}
