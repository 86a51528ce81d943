package dev.shunt.agent;

import dev.shunt.datapath.DatapathCounters;
import dev.shunt.datapath.PipelineDrop;
import dev.shunt.packet.DropReason;

import java.util.LinkedHashMap;
import java.util.Map;

/** The fast path's counters as JSON-ready data: outcomes, and drops by reason (non-zero ones). */
final class Stats {
    private Stats() {}

    static Map<String, Object> of(DatapathCounters c, Map<String, dev.shunt.port.PortCounters> ports,
                                  dev.shunt.datapath.ConntrackTable conntrack) {
        Map<String, Object> out = of(c, ports);
        // Read off the poll thread: aligned longs in the table's header, untorn, possibly a batch old.
        Map<String, Long> table = new LinkedHashMap<>();
        table.put("live", (long) conntrack.live());
        table.put("capacity", (long) conntrack.capacity());
        table.put("generation", conntrack.generation());
        table.put("inserts", conntrack.inserts());
        table.put("lookupHits", conntrack.lookupHits());
        table.put("lookupMisses", conntrack.lookupMisses());
        table.put("expired", conntrack.expired());
        table.put("evicted", conntrack.evicted());
        out.put("conntrack", table);
        return out;
    }

    static Map<String, Object> of(DatapathCounters c, Map<String, dev.shunt.port.PortCounters> ports) {
        Map<String, Object> out = of(c);
        Map<String, Object> perPort = new LinkedHashMap<>();
        ports.forEach((name, p) -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("rxPackets", p.rxPackets());
            m.put("rxBytes", p.rxBytes());
            m.put("txPackets", p.txPackets());
            m.put("txBytes", p.txBytes());
            m.put("rxDropped", p.rxDropped());
            m.put("txDropped", p.txDropped());
            m.put("drops", portDrops(p));
            perPort.put(name, m);
        });
        out.put("ports", perPort);
        return out;
    }

    /** The port's losses by reason, non-zero ones: they add up to its rxDropped and txDropped. */
    private static Map<String, Long> portDrops(dev.shunt.port.PortCounters p) {
        Map<String, Long> drops = new LinkedHashMap<>();
        putNonZero(drops, "rxRingOverrun", p.rxRingOverrun());
        putNonZero(drops, "rxTruncated", p.rxTruncated());
        putNonZero(drops, "txRingFull", p.txRingFull());
        putNonZero(drops, "txInvalidLength", p.txInvalidLength());
        putNonZero(drops, "txWrongFormat", p.txWrongFormat());
        putNonZero(drops, "txOffloadRefused", p.txOffloadRefused());
        putNonZero(drops, "txSendErrors", p.txSendErrors());
        return drops;
    }

    private static void putNonZero(Map<String, Long> map, String key, long value) {
        if (value != 0) {
            map.put(key, value);
        }
    }

    static Map<String, Object> of(DatapathCounters c) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("received", c.received());
        out.put("forwarded", c.forwarded());
        out.put("answered", c.answered());
        out.put("dropped", c.dropped());
        Map<String, Long> drops = new LinkedHashMap<>();
        for (DropReason r : DropReason.values()) {
            if (r != DropReason.OK && c.parseDrops(r) > 0) {
                drops.put(r.name(), c.parseDrops(r));
            }
        }
        for (PipelineDrop r : PipelineDrop.values()) {
            if (c.pipelineDrops(r) > 0) {
                drops.put(r.name(), c.pipelineDrops(r));
            }
        }
        out.put("drops", drops);
        out.put("newFlows", c.newFlows());
        out.put("natTranslations", c.natTranslations());
        out.put("establishedPath", c.establishedPath());
        out.put("serviceRejects", c.serviceRejects());
        out.put("flowsPurged", c.flowsPurged());
        out.put("fragmentsSent", c.fragmentsSent());
        return out;
    }
}
