package dev.shunt.datapath;

/**
 * Why the pipeline dropped a frame that parsed well (parse failures are counted by
 * {@link dev.shunt.packet.DropReason}). A fixed set, so counters are an array.
 */
public enum PipelineDrop {
    /** IPv6 is parsed but not forwarded yet: the lab cluster is IPv4. */
    IPV6_NOT_FORWARDED,
    /** An ARP reply, a gratuitous ARP or an address probe: nothing to answer. */
    ARP_IGNORED,
    /** A pod sent from an address that is not its own (anti-spoofing). */
    POD_SOURCE_MISMATCH,
    /** Addressed to the gateway 169.254.1.1 but not a ping. */
    GATEWAY_NOT_PING,
    /** A non-first fragment to a Service VIP: its ports are in the first fragment only, so it cannot be balanced. */
    FRAGMENT_TO_SERVICE,
    /** The connection table was full and nothing could be evicted. */
    CONNTRACK_FULL,
    /** The NAT choice collided with a live flow's tuple. */
    CONNTRACK_CLASH,
    /** TTL would reach 0 (an ICMP time-exceeded was sent when possible). */
    TTL_EXCEEDED,
    /**
     * Longer than the output port's MTU with DF set: an ICMP fragmentation-needed with the port's
     * MTU went back to the sender (RFC 1191 path MTU discovery), as a router's would.
     */
    FRAGMENTATION_NEEDED,
    /** Longer than the output port's MTU, without DF, and not splittable (IP options): see {@link Ipv4Fragmenter}. */
    TOO_BIG,
    /** The route names a port that is not attached (a pod being removed). */
    NO_PORT,
    /** Would go back out of the port it came from (not a pod hairpin, which goes through NAT). */
    LOOP,
    /** The output port refused the frame (TX ring full, or an offload it cannot do: its counters say which). */
    TX_FULL,
    /** A refusal RFC 1122/793 forbids answering (a reset to a reset, an error about an ICMP error): dropped. */
    REFUSED_SILENTLY,
    /** A multicast or broadcast destination: the fast path routes unicast only. */
    NOT_UNICAST,
    /** Not IPv4, IPv6 or ARP (parsed, but nothing to do with it). */
    OTHER_ETHERTYPE;

    public static final int COUNT = values().length;
}
