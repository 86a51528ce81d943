package dev.shunt.port;

import dev.shunt.sys.PacketStatistics;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.shunt.sys.PacketSocketDescriptor.*;

/**
 * A TPACKET_V3 RX ring: blocks of packets packed back to back. The kernel hands a block to user
 * space only when it is full or when its retire timer (tp_retire_blk_tov) fires, and takes it back
 * whole: so one receive reads packets from the oldest user-owned block on, a block is given back
 * once every packet of it has been received and released, and a batch may end in the middle of a
 * block (the next receive goes on from there).
 *
 * <p>The batching is what V3 is for (one status check per block, not per frame); the timer is
 * what it costs: a lone request waits in an open block until the timer fires.
 */
final class V3RxRing extends RxRing {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT;

    private final int blockSize;
    private final int blocks;
    /** The block being read, and what is left of it. */
    private int block;
    private int remaining;
    private long nextPacket;
    /** Blocks whose every packet was received: handed back on release. */
    private final int[] finished;
    private int finishedCount;

    long blocksRead;
    long blocksTimedOut;

    V3RxRing(MemorySegment ring, PortCounters counters, PacketStatistics statistics, int vnetBytes,
             int blockSize, int blocks) {
        super(ring, counters, statistics, vnetBytes);
        this.blockSize = blockSize;
        this.blocks = blocks;
        this.finished = new int[blocks];
    }

    @Override
    int receive(RxBatch batch) {
        if (finishedCount > 0) {
            release();
        }
        batch.reset(ring, vnetBytes);
        int n = 0;
        int capacity = batch.capacity();
        while (n < capacity) {
            if (remaining == 0 && !openNextBlock()) {
                break;
            }
            long packet = nextPacket;
            int status = ring.get(ValueLayout.JAVA_INT, packet + TP3_STATUS_OFFSET);
            int wireLength = ring.get(ValueLayout.JAVA_INT, packet + TP3_LEN_OFFSET);
            int length = ring.get(ValueLayout.JAVA_INT, packet + TP3_SNAPLEN_OFFSET);
            long frame = packet + Short.toUnsignedInt(ring.get(U16, packet + TP3_MAC_OFFSET));
            nextPacket = packet + Integer.toUnsignedLong(ring.get(ValueLayout.JAVA_INT, packet + TP3_NEXT_OFFSET_OFFSET));
            if (--remaining == 0) {
                finishBlock();
            }
            if (accept(batch, packet, status, wireLength, length, frame)) {
                n++;
            }
        }
        return n;
    }

    /**
     * Starts on the next block if the kernel handed it over (acquire read of block_status) and this
     * receive has not come all the way round the ring to a block it finished itself (still marked
     * TP_STATUS_USER until released: reading it again would hand its frames out twice).
     */
    private boolean openNextBlock() {
        if (finishedCount > 0 && finished[0] == block) {
            return false;
        }
        long base = (long) block * blockSize;
        int status = (int) INT.getAcquire(ring, base + BLOCK_STATUS_OFFSET);
        if ((status & TP_STATUS_USER) == 0) {
            return false;
        }
        blocksRead++;
        if ((status & TP_STATUS_BLK_TMO) != 0) {
            blocksTimedOut++;
        }
        if ((status & TP_STATUS_LOSING) != 0) {
            rxLosing++;
            pollStatistics();
        }
        remaining = ring.get(ValueLayout.JAVA_INT, base + BLOCK_NUM_PKTS_OFFSET);
        nextPacket = base + Integer.toUnsignedLong(ring.get(ValueLayout.JAVA_INT, base + BLOCK_FIRST_PKT_OFFSET));
        if (remaining == 0) {
            // The kernel does not retire empty blocks today; if it ever does, give it straight back
            // (only it: earlier finished blocks may still hold frames of the current batch).
            INT.setRelease(ring, base + BLOCK_STATUS_OFFSET, TP_STATUS_KERNEL);
            block = block + 1 == blocks ? 0 : block + 1;
            return openNextBlock();
        }
        return true;
    }

    private void finishBlock() {
        finished[finishedCount++] = block;
        block = block + 1 == blocks ? 0 : block + 1;
    }

    @Override
    void release() {
        for (int i = 0; i < finishedCount; i++) {
            INT.setRelease(ring, (long) finished[i] * blockSize + BLOCK_STATUS_OFFSET, TP_STATUS_KERNEL);
        }
        finishedCount = 0;
    }

    @Override
    int vlanTci(long packet) {
        return ring.get(ValueLayout.JAVA_INT, packet + TP3_VLAN_TCI_OFFSET) & 0xFFFF;
    }

    @Override
    int vlanTpid(long packet) {
        return Short.toUnsignedInt(ring.get(U16, packet + TP3_VLAN_TPID_OFFSET));
    }
}
