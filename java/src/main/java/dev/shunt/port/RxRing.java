package dev.shunt.port;

import dev.shunt.sys.PacketStatistics;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

import static dev.shunt.sys.PacketSocketDescriptor.TP_STATUS_COPY;
import static dev.shunt.sys.PacketSocketDescriptor.TP_STATUS_CSUMNOTREADY;
import static dev.shunt.sys.PacketSocketDescriptor.TP_STATUS_VLAN_TPID_VALID;
import static dev.shunt.sys.PacketSocketDescriptor.TP_STATUS_VLAN_VALID;

/**
 * The receive half of an {@link AfPacketPort}: walks the mapped RX ring (a TPACKET_V2 ring of
 * frames or a TPACKET_V3 ring of blocks) and fills {@link RxBatch}es with the frames the kernel
 * handed over. What a received frame's status word means is the same in both versions and lives
 * here; where the status word is, and when a slot goes back to the kernel, is each version's.
 *
 * <p>Memory ordering: a slot's (V2) or block's (V3) status is read with acquire semantics before
 * any byte it covers, and handed back with a release store after the last access (see
 * {@link AfPacketPort}).
 */
abstract sealed class RxRing permits V2RxRing, V3RxRing {
    static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final int MAC_ADDRESSES = 12;
    private static final int VLAN_TAG = 4;
    private static final int ETHERTYPE_VLAN = 0x8100;

    final MemorySegment ring;
    final PortCounters counters;
    final int vnetBytes;
    private final PacketStatistics statistics;
    private final VnetHeader vlanHeader = new VnetHeader();

    long rxLosing;
    long rxCsumNotReady;
    long rxVlanRestored;
    long kernelRxPackets;
    long kernelFreezes;

    RxRing(MemorySegment ring, PortCounters counters, PacketStatistics statistics, int vnetBytes) {
        this.ring = ring;
        this.counters = counters;
        this.statistics = statistics;
        this.vnetBytes = vnetBytes;
    }

    /** Releases what the previous receive took (if not yet released), then takes up to batch.capacity() frames. */
    abstract int receive(RxBatch batch);

    /** Hands the frames of the last {@link #receive} back to the kernel, as far as the ring's unit allows. */
    abstract void release();

    /** Reads PACKET_STATISTICS (resets it in the kernel) into the counters. */
    final void pollStatistics() {
        statistics.read();
        kernelRxPackets += statistics.packets();
        kernelFreezes += statistics.freezes();
        counters.countRxDropped(statistics.drops());
    }

    /**
     * Checks one received frame and adds it to the batch: false (counted in rxTruncated) when it did
     * not fit its slot; a checksum-partial frame is counted and passed on; a frame whose VLAN tag the
     * kernel took off gets it back in front of its EtherType. {@code header} is the frame's
     * tpacket2_hdr or tpacket3_hdr, for the VLAN fields.
     */
    final boolean accept(RxBatch batch, long header, int status, int wireLength, int length, long frame) {
        if (length < wireLength || (status & TP_STATUS_COPY) != 0) {
            counters.rxTruncated++;
            return false;
        }
        if ((status & TP_STATUS_CSUMNOTREADY) != 0) {
            rxCsumNotReady++;
        }
        if ((status & TP_STATUS_VLAN_VALID) != 0) {
            int tpid = (status & TP_STATUS_VLAN_TPID_VALID) != 0 ? vlanTpid(header) : ETHERTYPE_VLAN;
            frame = restoreVlanTag(frame, vlanTci(header), tpid);
            length += VLAN_TAG;
        }
        batch.add(frame, length);
        counters.countRx(length);
        return true;
    }

    abstract int vlanTci(long header);

    abstract int vlanTpid(long header);

    /**
     * The kernel delivered the frame without its 802.1Q tag: move the vnet header (if any) and the
     * MAC addresses 4 bytes towards the slot header (the kernel leaves at least 14 free bytes after
     * the sockaddr_ll) and write TPID and TCI between them and the EtherType.
     */
    private long restoreVlanTag(long frame, int tci, int tpid) {
        long tagged = frame - VLAN_TAG;
        MemorySegment.copy(ring, frame - vnetBytes, ring, tagged - vnetBytes, vnetBytes + MAC_ADDRESSES);
        ring.set(ValueLayout.JAVA_BYTE, tagged + 12, (byte) (tpid >>> 8));
        ring.set(ValueLayout.JAVA_BYTE, tagged + 13, (byte) tpid);
        ring.set(ValueLayout.JAVA_BYTE, tagged + 14, (byte) (tci >>> 8));
        ring.set(ValueLayout.JAVA_BYTE, tagged + 15, (byte) tci);
        if (vnetBytes != 0) {
            // csum_start (and a GSO frame's hdr_len) count from the frame's first byte: the tag moves them.
            long header = tagged - vnetBytes;
            vlanHeader.read(ring, header);
            vlanHeader.shift(VLAN_TAG);
            vlanHeader.writeAsIs(ring, header);
        }
        rxVlanRestored++;
        return tagged;
    }
}
