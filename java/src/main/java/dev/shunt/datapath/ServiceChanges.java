package dev.shunt.datapath;

import dev.shunt.service.ServiceTable;

import java.util.ArrayList;
import java.util.List;

/**
 * What the connection table must forget when one Service snapshot replaces another, computed on
 * the control plane's thread and applied by the poll thread:
 * <ul>
 *   <li>a backend that is gone from a Service port: its flows are purged, so a UDP client's next
 *       datagram picks a live backend instead of going on into the void (the long-standing
 *       kube-proxy conntrack complaint);</li>
 *   <li>a backend that became terminating: only its unestablished flows are purged, its
 *       established ones drain;</li>
 *   <li>a Service port that is gone: all its flows are purged.</li>
 * </ul>
 * Backends are matched by address, port and protocol, so a pod that backs two Services and leaves
 * one loses its flows of both; the pod is normally going away as a whole.
 */
public final class ServiceChanges {
    /**
     * One purge for the poll thread. {@code services} is set for {@link Kind#ADOPTED} only: the
     * snapshot the flows of an adopted table are checked against.
     */
    public record Purge(Kind kind, int ip, int port, int protocol, int servicePortId, boolean drain, ServiceTable services) {
        public enum Kind { BACKEND, SERVICE_PORT, ADOPTED }

        public Purge(Kind kind, int ip, int port, int protocol, int servicePortId, boolean drain) {
            this(kind, ip, port, protocol, servicePortId, drain, null);
        }

        /** Applies the purge to {@code table}; returns the flows removed. */
        public int applyTo(ConntrackTable table) {
            return switch (kind) {
                case BACKEND -> table.purgeBackend(ip, port, protocol, drain);
                case SERVICE_PORT -> table.purgeServicePort(servicePortId);
                case ADOPTED -> ConntrackPurge.adopted(table, services);
            };
        }
    }

    private ServiceChanges() {}

    /**
     * The check of a table adopted from a previous agent process against the first Service
     * snapshot of this one: the old process's snapshots are gone, so {@link #between} has nothing
     * to compare with. Each Service flow is looked up by what it stores (its original destination
     * as a ClusterIP port or a node port, and its Service port id, which is derived from VIP,
     * protocol and port): flows whose Service port is gone or whose backend is no longer an
     * endpoint are purged, flows to a backend that is now terminating drain, as they would have
     * had the change happened while the agent ran.
     */
    public static Purge adopted(ServiceTable after) {
        return new Purge(Purge.Kind.ADOPTED, 0, 0, 0, 0, true, after);
    }

    public static List<Purge> between(ServiceTable before, ServiceTable after) {
        List<Purge> purges = new ArrayList<>();
        for (int e = 0; e < before.entryCount(); e++) {
            int next = after.findClusterIp(before.vip(e), before.protocol(e), before.port(e));
            if (next < 0) {
                purges.add(new Purge(Purge.Kind.SERVICE_PORT, 0, 0, before.protocol(e), before.servicePortId(e), false));
                continue;
            }
            for (int b = 0; b < before.backendCount(e); b++) {
                int ip = before.backendIp(e, b);
                int port = before.backendPort(e, b);
                int now = after.backendIndex(next, ip, port);
                if (now < 0) {
                    purges.add(new Purge(Purge.Kind.BACKEND, ip, port, before.protocol(e), 0, false));
                } else if (after.backendTerminating(next, now) && !before.backendTerminating(e, b)) {
                    purges.add(new Purge(Purge.Kind.BACKEND, ip, port, before.protocol(e), 0, true));
                }
            }
        }
        return purges;
    }
}
