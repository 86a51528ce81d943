package dev.shunt.datapath;

import java.lang.foreign.MemorySegment;

import static dev.shunt.datapath.ConntrackDescriptor.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The control-plane scans behind {@link ConntrackTable#purgeBackend},
 * {@link ConntrackTable#purgeServicePort} and {@link ServiceChanges#adopted}: one pass over the
 * used entries (below the high-water mark), run by the table's owner thread between batches.
 * Purged flows count as removes and as purged.
 */
final class ConntrackPurge {
    private ConntrackPurge() {}

    static int backend(ConntrackTable table, int backendIp, int backendPort, int protocol, boolean drain) {
        MemorySegment segment = table.segment();
        int highWater = segment.get(JAVA_INT, H_HIGH_WATER);
        int purged = 0;
        for (int e = 0; e < highWater; e++) {
            long off = table.entry(e);
            int flags = segment.get(JAVA_SHORT, off + E_FLAGS) & 0xffff;
            if ((flags & (FLAG_IN_USE | FLAG_DNAT)) != (FLAG_IN_USE | FLAG_DNAT)) {
                continue;
            }
            int p = segment.get(JAVA_BYTE, off + E_PROTOCOL) & 0xff;
            int replyPorts = segment.get(JAVA_INT, off + E_REPLY_PORTS);
            if ((int) (segment.get(JAVA_LONG, off + E_REPLY_IPS) >>> 32) != backendIp
                    || protocol != ConntrackTable.ANY && p != protocol
                    || backendPort != ConntrackTable.ANY && replyPorts >>> 16 != backendPort) {
                continue;
            }
            if (drain && isConnection(p, segment.get(JAVA_BYTE, off + E_TCP_STATE), flags)) {
                segment.set(JAVA_SHORT, off + E_FLAGS, (short) (flags | FLAG_DRAINING));
            } else {
                purge(table, e);
                purged++;
            }
        }
        return purged;
    }

    /**
     * A flow that a draining backend keeps: both directions seen and, for TCP, the connection is
     * established or closing (not a handshake, not TIME_WAIT or CLOSE).
     */
    static boolean isConnection(int protocol, int tcpState, int flags) {
        return (flags & FLAG_SEEN_REPLY) != 0
                && (protocol != ConntrackTable.IPPROTO_TCP
                    || tcpState >= TcpState.ESTABLISHED && tcpState <= TcpState.LAST_ACK);
    }

    static int servicePort(ConntrackTable table, int servicePortId) {
        MemorySegment segment = table.segment();
        int highWater = segment.get(JAVA_INT, H_HIGH_WATER);
        int purged = 0;
        for (int e = 0; e < highWater; e++) {
            if (table.inUse(e) && segment.get(JAVA_INT, table.extra(e) + X_SERVICE_PORT_ID) == servicePortId) {
                purge(table, e);
                purged++;
            }
        }
        return purged;
    }

    /** See {@link ServiceChanges#adopted}. */
    static int adopted(ConntrackTable table, dev.shunt.service.ServiceTable services) {
        MemorySegment segment = table.segment();
        int highWater = segment.get(JAVA_INT, H_HIGH_WATER);
        int purged = 0;
        for (int e = 0; e < highWater; e++) {
            long off = table.entry(e);
            int flags = segment.get(JAVA_SHORT, off + E_FLAGS) & 0xffff;
            if ((flags & (FLAG_IN_USE | FLAG_DNAT)) != (FLAG_IN_USE | FLAG_DNAT)) {
                continue;
            }
            int p = segment.get(JAVA_BYTE, off + E_PROTOCOL) & 0xff;
            int origPorts = segment.get(JAVA_INT, off + E_ORIG_PORTS);
            int entry = services.findClusterIp((int) segment.get(JAVA_LONG, off + E_ORIG_IPS), p, origPorts & 0xffff);
            if (entry < 0) {
                entry = services.findNodePort(p, origPorts & 0xffff);
            }
            int backend = -1;
            if (entry >= 0 && services.servicePortId(entry) == segment.get(JAVA_INT, table.extra(e) + X_SERVICE_PORT_ID)) {
                backend = services.backendIndex(entry, (int) (segment.get(JAVA_LONG, off + E_REPLY_IPS) >>> 32),
                        segment.get(JAVA_INT, off + E_REPLY_PORTS) >>> 16);
            }
            if (backend >= 0 && (!services.backendTerminating(entry, backend)
                    || isConnection(p, segment.get(JAVA_BYTE, off + E_TCP_STATE), flags))) {
                if (services.backendTerminating(entry, backend)) {
                    segment.set(JAVA_SHORT, off + E_FLAGS, (short) (flags | FLAG_DRAINING));
                }
                continue;
            }
            purge(table, e);
            purged++;
        }
        return purged;
    }

    private static void purge(ConntrackTable table, int e) {
        table.free(e, H_REMOVES);
        table.headerAdd(H_PURGED, 1);
    }
}
