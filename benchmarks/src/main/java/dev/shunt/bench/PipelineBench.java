package dev.shunt.bench;

import dev.shunt.datapath.AffinityTable;
import dev.shunt.datapath.ConntrackTable;
import dev.shunt.datapath.ConntrackTimeouts;
import dev.shunt.datapath.DatapathCounters;
import dev.shunt.datapath.ForwardingTable;
import dev.shunt.datapath.Pipeline;
import dev.shunt.packet.Checksums;
import dev.shunt.packet.NetworkOrder;
import dev.shunt.packet.PacketBuilder;
import dev.shunt.packet.TcpView;
import dev.shunt.port.Port;
import dev.shunt.port.PortCounters;
import dev.shunt.port.RxBatch;
import dev.shunt.service.Endpoint;
import dev.shunt.service.Protocol;
import dev.shunt.service.Service;
import dev.shunt.service.ServicePort;
import dev.shunt.service.ServiceTable;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The fast path per packet: {@link Pipeline#process} on batches of 32 TCP/IPv4 frames from a pod
 * to a ClusterIP, through ports that copy into preallocated memory (no allocation on transmit).
 * Reported per packet ({@code @OperationsPerInvocation(32)}); each op first copies the 32 frames
 * into the receive buffer, as a ring would hold them (that copy is measured alone by
 * {@link #refillOnly}).
 *
 * <ul>
 *   <li>{@code services}: Services in the ServiceTable (one TCP port, 2 endpoints each); the
 *       traffic uses one of them.</li>
 *   <li>{@code traffic=established}: data segments of 1024 open connections (conntrack hit,
 *       DNAT, TTL, MACs).</li>
 *   <li>{@code traffic=newflow}: SYNs, each from a new source port (conntrack miss, ClusterIP
 *       lookup, Maglev pick, insert of both tuples, DNAT). The SYN_SENT timeout is shortened to
 *       64 ops so the table stays at ~2-3k flows: every flow is freed by the pipeline's own
 *       per-batch expiry (clock hand), as in a node's steady state, and that cost is included.</li>
 *   <li>{@code traffic=podtopod}: data segments of 1024 connections from a pod straight to another
 *       pod's address: not tracked (only Service flows are), so a conntrack miss, then routing
 *       without NAT (TTL, MACs).</li>
 * </ul>
 * Run with {@code -prof gc}: gc.alloc.rate.norm must be ~0 B/op.
 */
@OperationsPerInvocation(PipelineBench.BATCH)
public class PipelineBench extends BenchmarkDefaults {
    static final int BATCH = 32;
    static final int FLOWS = 1024;
    /** Receive slot stride: the 118-byte test frames fit, so a batch is one contiguous 4 KiB copy. */
    static final int SLOT = 128;
    static final long TICK = 1_000; // synthetic ns per op
    static final int HOST = 0, CLIENT = 1, B1 = 2, B2 = 3;
    static final long GW = ForwardingTable.GATEWAY_MAC;

    @Param({"1", "1000", "100000"})
    public int services;

    @Param({"established", "newflow", "podtopod"})
    public String traffic;

    Pipeline pipeline;
    ConntrackTable conntrack;
    SinkPort[] ports;
    RxBatch batch;
    MemorySegment rx;
    MemorySegment templates;
    int[] lengths;
    boolean newFlow;
    boolean podToPod;
    int next;
    int sourcePort = 1024;
    long now = 1_000_000_000L;
    long setupFlows;

    @Setup(Level.Trial)
    public void setUp() {
        int client = ip("10.244.1.2");
        ForwardingTable fwd = ForwardingTable.builder(HOST).hostMac(0x02000000000aL)
                .pod(client, CLIENT, 0x020000000011L)
                .pod(ip("10.244.1.3"), B1, 0x020000000012L)
                .pod(ip("10.244.1.4"), B2, 0x020000000013L).build();
        newFlow = traffic.equals("newflow");
        podToPod = traffic.equals("podtopod");
        ConntrackTimeouts timeouts = ConntrackTimeouts.kernelDefaults(TimeUnit.NANOSECONDS);
        if (newFlow) {
            timeouts = timeouts.withTicks(ConntrackTimeouts.Kind.TCP_SYN_SENT, 64 * TICK);
        }
        conntrack = ConntrackTable.allocate(Arena.ofAuto(), 1 << 14, timeouts, 0x5eedL);
        pipeline = new Pipeline(conntrack, new AffinityTable(1024), fwd, 42);
        ports = new SinkPort[4];
        for (int p = 0; p < ports.length; p++) {
            ports[p] = new SinkPort(p);
            pipeline.attach(ports[p]);
        }
        List<Endpoint> endpoints = List.of(Endpoint.ready(addr(ip("10.244.1.3")), "n1"), Endpoint.ready(addr(ip("10.244.1.4")), "n1"));
        List<Service> all = new ArrayList<>(services);
        int base = ip("10.96.0.1");
        for (int i = 0; i < services; i++) {
            all.add(Service.clusterIp("svc-" + i, addr(base + i), List.of(ServicePort.of(Protocol.TCP, 80, 8080)), endpoints));
        }
        pipeline.setServices(ServiceTable.build(all, "n1"));
        String vip = text(base + services / 2);
        String clientIp = text(client);
        String podIp = "10.244.1.3";

        batch = new RxBatch(BATCH);
        rx = Arena.ofAuto().allocate((long) BATCH * SLOT, 64);
        int count = newFlow ? BATCH : FLOWS;
        templates = Arena.ofAuto().allocate((long) count * SLOT, 64);
        lengths = new int[count];
        for (int k = 0; k < count; k++) {
            int sport = 10_000 + k;
            byte[] frame = newFlow ? frame(clientIp, vip, sport, 80, TcpView.SYN, 1, 0, 0)
                    : podToPod ? frame(clientIp, podIp, sport, 8080, TcpView.PSH | TcpView.ACK, 2, 2, 64)
                    : frame(clientIp, vip, sport, 80, TcpView.PSH | TcpView.ACK, 2, 2, 64);
            if (frame.length > SLOT) {
                throw new IllegalStateException("a " + frame.length + "-byte frame does not fit a " + SLOT + "-byte slot");
            }
            MemorySegment.copy(MemorySegment.ofArray(frame), 0, templates, (long) k * SLOT, frame.length);
            lengths[k] = frame.length;
            if (!newFlow && !podToPod) { // open the connection: SYN, SYN-ACK from its backend, ACK
                one(CLIENT, frame(clientIp, vip, sport, 80, TcpView.SYN, 1, 0, 0));
                int h = conntrack.lookup(client, base + services / 2, sport, 80, ConntrackTable.IPPROTO_TCP, now);
                int backend = conntrack.backendIp(h);
                int port = backend == ip("10.244.1.3") ? B1 : B2;
                one(port, frame(text(backend), clientIp, 8080, sport, TcpView.SYN | TcpView.ACK, 1, 2, 0));
                one(CLIENT, frame(clientIp, vip, sport, 80, TcpView.ACK, 2, 2, 0));
            }
        }
        setupFlows = pipeline.counters().newFlows();
    }

    private void one(int port, byte[] frame) {
        batch.reset(rx);
        MemorySegment.copy(MemorySegment.ofArray(frame), 0, rx, 0, frame.length);
        batch.add(0, frame.length);
        pipeline.process(ports[port], batch, now += TICK);
    }

    @TearDown(Level.Trial)
    public void check() {
        DatapathCounters c = pipeline.counters();
        long flows = c.newFlows() - setupFlows;
        long expected = newFlow ? c.received() - setupFlows : 0;
        if (c.forwarded() != c.received() || flows != expected || conntrack.evicted() != 0 || conntrack.insertFailures() != 0) {
            throw new IllegalStateException("the benchmark did not measure what it says: " + c + ", new flows " + flows
                    + " (expected " + expected + "), conntrack live " + conntrack.live() + " evicted " + conntrack.evicted());
        }
        // Nothing is printed when the check passes: JMH prints a trial's last iteration score after
        // this teardown, so a line printed here would split "Iteration 5: <score>" in two.
    }

    /**
     * Copies the next 32 frames into the receive buffer in one bulk copy (the templates sit in
     * receive-slot order, and the template count is a multiple of 32); for new flows, gives each a
     * new source port. A ring hands the pipeline frames the kernel wrote: this copy stands in for
     * that, so it is kept as small as it can be and measured alone by {@link #refillOnly}.
     */
    private void refill() {
        batch.reset(rx);
        int k0 = next;
        next = k0 + BATCH == lengths.length ? 0 : k0 + BATCH;
        MemorySegment.copy(templates, (long) k0 * SLOT, rx, 0, (long) BATCH * SLOT);
        for (int i = 0; i < BATCH; i++) {
            long off = (long) i * SLOT;
            if (newFlow) {
                long l4 = off + 34;
                int old = NetworkOrder.u16(rx, l4);
                int port = sourcePort = sourcePort == 65535 ? 1024 : sourcePort + 1;
                NetworkOrder.setU16(rx, l4, port);
                NetworkOrder.setU16(rx, l4 + 16, Checksums.update16(NetworkOrder.u16(rx, l4 + 16), old, port));
            }
            batch.add(off, lengths[k0 + i]);
        }
    }

    @Benchmark
    public int packet() {
        refill();
        return pipeline.process(ports[CLIENT], batch, now += TICK);
    }

    /** The receive-side copy alone, to subtract from {@link #packet}. */
    @Benchmark
    public RxBatch refillOnly() {
        refill();
        return batch;
    }

    static byte[] frame(String src, String dst, int sport, int dport, int flags, int seq, int ack, int payload) {
        return new PacketBuilder().macs(0x020000000010L, GW).ipv4(src, dst).tcp(sport, dport).tcpFlags(flags)
                .sequence(seq).acknowledgment(ack).payload(new byte[payload]).build();
    }

    static int ip(String s) {
        return ServiceTable.ipv4((Inet4Address) InetAddress.ofLiteral(s));
    }

    static Inet4Address addr(int ip) {
        return (Inet4Address) InetAddress.ofLiteral(text(ip));
    }

    static String text(int ip) {
        return (ip >>> 24) + "." + (ip >>> 16 & 0xff) + "." + (ip >>> 8 & 0xff) + "." + (ip & 0xff);
    }

    /** A port that copies transmitted frames into preallocated slots and allocates nothing. */
    static final class SinkPort implements Port {
        private final int id;
        private final MemorySegment slots = Arena.ofAuto().allocate(64L * 2048, 64);
        private final PortCounters counters = new PortCounters();
        private int pending;

        SinkPort(int id) {
            this.id = id;
        }

        @Override public int id() { return id; }
        @Override public String name() { return "sink" + id; }
        @Override public int receive(RxBatch b) { return 0; }
        @Override public void release(RxBatch b) { }
        @Override public void flush() { pending = 0; }
        @Override public PortCounters counters() { return counters; }

        @Override
        public boolean transmit(MemorySegment frame, long offset, int length) {
            if (pending == 64 || length > 2048) {
                counters.countTxDropped();
                return false;
            }
            MemorySegment.copy(frame, offset, slots, pending++ * 2048L, length);
            counters.countTx(length);
            return true;
        }
    }
}
