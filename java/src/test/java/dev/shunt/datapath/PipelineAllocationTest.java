package dev.shunt.datapath;

import dev.shunt.packet.ArpView;
import dev.shunt.packet.Checksums;
import dev.shunt.packet.NetworkOrder;
import dev.shunt.packet.PacketBuilder;
import dev.shunt.port.RxBatch;
import dev.shunt.service.ServiceTable;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

import static dev.shunt.datapath.PipelineRig.*;
import static dev.shunt.packet.TcpView.ACK;
import static dev.shunt.packet.TcpView.PSH;
import static dev.shunt.packet.TcpView.SYN;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The pipeline allocates nothing per packet once warmed up: batches of established-flow packets
 * (both directions), of new flows (new clients behind the host port, to a ClusterIP and to one
 * with ClientIP affinity: conntrack miss, Maglev pick, insert) and of answered packets (ARP, ping
 * to a ClusterIP, reset for a Service without endpoints), through ports that copy into
 * preallocated memory ({@link SinkPort}; InMemoryPort allocates by design). Measured with the
 * JVM's per-thread allocation counter, which counts every byte; not a timing test.
 */
class PipelineAllocationTest {
    static final int FLOWS = 256;
    static final int BATCH = 32;

    final SinkPort[] sinks = new SinkPort[6];
    final ConntrackTable conntrack = ConntrackTable.allocate(1 << 18);
    final Pipeline pipeline = new Pipeline(conntrack, new AffinityTable(1 << 12), forwarding(), 3);
    final RxBatch batch = new RxBatch(BATCH);
    final MemorySegment rx = Arena.ofAuto().allocate(BATCH * 2048L, 64);
    final Arena arena = Arena.ofAuto();
    long now = 1_000_000_000L;
    int nextClient = ip("10.128.0.1");

    /** Frames laid out back to back in native memory, each 256 bytes apart. */
    record Templates(MemorySegment memory, int[] lengths, int port) {}

    Templates templates(List<byte[]> frames, int port) {
        MemorySegment m = arena.allocate(frames.size() * 256L, 64);
        int[] lengths = new int[frames.size()];
        for (int i = 0; i < frames.size(); i++) {
            MemorySegment.copy(MemorySegment.ofArray(frames.get(i)), 0, m, i * 256L, frames.get(i).length);
            lengths[i] = frames.get(i).length;
        }
        return new Templates(m, lengths, port);
    }

    /** One batch of frames {@code first..first+31} (mod size) of {@code t}; with {@code fresh}, each gets a new source port. */
    void run(Templates t, int first, boolean fresh) {
        batch.reset(rx);
        for (int i = 0; i < BATCH; i++) {
            int k = (first + i) % t.lengths().length;
            long off = i * 2048L;
            MemorySegment.copy(t.memory(), k * 256L, rx, off, t.lengths()[k]);
            if (fresh) { // a new client address (node processes behind the host port): a new flow
                long l3 = off + 14;
                long l4 = off + 34;
                int old = NetworkOrder.i32(rx, l3 + 12);
                int client = nextClient++;
                NetworkOrder.setI32(rx, l3 + 12, client);
                NetworkOrder.setU16(rx, l3 + 10, Checksums.update32(NetworkOrder.u16(rx, l3 + 10), old, client));
                NetworkOrder.setU16(rx, l4 + 16, Checksums.update32(NetworkOrder.u16(rx, l4 + 16), old, client));
            }
            batch.add(off, t.lengths()[k]);
        }
        now += 1_000;
        pipeline.process(sinks[t.port()], batch, now);
    }

    @Test
    void establishedNewAndAnsweredPacketsAllocateNothing() {
        for (int p = 0; p < sinks.length; p++) {
            sinks[p] = new SinkPort(p);
            pipeline.attach(sinks[p]);
        }
        pipeline.setServices(ServiceTable.build(services(ready(B1, B2, B3)), "n1"));
        // Open FLOWS connections, and see where each went.
        byte[] data = new byte[100];
        List<byte[]> requests = new ArrayList<>();
        List<List<byte[]>> replies = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        for (int k = 0; k < FLOWS; k++) {
            int sport = 20000 + k;
            Templates syn = templates(List.of(podTcp(CLIENT, WEB, sport, 80, SYN, 1, 0, new byte[0])), CLIENT);
            batch.reset(rx);
            MemorySegment.copy(syn.memory(), 0, rx, 0, syn.lengths()[0]);
            batch.add(0, syn.lengths()[0]);
            pipeline.process(sinks[CLIENT], batch, now += 1000);
            int h = conntrack.lookup(ip(POD_IP[CLIENT]), ip(WEB), sport, 80, ConntrackTable.IPPROTO_TCP, now);
            int b = java.util.Arrays.asList(POD_IP).indexOf(ipString(conntrack.backendIp(h)));
            requests.add(podTcp(CLIENT, WEB, sport, 80, PSH | ACK, 2, 2, data));
            replies.get(b - B1).add(podTcp(b, POD_IP[CLIENT], 8080, sport, PSH | ACK, 2, 102, data));
        }
        Templates established = templates(requests, CLIENT);
        List<Templates> answers = new ArrayList<>();
        for (int b = B1; b <= B3; b++) {
            answers.add(templates(replies.get(b - B1), b));
        }
        Templates newFlows = templates(List.of(tcp(HOST_MAC, GW, "10.128.0.0", WEB, 33000, 80, SYN, 1, 0, new byte[0], 64),
                tcp(HOST_MAC, GW, "10.128.0.0", STICKY, 33000, 80, SYN, 1, 0, new byte[0], 64)), HOST);
        Templates answered = templates(List.of(
                new PacketBuilder().macs(mac(CLIENT2), -1L).arp(ArpView.OP_REQUEST, mac(CLIENT2), POD_IP[CLIENT2], 0, GATEWAY).build(),
                new PacketBuilder().macs(mac(CLIENT2), GW).ipv4(POD_IP[CLIENT2], WEB).icmpEcho(true, 1, 1).payload(data).build(),
                podTcp(CLIENT2, EMPTY, 999, 80, SYN, 1, 0, new byte[0])), CLIENT2);

        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        for (int round = 0; round < 5; round++) { // warm-up: C2 compiles the pipeline
            loop(established, answers, newFlows, answered, 600);
        }
        long newBefore = pipeline.counters().newFlows();
        long receivedBefore = pipeline.counters().received();
        long before = threads.getCurrentThreadAllocatedBytes();
        loop(established, answers, newFlows, answered, 2000);
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;

        long frames = pipeline.counters().received() - receivedBefore;
        assertThat(allocated).as("bytes allocated while processing %d frames", frames).isZero();
        assertThat(frames).isEqualTo(2000L * 6 * BATCH);
        assertThat(pipeline.counters().newFlows() - newBefore).as("new flows").isEqualTo(2000L * BATCH);
        assertThat(conntrack.evicted() + conntrack.insertFailures() + conntrack.insertClashes()).isZero();
        DatapathCounters c = pipeline.counters();
        assertThat(c.received()).isEqualTo(c.forwarded() + c.answered() + c.dropped());
        assertThat(c.dropped()).isZero();

        // A running capture copies into its preallocated buffer: still nothing allocated per packet.
        PacketCapture capture = new PacketCapture(CLIENT, 200_000, 128);
        pipeline.setCapture(capture);
        loop(established, answers, newFlows, answered, 300);
        long capturedBefore = capture.captured();
        before = threads.getCurrentThreadAllocatedBytes();
        loop(established, answers, newFlows, answered, 1000);
        allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertThat(allocated).as("bytes allocated while capturing").isZero();
        assertThat(capture.captured() - capturedBefore).as("frames the client port received and sent").isEqualTo(1000L * 4 * BATCH);
        pipeline.setCapture(null);
    }

    /** Per step: established requests, their replies from each backend, new flows, answered packets. */
    void loop(Templates established, List<Templates> answers, Templates newFlows, Templates answered, int steps) {
        for (int i = 0; i < steps; i++) {
            run(established, i * BATCH, false);
            for (int b = 0; b < answers.size(); b++) { // no Iterator: the test loop must not allocate either
                run(answers.get(b), i * BATCH, false);
            }
            run(newFlows, i, true);
            run(answered, i, false);
        }
    }

    static String ipString(int ip) {
        return (ip >>> 24) + "." + (ip >>> 16 & 0xff) + "." + (ip >>> 8 & 0xff) + "." + (ip & 0xff);
    }
}
