package dev.shunt.agent;

import dev.shunt.datapath.ConntrackDescriptor;
import dev.shunt.datapath.ConntrackSnapshot;
import dev.shunt.datapath.ConntrackTable;
import dev.shunt.datapath.TcpState;
import dev.shunt.service.ServiceTable;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The connection table as {@code shunt flows} shows it: each flow's original and reply tuples, its
 * NAT, protocol, state, age and the Service (and backend pod) it belongs to, named from the
 * Service snapshot in force and the pods of the moment.
 */
final class FlowReport {
    /** Enough for a human or a test; the JSON says when flows were left out. */
    static final int LIMIT = 10_000;

    private FlowReport() {}

    /**
     * @param service only this Service's flows, or null for all
     * @param nowNanos the table's clock ({@link System#nanoTime()})
     */
    static Map<String, Object> of(ConntrackTable table, ServiceTable services, Map<String, PodRecord> pods, String service,
                                  long nowNanos) {
        Map<Integer, String> serviceById = new HashMap<>();
        for (int e = 0; e < services.entryCount(); e++) {
            serviceById.put(services.servicePortId(e), services.serviceName(e));
        }
        Map<String, String> podByIp = new HashMap<>();
        pods.values().forEach(p -> podByIp.put(p.ip(), p.name()));
        List<ConntrackSnapshot.Flow> flows = ConntrackSnapshot.take(table, LIMIT);
        List<Map<String, Object>> rows = new ArrayList<>();
        for (ConntrackSnapshot.Flow f : flows) {
            boolean dnat = f.has(ConntrackDescriptor.FLAG_DNAT);
            String owner = dnat ? serviceById.get(f.servicePortId()) : null;
            if (service != null && !service.equals(owner)) {
                continue;
            }
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("protocol", protocol(f.protocol()));
            row.put("state", state(f));
            row.put("original", tuple(f.origSrcIp(), f.origSrcPort(), f.origDstIp(), f.origDstPort()));
            row.put("reply", tuple(f.replySrcIp(), f.replySrcPort(), f.replyDstIp(), f.replyDstPort()));
            row.put("nat", dnat ? (f.has(ConntrackDescriptor.FLAG_SNAT) ? "DNAT+SNAT" : "DNAT")
                    : f.has(ConntrackDescriptor.FLAG_SNAT) ? "SNAT" : "none");
            row.put("service", owner);
            String backend = dnat ? ip(f.replySrcIp()) : null;
            row.put("backend", backend == null ? null : backend + ":" + f.replySrcPort());
            row.put("backendPod", backend == null ? null : podByIp.get(backend));
            List<String> flags = new ArrayList<>();
            if (f.has(ConntrackDescriptor.FLAG_SEEN_REPLY)) {
                flags.add("SEEN_REPLY");
            }
            if (f.has(ConntrackDescriptor.FLAG_ASSURED)) {
                flags.add("ASSURED");
            }
            if (f.has(ConntrackDescriptor.FLAG_DRAINING)) {
                flags.add("DRAINING");
            }
            row.put("flags", flags);
            row.put("ageSeconds", seconds(nowNanos - f.createdAt()));
            row.put("idleSeconds", seconds(nowNanos - f.lastSeen()));
            row.put("expiresInSeconds", seconds(f.expiresAt() - nowNanos));
            row.put("packets", Map.of("original", f.origPackets(), "reply", f.replyPackets()));
            row.put("bytes", Map.of("original", f.origBytes(), "reply", f.replyBytes()));
            rows.add(row);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("flows", rows);
        out.put("live", table.live());
        out.put("truncated", flows.size() >= LIMIT);
        return out;
    }

    private static Map<String, Object> tuple(int src, int srcPort, int dst, int dstPort) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("src", ip(src));
        t.put("srcPort", srcPort);
        t.put("dst", ip(dst));
        t.put("dstPort", dstPort);
        return t;
    }

    private static String protocol(int number) {
        return switch (number) {
            case ConntrackTable.IPPROTO_TCP -> "tcp";
            case ConntrackTable.IPPROTO_UDP -> "udp";
            case ConntrackTable.IPPROTO_ICMP -> "icmp";
            default -> Integer.toString(number);
        };
    }

    /** TCP: the tracked state; others: whether the other end answered, as conntrack(8) shows it. */
    private static String state(ConntrackSnapshot.Flow f) {
        if (f.protocol() == ConntrackTable.IPPROTO_TCP) {
            return TcpState.name(f.tcpState());
        }
        if (f.has(ConntrackDescriptor.FLAG_ASSURED)) {
            return "ASSURED";
        }
        return f.has(ConntrackDescriptor.FLAG_SEEN_REPLY) ? "REPLIED" : "UNREPLIED";
    }

    private static double seconds(long nanos) {
        return Math.round(nanos / 1e6) / 1e3;
    }

    static String ip(int address) {
        return (address >>> 24) + "." + (address >>> 16 & 0xff) + "." + (address >>> 8 & 0xff) + "." + (address & 0xff);
    }
}
