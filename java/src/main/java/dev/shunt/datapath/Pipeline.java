package dev.shunt.datapath;

import dev.shunt.packet.ArpView;
import dev.shunt.packet.Checksums;
import dev.shunt.packet.DropReason;
import dev.shunt.packet.EthernetView;
import dev.shunt.packet.IcmpView;
import dev.shunt.packet.Ipv4View;
import dev.shunt.packet.NatRewrites;
import dev.shunt.packet.NetworkOrder;
import dev.shunt.packet.PacketMeta;
import dev.shunt.packet.TcpView;
import dev.shunt.packet.PacketParser;
import dev.shunt.packet.PlainIpv4Frame;
import dev.shunt.port.Port;
import dev.shunt.port.RxBatch;
import dev.shunt.port.VnetHeader;
import dev.shunt.service.Hashing;
import dev.shunt.service.ServicePort;
import dev.shunt.service.ServiceTable;
import dev.shunt.sys.NativeMemory;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedQueue;

import static dev.shunt.datapath.ConntrackTable.ORIGINAL;
import static dev.shunt.datapath.ConntrackTable.REPLY;
import static dev.shunt.packet.PacketDescriptor.ETHERTYPE_ARP;
import static dev.shunt.packet.PacketDescriptor.ETHERTYPE_IPV4;
import static dev.shunt.packet.PacketDescriptor.ETHERTYPE_IPV6;
import static dev.shunt.packet.PacketDescriptor.IPPROTO_ICMP;
import static dev.shunt.packet.PacketDescriptor.IPPROTO_TCP;
import static dev.shunt.packet.PacketDescriptor.IPPROTO_UDP;

/**
 * The fast path: every frame of every port goes parse → conntrack → (for a new flow) classify →
 * pick a backend → NAT → TTL → transmit, or is answered, or is dropped with a counted reason. A
 * plain IPv4 TCP/UDP frame of a tracked flow in a native buffer takes a shorter way to the same
 * outcome, {@link #established}, without the parser.
 *
 * <p>Classification of a new IPv4 flow: a NodePort (frames from the host port only), a ClusterIP
 * port, another port of a ClusterIP (refused), a local pod, another node's pod (overlay), anything
 * else (the host). Only Service flows are tracked: pod-to-pod traffic is routed without NAT, as the
 * Kubernetes network model requires. A pod reaching itself through its Service ("hairpin") is
 * source-NATed to the Service VIP, or its own kernel would drop a packet from its own address.
 *
 * <p>Threading: one poll thread calls {@link #process}. The control plane swaps
 * {@link ForwardingTable}, {@link ServiceTable} and the port array as immutable snapshots through
 * volatile fields; the pipeline reads each once per batch and never locks. Nothing here allocates
 * per packet.
 */
public final class Pipeline {
    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    /*
     * The conntrack clock hand's pace: entries it visits after every batch, a few plus two per
     * flow the batch created, so the sweep outruns the inserts (the table's high-water mark then
     * stays below twice the live flows) while established traffic pays ~0.1 entry per packet; a
     * fixed 64 per batch cost ~5 ns per packet of a full batch and ~200 ns per lone packet.
     * When the poll loop goes idle it sweeps a longer stretch (expireIdle), so flows still expire
     * on a quiet node.
     */
    private static final int EXPIRY_PER_BATCH = 4;
    private static final int EXPIRY_PER_NEW_FLOW = 2;
    /** Entries {@link #expireIdle} visits: ~3 µs, once per idle wake-up of the poll loop. */
    public static final int EXPIRY_IDLE = 1024;
    /** Source ports tried when a new flow's reply tuple clashes with a live flow's. */
    private static final int CLASH_RETRIES = 8;
    private static final int EPHEMERAL_LOW = 1024;

    private final ConntrackTable conntrack;
    private final AffinityTable affinity;
    private final long flowSeed;
    /*
     * No L4 checksum verification (frames from a veth are often CHECKSUM_PARTIAL): the established
     * path, which never verifies one, gives the outcome this parser's path gives only because of
     * that. Turning VERIFY_L4_CHECKSUM on here would need the established path to verify too.
     */
    private final PacketParser parser = new PacketParser(PacketParser.VERIFY_IPV4_CHECKSUM);
    private final PacketMeta meta = new PacketMeta();
    private final Responder responder = new Responder();
    private final Ipv4View ip = new Ipv4View();
    private final Ipv4View inner = new Ipv4View();
    private final DatapathCounters counters = new DatapathCounters();
    /**
     * The offload state (virtio-net header) of the frame in hand: read from the receiving port's
     * header, cleared for ports without one. A forwarded frame leaves with it (GSO size and type,
     * checksum start kept through NAT); frames the fast path builds or answers leave complete.
     */
    private final VnetHeader offload = new VnetHeader();

    private volatile Port[] ports = new Port[0];
    /**
     * Per port id, the largest IP packet it takes (its link MTU), or Integer.MAX_VALUE when the
     * port does not say. Written before {@link #ports} and read after it, so a batch that sees a
     * port also sees its MTU.
     */
    private volatile int[] mtus = new int[0];
    private final Ipv4Fragmenter fragmenter = new Ipv4Fragmenter();
    /** The port fragments of the frame in hand go to; the sink below is created once, not per packet. */
    private int fragmentPort;
    private final Ipv4Fragmenter.Sink fragmentSink = (frame, length) -> send(fragmentPort, frame, 0, length, false, null);
    private volatile ForwardingTable forwarding;
    private volatile ServiceTable services = ServiceTable.empty();
    private final ConcurrentLinkedQueue<ServiceChanges.Purge> pendingPurges = new ConcurrentLinkedQueue<>();
    private volatile PacketCapture capture;
    /** The table was adopted from an earlier process: its flows are checked against the first snapshot. */
    private boolean adoptedFlowsUnchecked;

    // Per batch: the snapshots in use and the ports that have frames to flush.
    private Port[] batchPorts;
    private int[] batchMtus;
    private ForwardingTable fwd;
    private ServiceTable svc;
    /** The capture in use this batch, or null: the only per-frame cost of captures while none runs. */
    private PacketCapture cap;
    private long batchNow;
    /** The in-port is a pod's: IPv4 sources other than {@link #podSource} are dropped (see sourceCheck). */
    private boolean podSourceOnly;
    private int podSource;
    private boolean[] dirty = new boolean[0];
    private int[] dirtyList = new int[0];
    private int dirtyCount;
    /**
     * The address of the frames' segment when {@link #established} may read and write them raw
     * (a native, writable segment: receive rings, in-memory ports), else 0; and the segment's
     * size, below which every frame it reads must end.
     */
    private long frameBase;
    private long frameLimit;

    static {
        PipelineCompilation.ensureInstalled(); // before any method of this class is hot enough for C2
    }

    public Pipeline(ConntrackTable conntrack, AffinityTable affinity, ForwardingTable forwarding, long flowSeed) {
        this.conntrack = conntrack;
        this.affinity = affinity;
        this.forwarding = forwarding;
        this.flowSeed = flowSeed;
        this.adoptedFlowsUnchecked = conntrack.generation() > 0;
    }

    /** Attaches a port without an MTU of its own (in-memory ports in tests). */
    public void attach(Port port) {
        attach(port, 0);
    }

    /**
     * Attaches a port (control plane; copy-on-write). Its id must be unique and small. {@code mtu}
     * is its link's MTU (0: none): longer IPv4 packets routed to it are answered with ICMP
     * fragmentation-needed when they have DF, split into fragments when they have not, as the
     * kernel does for a route through a smaller link.
     */
    public synchronized void attach(Port port, int mtu) {
        if (mtu < 0 || (mtu > 0 && mtu < 68)) {
            throw new IllegalArgumentException("MTU of port " + port.name() + " must be 0 (none) or at least 68 (RFC 791): " + mtu);
        }
        Port[] current = ports;
        Port[] next = Arrays.copyOf(current, Math.max(current.length, port.id() + 1));
        if (next[port.id()] != null) {
            throw new IllegalArgumentException("port id " + port.id() + " is taken by " + next[port.id()].name());
        }
        next[port.id()] = port;
        int[] nextMtus = Arrays.copyOf(mtus, next.length);
        for (int i = mtus.length; i < nextMtus.length; i++) {
            nextMtus[i] = Integer.MAX_VALUE;
        }
        nextMtus[port.id()] = mtu == 0 ? Integer.MAX_VALUE : mtu;
        mtus = nextMtus;
        ports = next;
    }

    /** Detaches a port (control plane); frames routed to it afterwards are dropped as NO_PORT. */
    public synchronized void detach(int portId) {
        Port[] next = ports.clone();
        if (portId < next.length) {
            next[portId] = null;
        }
        ports = next;
    }

    public void setForwarding(ForwardingTable table) {
        forwarding = table;
    }

    /**
     * Swaps in a new Service snapshot. The flows it invalidates (backends gone, backends now
     * terminating, Service ports gone; see {@link ServiceChanges}) are queued first and purged by
     * the poll thread at the start of its next batch, before it reads the new snapshot: the queue
     * is filled before the volatile write that publishes the snapshot, so the poll thread never
     * sees the new Services without their purges.
     *
     * <p>Over an adopted connection table ({@link ConntrackTable#generation()} above 0) the first
     * snapshot is also checked against the adopted flows ({@link ServiceChanges#adopted}): it must
     * hold every Service the agent restored, not the first of several.
     */
    public synchronized void setServices(ServiceTable table) {
        if (adoptedFlowsUnchecked) {
            pendingPurges.add(ServiceChanges.adopted(table));
            adoptedFlowsUnchecked = false;
        }
        pendingPurges.addAll(ServiceChanges.between(services, table));
        services = table;
    }

    /**
     * Starts recording what one port receives and sends into {@code next} (null stops). The poll
     * thread picks it up at its next batch.
     */
    public void setCapture(PacketCapture next) {
        capture = next;
    }

    public ServiceTable services() {
        return services;
    }

    public ConntrackTable conntrack() {
        return conntrack;
    }

    public DatapathCounters counters() {
        return counters;
    }

    /**
     * Runs every frame of {@code batch}, received on {@code in}, through the pipeline, flushes the
     * ports it transmitted on, and expires a few flows. {@code now} is the batch's time in
     * nanoseconds (System.nanoTime()). Returns the number of frames processed.
     */
    public int process(Port in, RxBatch batch, long now) {
        beginBatch();
        long flowsBefore = counters.newFlows;
        MemorySegment segment = batch.segment();
        rawFrames(segment);
        int inPort = in.id();
        batchNow = now;
        boolean vnet = batch.vnetHeaderLength() != 0;
        offload.clear();
        int n = batch.count();
        counters.received += n;
        sourceCheck(inPort);
        if (cap == null && !vnet) { // in-memory and offload-less ports, no capture: nothing but the frames
            for (int i = 0; i < n; i++) {
                frame(inPort, segment, batch.offset(i), batch.length(i), now);
            }
        } else {
            for (int i = 0; i < n; i++) {
                if (cap != null) {
                    cap.record(inPort, segment, batch.offset(i), batch.length(i), now);
                }
                if (vnet) {
                    offload.read(segment, batch.vnetHeaderOffset(i));
                }
                frame(inPort, segment, batch.offset(i), batch.length(i), now);
            }
        }
        endBatch();
        conntrack.expire(now, EXPIRY_PER_BATCH + EXPIRY_PER_NEW_FLOW * (int) (counters.newFlows - flowsBefore));
        conntrack.flushCounters();
        return batch.count();
    }

    /**
     * Expires flows while no packets come: {@link #EXPIRY_IDLE} entries of the clock hand's sweep
     * (the poll thread calls it when it goes to sleep and when it wakes without work). Returns how
     * many flows it freed.
     */
    public int expireIdle(long now) {
        int freed = conntrack.expire(now, EXPIRY_IDLE);
        conntrack.flushCounters();
        return freed;
    }

    /** Receives one batch from {@code in}, processes it and gives the frames back: one poll. */
    public int poll(Port in, RxBatch batch, long now) {
        int n = in.receive(batch);
        if (n > 0) {
            process(in, batch, now);
        }
        in.release(batch);
        return n;
    }

    private void beginBatch() {
        ServiceChanges.Purge purge;
        while ((purge = pendingPurges.poll()) != null) {
            counters.flowsPurged += purge.applyTo(conntrack);
        }
        batchPorts = ports;
        batchMtus = mtus;
        fwd = forwarding;
        svc = services;
        cap = capture;
        if (dirty.length < batchPorts.length) {
            dirty = new boolean[batchPorts.length]; // only when a port was attached: control-plane rate
            dirtyList = new int[batchPorts.length];
        }
    }

    private void endBatch() {
        for (int i = 0; i < dirtyCount; i++) {
            int id = dirtyList[i];
            dirty[id] = false;
            Port p = batchPorts[id];
            if (p != null) {
                p.flush();
            }
        }
        dirtyCount = 0;
    }

    void processFrame(int inPort, MemorySegment s, long off, int len, long now) {
        rawFrames(s);
        counters.received++;
        sourceCheck(inPort);
        frame(inPort, s, off, len, now);
    }

    /** Whether, and at which address, {@link #established} may read the frames of {@code segment}. */
    private void rawFrames(MemorySegment segment) {
        frameBase = segment.isNative() && !segment.isReadOnly() ? segment.address() : 0;
        frameLimit = segment.byteSize();
    }

    /**
     * Anti-spoofing for frames from {@code inPort}, worked out once per batch: a pod's port only
     * passes its pod's address (0 if the port has none: nothing passes).
     */
    private void sourceCheck(int inPort) {
        podSourceOnly = isPodPort(inPort);
        podSource = podSourceOnly ? fwd.podIpOfPort(inPort) : 0;
    }

    /** {@link #processFrame} but for the received counter, which {@link #process} adds once per batch. */
    private void frame(int inPort, MemorySegment s, long off, int len, long now) {
        if (frameBase != 0 && established(inPort, s, off, len, now)) {
            return;
        }
        DropReason parsed = parser.parse(s, off, len, meta);
        if (parsed != DropReason.OK) {
            counters.parseDrops[parsed.ordinal()]++;
            return;
        }
        switch (meta.etherType()) {
            case ETHERTYPE_IPV4 -> ipv4(inPort, s, off, len, now);
            case ETHERTYPE_ARP -> arp(inPort, s, off, len);
            case ETHERTYPE_IPV6 -> drop(PipelineDrop.IPV6_NOT_FORWARDED);
            default -> drop(PipelineDrop.OTHER_ETHERTYPE);
        }
    }

    private void arp(int inPort, MemorySegment s, long off, int len) {
        int sender = meta.src4();
        int target = meta.dst4();
        // Probes (sender 0.0.0.0) and gratuitous ARPs (sender == target) must not be answered, or
        // the pod would believe its own address is taken.
        if (meta.arpOperation() != ArpView.OP_REQUEST || sender == 0 || sender == target) {
            drop(PipelineDrop.ARP_IGNORED);
            return;
        }
        responder.arpReplyInPlace(s, off, meta);
        answer(inPort, s, off, len);
    }

    /**
     * IPv4 on the general path: a TCP or UDP packet is looked up in conntrack ({@link #looked}:
     * a tracked flow's to {@link #tracked}); everything else goes to {@link #untracked}.
     */
    private void ipv4(int inPort, MemorySegment s, long off, int len, long now) {
        int src = meta.src4();
        int dst = meta.dst4();
        int proto = meta.l4Protocol();
        if (podSourceOnly && podSource != src) {
            drop(PipelineDrop.POD_SOURCE_MISMATCH);
            return;
        }
        if (!unicast(dst)) {
            drop(PipelineDrop.NOT_UNICAST);
            return;
        }
        boolean ports = (proto == IPPROTO_TCP || proto == IPPROTO_UDP) && meta.hasL4();
        if (ports && dst != ForwardingTable.GATEWAY_IP) {
            int sport = meta.srcPort();
            int dport = meta.dstPort();
            looked(inPort, s, off, len, now, conntrack.lookup(src, dst, sport, dport, proto, now), src, dst, sport, dport,
                    proto);
            return;
        }
        untracked(inPort, s, off, len, now, src, dst, proto, ports);
    }

    /** {@link #ipv4} once a TCP or UDP packet was looked up in conntrack: {@code h} is its flow, or a miss. */
    private void looked(int inPort, MemorySegment s, long off, int len, long now, int h, int src, int dst, int sport,
            int dport, int proto) {
        if (h >= 0) {
            if ((meta.tcpFlags() & TcpView.SYN) == 0 || proto != IPPROTO_TCP || !closedFlowReused(h)) {
                tracked(inPort, s, off, len, h, src, dst, sport, dport, proto, now);
                return;
            }
            conntrack.remove(h);
        }
        untracked(inPort, s, off, len, now, src, dst, proto, true);
    }

    /**
     * The established path, for a node's steady traffic: a {@link PlainIpv4Frame} of a tracked TCP
     * or UDP flow, read in five words and rewritten in five stores at raw addresses of its (native)
     * buffer, without the parser and {@link PacketMeta}; or of pod traffic no flow tracks and no
     * Service takes, routed as it is ({@link #missed}). Every frame gets the outcome the general path ({@link #ipv4},
     * {@link #looked}, {@link #tracked}, {@link #translateAndForward}) gives it, byte for byte and
     * counter for counter (PipelineFastPathTest runs both on the same frames). Before the
     * conntrack lookup it returns false, having changed nothing, for anything not of its shape or
     * not plain (the gateway, a spoofed source, TTL 1, ...), which the general path then takes from
     * the start. After the lookup it finishes the frame: a new flow to a Service, a SYN and a
     * packet too big for its next hop go on in the general path's later steps
     * ({@link #afterLookup}, {@link #afterUpdate}), so no frame is looked up or accounted twice.
     *
     * <p>Why a second path: every {@code MemorySegment} access costs C2 600-1,200 IR nodes while it
     * compiles, against an inlining budget of 18,000 per compile unit. The general path (parser,
     * PacketMeta, segment accesses) does not fit one unit, and where C2 cuts it depends on the
     * compile order; this one fits (benchmarks/PIPELINE-RESULTS.md, session 7). Frames stay within
     * their buffer: {@code off} and {@code len} are checked against the segment, and every read
     * against {@code len}.
     */
    private boolean established(int inPort, MemorySegment s, long off, int len, long now) {
        if (off < 0 || len < PlainIpv4Frame.MIN_LENGTH || off > frameLimit - len) {
            return false;
        }
        long at = frameBase + off;
        long a = NativeMemory.getLongBigEndian(at + PlainIpv4Frame.WORD_A);
        long b = NativeMemory.getLongBigEndian(at + PlainIpv4Frame.WORD_B);
        long c = NativeMemory.getLongBigEndian(at + PlainIpv4Frame.WORD_C);
        long d = NativeMemory.getLongBigEndian(at + PlainIpv4Frame.WORD_D);
        if (!PlainIpv4Frame.ipv4(a, b, c, len)) {
            return false;
        }
        int proto = PlainIpv4Frame.protocol(b);
        int tcpFlags = 0;
        int l4Checksum;
        if (proto == IPPROTO_TCP) {
            if (len < PlainIpv4Frame.MIN_TCP_LENGTH) {
                return false;
            }
            long t = NativeMemory.getLongBigEndian(at + PlainIpv4Frame.WORD_T);
            if (!PlainIpv4Frame.tcp(a, t)) {
                return false;
            }
            tcpFlags = PlainIpv4Frame.tcpFlags(t);
            l4Checksum = PlainIpv4Frame.tcpChecksum(t);
        } else {
            if (!PlainIpv4Frame.udp(a, d)) {
                return false;
            }
            l4Checksum = PlainIpv4Frame.udpChecksum(d);
        }
        int src = PlainIpv4Frame.source(b, c);
        int dst = PlainIpv4Frame.destination(c);
        // What ipv4 drops or answers (spoofed, not unicast, the gateway) and TTL expiry: the general path's.
        if ((podSourceOnly && podSource != src) || !unicast(dst) || dst == ForwardingTable.GATEWAY_IP
                || PlainIpv4Frame.ttl(b) <= 1) {
            return false;
        }
        int sport = PlainIpv4Frame.sourcePort(c);
        int dport = PlainIpv4Frame.destinationPort(d);
        int h = conntrack.lookup(src, dst, sport, dport, proto, now);
        if (h < 0) {
            missed(inPort, s, off, len, now, at, b, src, dst, sport, dport, proto, PlainIpv4Frame.totalLength(a));
            return true;
        }
        // A SYN that may open a new connection over a closed one's tuple.
        if ((tcpFlags & TcpView.SYN) != 0) {
            afterLookup(inPort, s, off, len, now, h, src, dst, sport, dport, proto);
            return true;
        }
        // In the general path's order: TTL (checked above), update, then translation.
        int ports = conntrack.updateAndNatPorts(h, tcpFlags, len, now);
        long ips = conntrack.natIps(h);
        long hop = fwd.nextHop((int) ips);
        int out = ForwardingTable.hopPort(hop);
        if (tooBig(out, PlainIpv4Frame.totalLength(a))) { // fragmentation needed, or fragments
            afterUpdate(inPort, s, off, len, h, src, dst, sport, dport, proto);
            return true;
        }
        long oldIps = ConntrackTable.ips(src, dst);
        int oldPorts = ConntrackTable.ports(sport, dport);
        // As NatRewrites.ipv4Forward: bytes 22-29 (TTL, protocol, checksum, source), 30-37
        // (destination, ports), then the L4 checksum if it changed.
        NativeMemory.setLongBigEndian(at + PlainIpv4Frame.TTL_WORD,
                (long) NatRewrites.ipv4TtlWordAfter(PlainIpv4Frame.ttlWord(b), oldIps, ips) << 32 | ips >>> 32);
        NativeMemory.setLongBigEndian(at + PlainIpv4Frame.DST_WORD, ips << 32 | ports & 0xFFFF_FFFFL);
        int checksum = NatRewrites.l4ChecksumAfter(l4Checksum, proto, oldIps, oldPorts, ips, ports,
                offload.needsChecksum());
        if (checksum != l4Checksum) {
            NativeMemory.setShortBigEndian(at + PlainIpv4Frame.l4ChecksumOffset(proto), (short) checksum);
        }
        counters.natTranslations++;
        NativeMemory.setLongBigEndian(at + EthernetView.DST_OFFSET, macWord(hop));
        NativeMemory.setIntBigEndian(at + EthernetView.DST_OFFSET + 8, (int) ForwardingTable.GATEWAY_MAC);
        if (send(out, s, off, len, true, offload)) {
            counters.forwarded++;
            counters.establishedPath++;
        }
        return true;
    }

    /**
     * {@link #established} after a conntrack miss. A packet no Service takes (pod to pod, pod to
     * the host or another node's pod; not from the host port, whose frames may be for a node
     * port) is routed as {@link #untracked} and {@link #forward} would, TTL and MACs rewritten at
     * raw addresses; a loop, a packet too big for its next hop and a new Service flow go back to
     * the general path. Kept out of {@link #established}'s compile unit (PipelineCompilation):
     * both are per-packet paths, and together they do not fit one.
     */
    private void missed(int inPort, MemorySegment s, long off, int len, long now, long at, long b, int src, int dst,
            int sport, int dport, int proto, int ipLength) {
        if (inPort == fwd.hostPort() || svc.isServiceIp(dst)) {
            afterLookup(inPort, s, off, len, now, ConntrackTable.MISS, src, dst, sport, dport, proto);
            return;
        }
        long hop = fwd.nextHop(dst);
        int out = ForwardingTable.hopPort(hop);
        if (out == inPort || tooBig(out, ipLength)) {
            afterLookup(inPort, s, off, len, now, ConntrackTable.MISS, src, dst, sport, dport, proto);
            return;
        }
        NativeMemory.setIntBigEndian(at + PlainIpv4Frame.TTL_WORD, NatRewrites.ipv4TtlWordAfter(PlainIpv4Frame.ttlWord(b), 0, 0));
        NativeMemory.setLongBigEndian(at + EthernetView.DST_OFFSET, macWord(hop));
        NativeMemory.setIntBigEndian(at + EthernetView.DST_OFFSET + 8, (int) ForwardingTable.GATEWAY_MAC);
        if (send(out, s, off, len, true, offload)) {
            counters.forwarded++;
            counters.establishedPath++;
        }
    }

    /**
     * {@link #established}'s way back to the general path after its lookup ({@code h}): parses the
     * frame into {@link #meta} and goes on as {@link #ipv4} would. Never inlined into
     * {@link #established} (PipelineCompilation): it is the rare case there, and big.
     */
    private void afterLookup(int inPort, MemorySegment s, long off, int len, long now, int h, int src, int dst,
            int sport, int dport, int proto) {
        if (parsed(s, off, len)) {
            looked(inPort, s, off, len, now, h, src, dst, sport, dport, proto);
        }
    }

    /** The same after the conntrack update: on as {@link #tracked} would (a packet too big for its next hop). */
    private void afterUpdate(int inPort, MemorySegment s, long off, int len, int h, int src, int dst, int sport, int dport,
            int proto) {
        if (parsed(s, off, len)) {
            translateAndForward(inPort, s, off, len, h, src, dst, sport, dport, proto);
        }
    }

    /** Parses a frame {@link #established} read into {@link #meta}; a drop (never, for a PlainIpv4Frame) is counted. */
    private boolean parsed(MemorySegment s, long off, int len) {
        DropReason parsed = parser.parse(s, off, len, meta);
        if (parsed != DropReason.OK) {
            counters.parseDrops[parsed.ordinal()]++;
            return false;
        }
        return true;
    }

    /**
     * A SYN that meets a closed flow (TIME_WAIT, CLOSE) opens a new connection that only reuses the
     * tuple, so the old entry must go. From the client (a SYN without ACK) it gets a fresh NAT
     * decision, as the kernel re-creates a conntrack entry for a SYN in TIME_WAIT. In the reply
     * direction it is another connection altogether: a client that once reached a backend through
     * a ClusterIP from port P and now connects to that backend directly from P (Linux reuses
     * ephemeral ports across destinations) gets the backend's SYN+ACK, which matches the old
     * flow's reply tuple and would come back from the VIP and be reset. Pod-to-pod traffic is not
     * tracked, so the entry is dropped and the SYN+ACK routed as it is.
     */
    private boolean closedFlowReused(int h) {
        int state = conntrack.tcpState(h);
        if (state != TcpState.TIME_WAIT && state != TcpState.CLOSE) {
            return false;
        }
        return ConntrackTable.direction(h) == ConntrackTable.REPLY || (meta.tcpFlags() & TcpView.ACK) == 0;
    }

    private void tracked(int inPort, MemorySegment s, long off, int len, int h, int src, int dst, int sport, int dport,
            int proto, long now) {
        if (!ttlOk(inPort, s, off)) {
            return;
        }
        conntrack.update(h, meta.tcpFlags(), ConntrackTable.direction(h), len, now);
        translateAndForward(inPort, s, off, len, h, src, dst, sport, dport, proto);
    }

    /** The gateway, ICMP errors, new flows, and routing without NAT; conntrack was missed or not asked. */
    private void untracked(int inPort, MemorySegment s, long off, int len, long now, int src, int dst, int proto,
            boolean ports) {
        boolean echoRequest = proto == IPPROTO_ICMP && meta.hasL4() && meta.icmpType() == IcmpView.ECHO_REQUEST;
        if (dst == ForwardingTable.GATEWAY_IP) {
            if (echoRequest) {
                responder.echoReplyInPlace(s, off, meta);
                answer(inPort, s, off, len);
            } else {
                drop(PipelineDrop.GATEWAY_NOT_PING);
            }
            return;
        }
        if (proto == IPPROTO_ICMP && meta.hasL4() && IcmpView.isError(meta.icmpType())) {
            icmpError(inPort, s, off, len, now);
            return;
        }
        int sport = ports ? meta.srcPort() : 0;
        int dport = ports ? meta.dstPort() : 0;
        ServiceTable services = svc;
        // NodePorts apply to what the host hands over for its own addresses, never to pod traffic
        // nor to a ClusterIP (kube-proxy matches node ports on local addresses only).
        boolean serviceIp = services.isServiceIp(dst);
        boolean nodePortCandidate = ports && !serviceIp && inPort == fwd.hostPort()
                && fwd.podPort(dst) == ForwardingTable.NO_PORT && fwd.remoteNode(dst) < 0;
        if (serviceIp || nodePortCandidate) {
            int entry = -1;
            boolean external = false;
            if (nodePortCandidate) {
                entry = services.findNodePort(proto, dport);
                external = entry >= 0;
            }
            if (entry < 0 && ports) {
                entry = services.findClusterIp(dst, proto, dport);
            }
            if (entry >= 0) {
                newServiceFlow(inPort, s, off, len, now, services, entry, external, src, dst, sport, dport, proto);
                return;
            }
            if (nodePortCandidate && dport >= ServicePort.NODE_PORT_MIN && dport <= ServicePort.NODE_PORT_MAX) {
                // The host's NodePort rule hands over the whole node-port range, and this frame
                // could only go back to the host: a port no Service has is refused at once, as a
                // node without a listener would, instead of being dropped as a loop.
                refuse(inPort, s, off, dst, dport, proto);
                return;
            }
            if (serviceIp) {
                if (meta.isFragment() && meta.fragmentOffset() > 0) {
                    drop(PipelineDrop.FRAGMENT_TO_SERVICE);
                } else if (echoRequest) {
                    // kube-proxy's iptables mode cannot answer a ping to a ClusterIP; Shunt can.
                    responder.echoReplyInPlace(s, off, meta);
                    answer(inPort, s, off, len);
                } else {
                    refuse(inPort, s, off, dst, dport, proto);
                }
                return;
            }
        }
        if (!ttlOk(inPort, s, off)) {
            return;
        }
        forward(inPort, s, off, len, dst, false);
    }

    private void newServiceFlow(int inPort, MemorySegment s, long off, int len, long now, ServiceTable services, int entry,
                                boolean external, int src, int dst, int sport, int dport, int proto) {
        if (meta.isFragment() && meta.fragmentOffset() > 0) {
            drop(PipelineDrop.FRAGMENT_TO_SERVICE);
            return;
        }
        int affinitySeconds = services.affinitySeconds(entry);
        int backend = -1;
        if (affinitySeconds > 0) {
            long remembered = affinity.lookup(src, services.vip(entry), proto, services.port(entry), now,
                    affinitySeconds * NANOS_PER_SECOND);
            if (remembered >= 0) {
                backend = services.candidate(entry, (int) (remembered >>> 16), (int) (remembered & 0xffff), external);
            }
        }
        if (backend < 0) {
            // With affinity, hash the client address alone so a client lands on one backend.
            long hash = affinitySeconds > 0
                    ? Hashing.flow(src, services.vip(entry), 0, services.port(entry), proto, flowSeed)
                    : Hashing.flow(src, dst, sport, dport, proto, flowSeed);
            backend = external ? services.pickExternal(entry, hash) : services.pickCluster(entry, hash);
        }
        if (backend < 0) {
            counters.serviceRejects++;
            refuse(inPort, s, off, dst, dport, proto);
            return;
        }
        if (!ttlOk(inPort, s, off)) {
            return;
        }
        int backendIp = services.backendIp(entry, backend);
        int backendPort = services.backendPort(entry, backend);
        boolean hairpin = backendIp == src;
        // A client outside the cluster reaching a node port whose backend runs on another node:
        // that backend would answer the client directly, from its own address, and the client
        // would drop the reply. Source NAT to this node's overlay address brings the replies back
        // here to be translated, as kube-proxy's masquerade does (externalTrafficPolicy Local
        // picks local backends only, and keeps the client's address).
        boolean viaOtherNode = external && !hairpin && fwd.nodeAddress() != 0 && fwd.remoteNode(backendIp) >= 0;
        int replyDst = hairpin ? dst : viaOtherNode ? fwd.nodeAddress() : src;
        int flags = ConntrackDescriptor.FLAG_DNAT | (hairpin || viaOtherNode ? ConntrackDescriptor.FLAG_SNAT : 0);
        int h = conntrack.insert(src, dst, sport, dport, proto, backendIp, replyDst, backendPort, sport, flags,
                services.servicePortId(entry), -1, now);
        // The reply tuple can belong to another flow: the client used the same source port for
        // another Service with the same backend (Linux reuses ephemeral ports across
        // destinations). Remap the source port, as the kernel's NAT does on a clash.
        for (int attempt = 1; h == ConntrackTable.CLASH && attempt <= CLASH_RETRIES; attempt++) {
            int port = EPHEMERAL_LOW + (int) Long.remainderUnsigned(
                    Hashing.flow(src, dst, sport, dport, proto, flowSeed + attempt), 65536 - EPHEMERAL_LOW);
            h = conntrack.insert(src, dst, sport, dport, proto, backendIp, replyDst, backendPort, port,
                    flags | ConntrackDescriptor.FLAG_SNAT, services.servicePortId(entry), -1, now);
        }
        if (h == ConntrackTable.CLASH) {
            drop(PipelineDrop.CONNTRACK_CLASH);
            return;
        }
        if (h < 0) {
            drop(PipelineDrop.CONNTRACK_FULL);
            return;
        }
        counters.newFlows++;
        if (affinitySeconds > 0) {
            affinity.remember(src, services.vip(entry), proto, services.port(entry), backendIp, backendPort, now);
        }
        conntrack.update(h, meta.tcpFlags(), ORIGINAL, len, now);
        translateAndForward(inPort, s, off, len, h, src, dst, sport, dport, proto);
    }

    /**
     * Rewrites a packet of a tracked TCP/UDP flow ({@code handle}) to the addresses and ports its
     * direction carries after NAT, decrements its TTL (the caller checked it), and sends it to the
     * next hop of its new destination. A translated packet may leave by the port it came in on
     * (hairpin), so there is no loop check.
     */
    private void translateAndForward(int inPort, MemorySegment s, long off, int len, int h, int src, int dst, int sport,
            int dport, int proto) {
        long ips = conntrack.natIps(h);
        int ports = conntrack.natPorts(h);
        long hop = fwd.nextHop((int) ips);
        int out = ForwardingTable.hopPort(hop);
        // Checked before the rewrite: a fragmentation-needed must quote the packet as its sender sent it.
        boolean tooBig = tooBig(out, (int) (meta.l3End() - meta.l3Offset()));
        if (tooBig && meta.dontFragment()) {
            fragmentationNeeded(inPort, s, off, out);
            return;
        }
        // CHECKSUM_PARTIAL (offload.needsChecksum()): the L4 field holds the pseudo-header sum and
        // the ports are summed later by whoever finishes the checksum.
        NatRewrites.ipv4Forward(s, meta.l3Offset(), meta.l4Offset(), proto, ConntrackTable.ips(src, dst),
                ConntrackTable.ports(sport, dport), ips, ports, offload.needsChecksum(), meta.ipv4TtlWord(), meta.l4Checksum());
        counters.natTranslations++;
        setMacs(s, off, hop);
        if (tooBig) {
            fragmentAndSend(out, s, off, len);
        } else if (send(out, s, off, len, true, offload)) {
            counters.forwarded++;
        }
    }

    /**
     * True if the IPv4 packet in hand ({@code ipLength} bytes) is longer than port {@code out}'s
     * MTU. A GSO frame is not: the kernel cuts it into segments of its GSO size, which the sender
     * chose from its own MTU.
     */
    private boolean tooBig(int out, int ipLength) {
        int[] m = batchMtus;
        return out >= 0 && out < m.length && ipLength > m[out] && !offload.isGso();
    }

    /** RFC 1191: the sender learns the MTU of the link that refused its DF packet. */
    private void fragmentationNeeded(int inPort, MemorySegment s, long off, int out) {
        int length = responder.icmpError(s, off, meta, IcmpView.DEST_UNREACHABLE, IcmpView.CODE_FRAGMENTATION_NEEDED,
                ForwardingTable.GATEWAY_IP, batchMtus[out] & 0xFFFF);
        if (length > 0) {
            send(inPort, responder.scratch(), 0, length, false, null); // the frame's outcome is the drop below
        }
        drop(PipelineDrop.FRAGMENTATION_NEEDED);
    }

    /** Sends the packet in hand (rewritten, without DF) as fragments that fit port {@code out}. */
    private void fragmentAndSend(int out, MemorySegment s, long off, int len) {
        if (offload.needsChecksum() && !offload.completeChecksum(s, off, len)) {
            drop(PipelineDrop.TOO_BIG);
            return;
        }
        fragmentPort = out;
        long l3 = meta.l3Offset();
        int sent = fragmenter.fragment(s, off, l3, meta.l3HeaderLength(), (int) (meta.l3End() - l3), batchMtus[out],
                fragmentSink);
        if (sent < 0) {
            drop(PipelineDrop.TOO_BIG);
        } else if (sent == 0) {
            drop(PipelineDrop.TX_FULL);
        } else {
            counters.fragmentsSent += sent;
            counters.forwarded++;
        }
    }

    /**
     * An ICMP error (unreachable, time exceeded, ...) about a tracked flow is translated like the
     * flow's own packets: the outer addresses, and the quoted header inside, so the client sees
     * an error about the packet it sent to the VIP. Errors about untracked packets are routed as
     * they are.
     */
    private void icmpError(int inPort, MemorySegment s, long off, int len, long now) {
        if (!ttlOk(inPort, s, off)) {
            return;
        }
        int innerProto = meta.innerProtocol();
        if (!meta.hasInner() || meta.innerIpVersion() != 4 || meta.innerL4Offset() < 0
                || (innerProto != IPPROTO_TCP && innerProto != IPPROTO_UDP)) {
            forward(inPort, s, off, len, meta.dst4(), false);
            return;
        }
        // The quoted packet went the other way: look its reversed tuple up.
        int h = conntrack.lookup(meta.innerDst4(), meta.innerSrc4(), meta.innerDstPort(), meta.innerSrcPort(), innerProto, now);
        if (h < 0) {
            forward(inPort, s, off, len, meta.dst4(), false);
            return;
        }
        boolean reply = ConntrackTable.direction(h) == REPLY;
        // The quoted packet as its sender should see it: the original tuple for an error going back
        // to the client, the reply tuple for one going to the backend.
        int qSrc = reply ? conntrack.origSrcIp(h) : conntrack.replySrcIp(h);
        int qDst = reply ? conntrack.origDstIp(h) : conntrack.replyDstIp(h);
        int qSport = reply ? conntrack.origSrcPort(h) : conntrack.replySrcPort(h);
        int qDport = reply ? conntrack.origDstPort(h) : conntrack.replyDstPort(h);
        rewriteQuoted(s, innerProto, qSrc, qDst, qSport, qDport);
        long l3 = meta.l3Offset();
        long l4 = meta.l4Offset();
        int outerSrc = meta.src4();
        // The outer source is translated only when the error comes from the NATed host itself.
        if (outerSrc == meta.innerDst4() && outerSrc != qDst) {
            NatRewrites.ipv4Source(s, l3, l4, IPPROTO_ICMP, qDst, false);
        }
        int outerDst = qSrc;
        if (meta.dst4() != outerDst) {
            NatRewrites.ipv4Destination(s, l3, l4, IPPROTO_ICMP, outerDst, false);
        }
        int icmpLength = (int) (meta.l3End() - l4);
        NetworkOrder.setU16(s, l4 + IcmpView.CHECKSUM_OFFSET, Checksums.icmpChecksum(s, l4, icmpLength));
        offload.clear(); // checksummed in full above
        counters.icmpErrorsTranslated++;
        forward(inPort, s, off, len, outerDst, true);
    }

    private void rewriteQuoted(MemorySegment s, int proto, int src, int dst, int sport, int dport) {
        long q3 = meta.innerL3Offset();
        long q4 = meta.innerL4Offset();
        inner.wrap(s, q3);
        int oldSrc = inner.source();
        int oldDst = inner.destination();
        int oldSport = NetworkOrder.u16(s, q4);
        int oldDport = NetworkOrder.u16(s, q4 + 2);
        inner.source(src);
        inner.destination(dst);
        inner.updateChecksum();
        NetworkOrder.setU16(s, q4, sport);
        NetworkOrder.setU16(s, q4 + 2, dport);
        // The quoted L4 checksum is fixed when the quote holds it (UDP: always, TCP: rarely).
        int field = proto == IPPROTO_UDP ? 6 : 16;
        if (q4 + field + 2 <= meta.l3End()) {
            int c = NetworkOrder.u16(s, q4 + field);
            if (proto == IPPROTO_UDP) {
                c = Checksums.udpUpdate32(c, oldSrc, src);
                c = Checksums.udpUpdate32(c, oldDst, dst);
                c = Checksums.udpUpdate16(c, oldSport, sport);
                c = Checksums.udpUpdate16(c, oldDport, dport);
            } else {
                c = Checksums.update32(c, oldSrc, src);
                c = Checksums.update32(c, oldDst, dst);
                c = Checksums.update16(c, oldSport, sport);
                c = Checksums.update16(c, oldDport, dport);
            }
            NetworkOrder.setU16(s, q4 + field, c);
        }
    }

    /** Refuses a flow to a Service address at once: TCP reset, or ICMP port unreachable. */
    private void refuse(int inPort, MemorySegment s, long off, int vip, int vport, int proto) {
        int length = proto == IPPROTO_TCP
                ? responder.tcpReset(s, off, meta, vip, vport)
                : responder.icmpError(s, off, meta, IcmpView.DEST_UNREACHABLE,
                        proto == IPPROTO_UDP ? IcmpView.CODE_PORT_UNREACHABLE : 2 /* protocol unreachable */, vip);
        if (length == 0) {
            drop(PipelineDrop.REFUSED_SILENTLY);
            return;
        }
        answer(inPort, responder.scratch(), 0, length);
    }

    /** False (and the frame answered with time-exceeded, or dropped) when its TTL would reach 0. */
    private boolean ttlOk(int inPort, MemorySegment s, long off) {
        if (meta.ttl() > 1) {
            return true;
        }
        int length = responder.icmpError(s, off, meta, IcmpView.TIME_EXCEEDED, 0, ForwardingTable.GATEWAY_IP);
        if (length > 0) {
            send(inPort, responder.scratch(), 0, length, false, null); // the frame's outcome is the drop below
        }
        drop(PipelineDrop.TTL_EXCEEDED);
        return false;
    }

    private void forward(int inPort, MemorySegment s, long off, int len, int dst, boolean natted) {
        long hop = fwd.nextHop(dst);
        int out = ForwardingTable.hopPort(hop);
        if (out == inPort && !natted) {
            drop(PipelineDrop.LOOP);
            return;
        }
        boolean tooBig = tooBig(out, (int) (meta.l3End() - meta.l3Offset())); // IPv4 only (untracked, ICMP errors)
        if (tooBig && meta.dontFragment()) {
            fragmentationNeeded(inPort, s, off, out);
            return;
        }
        ip.wrap(s, meta.l3Offset());
        ip.decrementTtl();
        setMacs(s, off, hop);
        if (tooBig) {
            fragmentAndSend(out, s, off, len);
        } else if (send(out, s, off, len, true, offload)) {
            counters.forwarded++;
        }
    }

    /** False for multicast (224.0.0.0/4) and the limited broadcast, which the fast path does not forward. */
    private static boolean unicast(int dst) {
        return (dst >>> 28) != 0xe && dst != -1;
    }

    /** Destination: the next hop's MAC; source: the gateway's. 12 bytes in two writes. */
    private static void setMacs(MemorySegment s, long off, long hop) {
        NetworkOrder.setI64(s, off + EthernetView.DST_OFFSET, macWord(hop));
        NetworkOrder.setI32(s, off + EthernetView.DST_OFFSET + 8, (int) ForwardingTable.GATEWAY_MAC);
    }

    /** A forwarded frame's first 8 bytes: the next hop's MAC, then the gateway MAC's first two bytes. */
    private static long macWord(long hop) {
        return ForwardingTable.hopMac(hop) << 16 | ForwardingTable.GATEWAY_MAC >>> 32;
    }

    private void answer(int inPort, MemorySegment s, long off, int len) {
        if (send(inPort, s, off, len, true, null)) {
            counters.answered++;
        }
    }

    /**
     * Queues the frame on port {@code out} with its offload state ({@code header}, null for a
     * complete frame); counts a NO_PORT / TX_FULL drop if {@code isOutcome}.
     */
    private boolean send(int out, MemorySegment s, long off, int len, boolean isOutcome, VnetHeader header) {
        Port[] all = batchPorts;
        Port p = out >= 0 && out < all.length ? all[out] : null;
        if (p == null) {
            if (isOutcome) {
                drop(PipelineDrop.NO_PORT);
            }
            return false;
        }
        if (!p.transmit(s, off, len, header)) {
            if (isOutcome) {
                drop(PipelineDrop.TX_FULL);
            }
            return false;
        }
        if (cap != null) {
            cap.record(out, s, off, len, batchNow);
        }
        if (!dirty[out]) {
            dirty[out] = true;
            dirtyList[dirtyCount++] = out;
        }
        return true;
    }

    private void drop(PipelineDrop reason) {
        counters.pipelineDrops[reason.ordinal()]++;
    }

    private boolean isPodPort(int port) {
        return port != fwd.hostPort() && port != fwd.overlayPort();
    }
}
