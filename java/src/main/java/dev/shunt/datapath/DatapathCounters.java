package dev.shunt.datapath;

import dev.shunt.packet.DropReason;

/**
 * What the pipeline did with every frame it received: each ends in exactly one outcome, so
 * {@code received == forwarded + answered + parseDrops + pipelineDrops} always holds. Written by
 * the poll thread only (plain increments); readers (stats, tests) may see values a few packets old.
 */
public final class DatapathCounters {
    long received;
    long forwarded;
    long answered;
    final long[] parseDrops = new long[DropReason.COUNT];
    final long[] pipelineDrops = new long[PipelineDrop.COUNT];
    /** Not outcomes: things that happened along the way. */
    long natTranslations;
    long newFlows;
    long serviceRejects;
    long icmpErrorsTranslated;
    long flowsPurged;
    long fragmentsSent;
    long establishedPath;

    public long received() {
        return received;
    }

    /** Sent on, possibly rewritten. */
    public long forwarded() {
        return forwarded;
    }

    /** Answered by Shunt itself instead of forwarded (ARP, echo replies, rejects, ICMP errors). */
    public long answered() {
        return answered;
    }

    public long parseDrops(DropReason reason) {
        return parseDrops[reason.ordinal()];
    }

    public long pipelineDrops(PipelineDrop reason) {
        return pipelineDrops[reason.ordinal()];
    }

    public long dropped() {
        long total = 0;
        for (long d : parseDrops) {
            total += d;
        }
        for (long d : pipelineDrops) {
            total += d;
        }
        return total;
    }

    /** Fragments sent for packets longer than their output port's MTU (without DF). */
    public long fragmentsSent() {
        return fragmentsSent;
    }

    public long natTranslations() {
        return natTranslations;
    }

    public long newFlows() {
        return newFlows;
    }

    /** New flows to a Service port without endpoints, refused with a TCP reset or ICMP port unreachable. */
    public long serviceRejects() {
        return serviceRejects;
    }

    /** Flows removed because their backend or Service port went away (or stopped taking new flows). */
    public long flowsPurged() {
        return flowsPurged;
    }

    public long icmpErrorsTranslated() {
        return icmpErrorsTranslated;
    }

    /**
     * Of {@link #forwarded()}, the frames the established path took (plain IPv4 TCP/UDP of a
     * tracked flow, or routed without NAT, read at raw addresses of a native buffer); the rest
     * went the general way: new flows to Services and SYNs of tracked ones, ICMP, what the host
     * port hands over, and frames with IP options, VLAN tags or fragments.
     */
    public long establishedPath() {
        return establishedPath;
    }

    @Override
    public String toString() {
        return "received " + received + ", forwarded " + forwarded + ", answered " + answered + ", dropped " + dropped();
    }
}
