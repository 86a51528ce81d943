package dev.shunt.port;

import dev.shunt.sys.PacketStatistics;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.shunt.sys.PacketSocketDescriptor.*;

/**
 * A TPACKET_V2 RX ring: fixed slots, each handed to user space as soon as the kernel wrote its
 * frame (no timer: what request/response traffic needs) and back one by one.
 */
final class V2RxRing extends RxRing {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT;

    private final int frameSize;
    private final int frames;
    private final long[] heldSlots;
    private int head;
    private int heldCount;

    V2RxRing(MemorySegment ring, PortCounters counters, PacketStatistics statistics, int vnetBytes,
             int frameSize, int frames) {
        super(ring, counters, statistics, vnetBytes);
        this.frameSize = frameSize;
        this.frames = frames;
        this.heldSlots = new long[frames];
    }

    @Override
    int receive(RxBatch batch) {
        if (heldCount > 0) {
            release();
        }
        batch.reset(ring, vnetBytes);
        int n = 0;
        int capacity = Math.min(batch.capacity(), frames);
        while (n < capacity) {
            long slot = (long) head * frameSize;
            int status = (int) INT.getAcquire(ring, slot + TP2_STATUS_OFFSET);
            if ((status & TP_STATUS_USER) == 0) {
                break;
            }
            head = head + 1 == frames ? 0 : head + 1;
            if ((status & TP_STATUS_LOSING) != 0) {
                rxLosing++;
                pollStatistics();
            }
            int wireLength = ring.get(ValueLayout.JAVA_INT, slot + TP2_LEN_OFFSET);
            int length = ring.get(ValueLayout.JAVA_INT, slot + TP2_SNAPLEN_OFFSET);
            long frame = slot + Short.toUnsignedInt(ring.get(U16, slot + TP2_MAC_OFFSET));
            if (!accept(batch, slot, status, wireLength, length, frame)) {
                INT.setRelease(ring, slot + TP2_STATUS_OFFSET, TP_STATUS_KERNEL);
                continue;
            }
            heldSlots[heldCount++] = slot;
            n++;
        }
        return n;
    }

    @Override
    void release() {
        for (int i = 0; i < heldCount; i++) {
            INT.setRelease(ring, heldSlots[i] + TP2_STATUS_OFFSET, TP_STATUS_KERNEL);
        }
        heldCount = 0;
    }

    @Override
    int vlanTci(long slot) {
        return Short.toUnsignedInt(ring.get(U16, slot + TP2_VLAN_TCI_OFFSET));
    }

    @Override
    int vlanTpid(long slot) {
        return Short.toUnsignedInt(ring.get(U16, slot + TP2_VLAN_TPID_OFFSET));
    }
}
