package dev.shunt.datapath;

import java.lang.foreign.MemorySegment;

import static dev.shunt.datapath.ConntrackDescriptor.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Which flow an insert into a full table pushes out: a sampled, approximate LRU.
 *
 * <p>The {@value ConntrackTable#EVICTION_SAMPLE} entries from the clock hand (shared with
 * {@link ConntrackTable#expire}, which it advances) are ranked by class, then by last-seen time:
 * <ol start="0">
 *   <li>expired flows (counted as expired, not evicted: they were dead already);</li>
 *   <li>closing TCP connections (FIN_WAIT .. CLOSE) and flows that never saw a reply (SYN floods,
 *       one-way UDP, unanswered pings): the cheapest to lose, as in the kernel's early_drop;</li>
 *   <li>live two-way flows, the least recently seen first.</li>
 * </ol>
 * A flow seen at {@code now} is never a victim, so a handle the pipeline took in the current batch
 * stays valid. Why sampling and not an exact LRU list: a list needs two int links per entry and
 * four scattered writes on every packet to move a flow to the head, i.e. cache misses on the per-packet
 * path of a million-flow table, to improve only the rare full-table case. The expected age rank of
 * the oldest of 8 random flows is the top 1/9 of the table, which is what such an eviction needs.
 */
final class ConntrackEviction {
    private ConntrackEviction() {}

    /** The entry to evict, or -1 if every sampled flow was seen at {@code now}. Advances the clock hand. */
    static int pickVictim(ConntrackTable table, long now) {
        MemorySegment segment = table.segment();
        int capacity = table.capacity();
        int hand = segment.get(JAVA_INT, H_CLOCK_HAND);
        int best = -1;
        int bestClass = Integer.MAX_VALUE;
        long bestSeen = 0;
        for (int n = 0; n < ConntrackTable.EVICTION_SAMPLE && bestClass > 0; n++) {
            int e = hand >= capacity ? 0 : hand;
            hand = e + 1;
            long off = table.entry(e);
            int flags = segment.get(JAVA_SHORT, off + E_FLAGS);
            if ((flags & FLAG_IN_USE) == 0) {
                continue;
            }
            long seen = ConntrackTable.lastSeen(segment, off, table.timeouts());
            if (now - seen <= 0) {
                continue;
            }
            int cls = evictionClass(segment, off, flags, now);
            if (cls < bestClass || cls == bestClass && seen - bestSeen < 0) {
                best = e;
                bestClass = cls;
                bestSeen = seen;
            }
        }
        segment.set(JAVA_INT, H_CLOCK_HAND, hand >= capacity ? 0 : hand);
        return best;
    }

    /** 0 expired, 1 closing or unreplied, 2 live (see the class comment). */
    static int evictionClass(MemorySegment segment, long off, int flags, long now) {
        if (now - segment.get(JAVA_LONG, off + E_EXPIRES_AT) >= 0) {
            return 0;
        }
        boolean closing = segment.get(JAVA_BYTE, off + E_PROTOCOL) == ConntrackTable.IPPROTO_TCP
                && TcpState.isClosing(segment.get(JAVA_BYTE, off + E_TCP_STATE));
        return closing || (flags & FLAG_SEEN_REPLY) == 0 ? 1 : 2;
    }
}
