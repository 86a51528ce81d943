package dev.shunt.datapath;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

import static dev.shunt.datapath.ConntrackDescriptor.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A copy of the connection table's live flows taken by another thread than the poll thread that
 * owns the table (the agent's API thread, for {@code shunt flows}), without stopping or slowing
 * the poll thread: the table has no lock and its writer publishes nothing for readers.
 *
 * <p>Consistency: the table's insert writes a whole entry before it sets the entry's in-use flag
 * (a release store), and a free clears the flag before the entry can be reused. Each entry is read
 * optimistically, like the read side of a seqlock whose sequence is the entry's identity: the flag
 * (acquire), creation time and tuples, then every other field, then the identity again; if it
 * changed (the entry was freed or reused meanwhile) the entry is read again, at most
 * {@value #ATTEMPTS} times, then left out. A flow therefore never mixes two connections (unless
 * an entry were freed and reused for the very same tuples within one clock tick, which the fast
 * path does not do), but its state, timestamps and counters may be a few packets apart from each
 * other, and the snapshot as a whole is not one instant (flows created or removed during the scan
 * may or may not appear). The free's ordering relies on x86-64's store order (TSO). Reads stay inside the table's segment whatever
 * the writer does (the high-water mark is clamped to the capacity), so a scan never fails.
 * The segment must be readable from the calling thread (a global, automatic or shared arena).
 */
public final class ConntrackSnapshot {
    private static final int ATTEMPTS = 4;
    private static final VarHandle FLAGS = JAVA_SHORT.varHandle();

    private ConntrackSnapshot() {}

    /**
     * One flow as copied. IPv4 addresses are ints as the table keeps them; times are in the
     * table's clock ({@link System#nanoTime()} for the agent's table).
     */
    public record Flow(int protocol, int tcpState, int flags,
                       int origSrcIp, int origDstIp, int origSrcPort, int origDstPort,
                       int replySrcIp, int replyDstIp, int replySrcPort, int replyDstPort,
                       int servicePortId, long createdAt, long lastSeen, long expiresAt,
                       long origPackets, long origBytes, long replyPackets, long replyBytes) {
        public boolean has(int flag) {
            return (flags & flag) != 0;
        }
    }

    /** Up to {@code limit} live flows (expired ones not yet collected included), in entry order. */
    public static List<Flow> take(ConntrackTable table, int limit) {
        MemorySegment s = table.segment();
        int capacity = table.capacity();
        int highWater = Math.min(Math.max(s.get(JAVA_INT, H_HIGH_WATER), 0), capacity);
        List<Flow> flows = new ArrayList<>();
        // Offsets from the layout, the table's published contract (ConntrackDescriptor).
        long entries = entriesOffset(table.indexSlots());
        long extras = extrasOffset(table.indexSlots(), capacity);
        ConntrackTimeouts timeouts = table.timeouts();
        for (int e = 0; e < highWater && flows.size() < limit; e++) {
            Flow flow = read(s, entries + ((long) e << ENTRY_SHIFT), extras + ((long) e << EXTRAS_SHIFT), timeouts);
            if (flow != null) {
                flows.add(flow);
            }
        }
        return flows;
    }

    private static Flow read(MemorySegment s, long off, long extra, ConntrackTimeouts timeouts) {
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            int flags = (short) FLAGS.getAcquire(s, off + E_FLAGS) & 0xffff;
            if ((flags & FLAG_IN_USE) == 0) {
                return null;
            }
            long created = s.get(JAVA_LONG, extra + X_CREATED);
            long origIps = s.get(JAVA_LONG, off + E_ORIG_IPS);
            int origPorts = s.get(JAVA_INT, off + E_ORIG_PORTS);
            VarHandle.acquireFence();
            long replyIps = s.get(JAVA_LONG, off + E_REPLY_IPS);
            int replyPorts = s.get(JAVA_INT, off + E_REPLY_PORTS);
            int protocol = s.get(JAVA_BYTE, off + E_PROTOCOL) & 0xff;
            int tcpState = s.get(JAVA_BYTE, off + E_TCP_STATE);
            int servicePortId = s.get(JAVA_INT, extra + X_SERVICE_PORT_ID);
            long expiresAt = s.get(JAVA_LONG, off + E_EXPIRES_AT);
            long origPackets = ConntrackTable.packets(s, off, ConntrackTable.ORIGINAL);
            long origBytes = ConntrackTable.bytes(s, off, ConntrackTable.ORIGINAL);
            long replyPackets = ConntrackTable.packets(s, off, ConntrackTable.REPLY);
            long replyBytes = ConntrackTable.bytes(s, off, ConntrackTable.REPLY);
            int flagsNow = s.get(JAVA_SHORT, off + E_FLAGS) & 0xffff;
            // Not stored: the expiry time minus the timeout of the state read with it (ConntrackTable#lastSeen).
            long lastSeen = expiresAt - timeouts.timeout(protocol, tcpState, (flagsNow & FLAG_SEEN_REPLY) != 0);
            VarHandle.acquireFence();
            if ((flagsNow & FLAG_IN_USE) != 0 && s.get(JAVA_LONG, extra + X_CREATED) == created
                    && s.get(JAVA_LONG, off + E_ORIG_IPS) == origIps && s.get(JAVA_INT, off + E_ORIG_PORTS) == origPorts
                    && s.get(JAVA_LONG, off + E_REPLY_IPS) == replyIps && s.get(JAVA_INT, off + E_REPLY_PORTS) == replyPorts) {
                return new Flow(protocol, tcpState, flagsNow,
                        (int) (origIps >>> 32), (int) origIps, origPorts >>> 16, origPorts & 0xffff,
                        (int) (replyIps >>> 32), (int) replyIps, replyPorts >>> 16, replyPorts & 0xffff,
                        servicePortId, created, lastSeen, expiresAt, origPackets, origBytes, replyPackets, replyBytes);
            }
        }
        return null;
    }
}
