package dev.shunt.netlink;

/** A queueing discipline (RTM_NEWQDISC) as {@code tc -j qdisc show} lists it. */
public record Qdisc(int index, String kind, int handle, int parent) {}
