package dev.shunt.datapath;

import dev.shunt.packet.Checksums;
import dev.shunt.packet.Ipv4View;
import dev.shunt.packet.NetworkOrder;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Splits an IPv4 packet without DF that is longer than its output port's MTU into fragments
 * (RFC 791 section 3.2), as a router must: each fragment is built in one scratch buffer, allocated
 * once, and handed to the port, which copies it before the next one is built. A packet that is
 * itself a fragment is split further (its offset and MF carried on). A header with options is not
 * split ({@link #fragment} returns -1): RFC 791 copies only some options into later fragments,
 * and pod stacks do not send options.
 */
final class Ipv4Fragmenter {
    /** Largest fragment frame: an MTU of 9000 plus a tagged Ethernet header fits. */
    static final int SCRATCH_SIZE = 9216 + 64;

    interface Sink {
        /** Sends {@code length} bytes of {@code frame} from 0; false if the port refused it. */
        boolean send(MemorySegment frame, int length);
    }

    private final MemorySegment scratch = Arena.ofAuto().allocate(SCRATCH_SIZE, 64);

    /**
     * Sends the packet at {@code l3} (Ethernet header from {@code off}, already rewritten for its
     * next hop) as fragments of at most {@code mtu} bytes of IP each; returns how many were sent,
     * or -1 if it cannot be split (IP options, an MTU too small for one
     * 8-byte unit, a fragment larger than the scratch buffer).
     */
    int fragment(MemorySegment s, long off, long l3, int headerLength, int totalLength, int mtu, Sink sink) {
        int l2 = (int) (l3 - off);
        int unit = (mtu - headerLength) & ~7;
        if (headerLength != Ipv4View.MIN_LENGTH || unit <= 0 || l2 + headerLength + unit > SCRATCH_SIZE) {
            return -1;
        }
        int flags = NetworkOrder.u16(s, l3 + Ipv4View.FLAGS_FRAGMENT_OFFSET);
        int baseOffset = flags & Ipv4View.FRAGMENT_OFFSET_MASK; // in 8-byte units
        boolean lastHasMore = (flags & Ipv4View.FLAG_MF) != 0;
        int payload = totalLength - headerLength;
        int sent = 0;
        for (int at = 0; at < payload; at += unit) {
            int chunk = Math.min(unit, payload - at);
            boolean more = at + chunk < payload || lastHasMore;
            MemorySegment.copy(s, off, scratch, 0, l2 + headerLength);
            MemorySegment.copy(s, l3 + headerLength + at, scratch, l2 + headerLength, chunk);
            NetworkOrder.setU16(scratch, l2 + Ipv4View.TOTAL_LENGTH_OFFSET, headerLength + chunk);
            NetworkOrder.setU16(scratch, l2 + Ipv4View.FLAGS_FRAGMENT_OFFSET,
                    (more ? Ipv4View.FLAG_MF : 0) | (baseOffset + at / 8));
            NetworkOrder.setU16(scratch, l2 + Ipv4View.CHECKSUM_OFFSET,
                    Checksums.ipv4HeaderChecksum(scratch, l2, headerLength));
            if (!sink.send(scratch, l2 + headerLength + chunk)) {
                return sent;
            }
            sent++;
        }
        return sent;
    }
}
