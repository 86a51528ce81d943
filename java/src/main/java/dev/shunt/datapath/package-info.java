/**
 * Owns the pipeline, forwarding table, conntrack, NAT, poll loop, counters; uses packet, port,
 * service, and from sys only {@link dev.shunt.sys.NativeMemory} (the conntrack table's accesses,
 * and the established path's reads and writes of frames in native receive buffers); never netlink.
 *
 * <p>Two paths through {@link dev.shunt.datapath.Pipeline}: the established path (plain IPv4
 * TCP/UDP frames of tracked flows, read as {@link dev.shunt.packet.PlainIpv4Frame} words at raw
 * addresses) and the general path (the parser, {@link dev.shunt.packet.PacketMeta}, segment
 * accesses) for everything else; they must agree frame for frame (PipelineFastPathTest).
 *
 * <p>Connection tracking: {@link dev.shunt.datapath.ConntrackTable} (flows and their NAT mapping,
 * off-heap in one position-independent segment laid out by
 * {@link dev.shunt.datapath.ConntrackDescriptor}), {@link dev.shunt.datapath.ConntrackTimeouts}
 * and {@link dev.shunt.datapath.TcpState}. Everything called per packet takes and returns
 * primitives and allocates nothing.
 *
 * <p>{@link dev.shunt.datapath.PipelineCompilation}: where C2 cuts the pipeline into compile units
 * (a compiler directive installed once per JVM when the pipeline is first used).
 *
 * <p>Exports for the control plane: {@link dev.shunt.datapath.ConntrackSnapshot} (a copy of the
 * live flows taken from another thread while the poll thread runs) and
 * {@link dev.shunt.datapath.PacketCapture} (one port's frames recorded as pcap records into a
 * preallocated buffer).
 */
package dev.shunt.datapath;
