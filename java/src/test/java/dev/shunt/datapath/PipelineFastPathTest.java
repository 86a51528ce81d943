package dev.shunt.datapath;

import dev.shunt.port.RxBatch;
import dev.shunt.port.VnetHeader;
import dev.shunt.service.ServiceTable;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static dev.shunt.datapath.PipelineRig.B1;
import static dev.shunt.datapath.PipelineRig.B2;
import static dev.shunt.datapath.PipelineRig.B3;
import static dev.shunt.datapath.PipelineRig.forwarding;
import static dev.shunt.datapath.PipelineRig.ready;
import static dev.shunt.datapath.PipelineRig.services;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The established path ({@code Pipeline.established}: raw reads and writes of plain IPv4 TCP/UDP
 * frames of tracked flows) against the general path, which alone handles frames in heap
 * segments. Two pipelines, set up alike, get the same frames (the fuzz test's conversations,
 * mutated and readdressed, with snapshot changes, clock jumps, a small conntrack and a port with a
 * small MTU), one in native memory and one on the heap. After every batch both must have sent the
 * same bytes with the same offload header to the same ports in the same order, left the received
 * frames byte for byte alike (what the established path declines it must not have touched), hold
 * the same connection table byte for byte, and count the same; and the native one must have taken
 * the established path for a good share of the frames, or the comparison would prove nothing.
 */
class PipelineFastPathTest {
    static final int FRAMES = 600_000;
    static final int BATCH = 32;
    static final int SLOT = SinkPort.SLOT_SIZE;
    static final int HEADER = VnetHeader.LENGTH;

    @Test
    void theEstablishedPathGivesEveryFrameTheGeneralPathsOutcome() {
        compare(false, 0x5eed_fa57L);
    }

    /** The same with a virtio-net header per frame: checksum offload (partial) and GSO frames. */
    @Test
    void andSoWithOffloadedFrames() {
        compare(true, 0x5eed_0ff1L);
    }

    private static void compare(boolean vnet, long seed) {
        Rig raw = new Rig();
        Rig general = new Rig();
        ServiceTable[] snapshots = {
                ServiceTable.build(services(ready(B1, B2, B3)), "n1"),
                ServiceTable.build(services(List.of(ready(B1).getFirst(), ready(B2).getFirst().terminatingServing())), "n1"),
                ServiceTable.build(services(List.of()), "n1")};
        List<PipelineFuzzTest.Seed> corpus = PipelineFuzzTest.corpus();
        int header = vnet ? HEADER : 0;
        // A slot more than the batch: a mutation may grow the last frame to a whole slot after its header.
        MemorySegment rxNative = Arena.ofAuto().allocate((long) (BATCH + 1) * SLOT, 64);
        MemorySegment rxHeap = MemorySegment.ofArray(new byte[(BATCH + 1) * SLOT]);
        RxBatch nativeBatch = new RxBatch(BATCH);
        RxBatch heapBatch = new RxBatch(BATCH);
        SplittableRandom rnd = new SplittableRandom(seed);
        long now = 1_000_000_000L;
        for (int b = 0; b < FRAMES / BATCH; b++) {
            if (b % 500 == 0) {
                ServiceTable next = snapshots[rnd.nextInt(snapshots.length)];
                raw.pipeline.setServices(next);
                general.pipeline.setServices(next);
            }
            int in = rnd.nextInt(raw.ports.length);
            nativeBatch.reset(rxNative, header);
            heapBatch.reset(rxHeap, header);
            boolean clean = rnd.nextInt(4) == 0;
            for (int i = 0; i < BATCH; i++) {
                // Mostly what this port's pod sends, on flows that exist, so that many frames are plain ones.
                PipelineFuzzTest.Seed pick = corpus.get(rnd.nextInt(corpus.size()));
                for (int tries = 0; tries < 8 && pick.port() != in; tries++) {
                    pick = corpus.get(rnd.nextInt(corpus.size()));
                }
                long off = (long) i * SLOT + header;
                MemorySegment.copy(MemorySegment.ofArray(pick.frame()), 0, rxNative, off, pick.frame().length);
                int length = pick.frame().length;
                int kind = rnd.nextInt(8);
                if (kind < 2) {
                    length = PipelineFuzzTest.readdress(rxNative, off, length, rnd, clean || rnd.nextBoolean());
                } else if (kind < 4) {
                    length = PipelineFuzzTest.mutate(rxNative, off, length, rnd);
                } // else as it is: often the next packet of a flow an earlier frame opened
                if (vnet) {
                    offloadHeader(rxNative, off - HEADER, length, rnd);
                }
                nativeBatch.add(off, length);
                heapBatch.add(off, length);
            }
            MemorySegment.copy(rxNative, 0, rxHeap, 0, rxNative.byteSize());
            now += rnd.nextInt(3000) == 0 ? rnd.nextLong(1_000_000_000L, 200_000_000_000L) : rnd.nextLong(1, 5_000_000L);

            raw.pipeline.process(raw.ports[in], nativeBatch, now);
            general.pipeline.process(general.ports[in], heapBatch, now);

            assertThat(raw.sent).as("batch %d: what was sent", b).isEqualTo(general.sent);
            assertThat(rxNative.mismatch(rxHeap)).as("batch %d: the received frames after processing", b).isEqualTo(-1L);
            assertThat(raw.conntrack.segment().mismatch(general.conntrack.segment())).as("batch %d: the connection table", b)
                    .isEqualTo(-1L);
            assertThat(counters(raw.pipeline.counters())).as("batch %d: the counters", b)
                    .isEqualTo(counters(general.pipeline.counters()));
            raw.sent.clear();
            general.sent.clear();
        }
        DatapathCounters c = raw.pipeline.counters();
        System.out.printf("established path (vnet %s): %d of %d frames (%d forwarded), general path alone: %d%n", vnet,
                c.establishedPath(), c.received(), c.forwarded(), general.pipeline.counters().establishedPath());
        assertThat(general.pipeline.counters().establishedPath()).as("heap frames never take the established path").isZero();
        assertThat(c.establishedPath()).as("frames that took the established path").isGreaterThan(FRAMES / 30);
        assertThat(c.establishedPath()).isLessThan(c.forwarded());
        assertThat(c.newFlows()).isGreaterThan(FRAMES / 200);
        assertThat(c.pipelineDrops(PipelineDrop.FRAGMENTATION_NEEDED) + c.fragmentsSent()).isPositive();
        assertThat(c.pipelineDrops(PipelineDrop.TTL_EXCEEDED)).isPositive();
        assertThat(raw.conntrack.evicted() + raw.conntrack.expired()).isPositive();
    }

    /** A random offload state: none, checksum left to finish (partial), checksum already valid, or GSO. */
    private static void offloadHeader(MemorySegment s, long at, int frameLength, SplittableRandom rnd) {
        VnetHeader h = new VnetHeader();
        int protocol = frameLength > 23 ? s.get(ValueLayout.JAVA_BYTE, at + HEADER + 23) & 0xff : 0;
        int field = protocol == 17 ? 6 : 16;
        switch (rnd.nextInt(5)) {
            case 0 -> h.set(VnetHeader.F_NEEDS_CSUM, VnetHeader.GSO_NONE, 0, 0, 34, field);
            case 1 -> h.set(VnetHeader.F_DATA_VALID, VnetHeader.GSO_NONE, 0, 0, 0, 0);
            case 2 -> h.set(VnetHeader.F_NEEDS_CSUM, protocol == 17 ? VnetHeader.GSO_UDP_L4 : VnetHeader.GSO_TCPV4, 66,
                    rnd.nextInt(500, 1449), 34, field);
            default -> h.clear();
        }
        h.write(s, at, frameLength);
    }

    /** Every counter but {@link DatapathCounters#establishedPath()}, which is what differs by design. */
    private static String counters(DatapathCounters c) {
        StringBuilder out = new StringBuilder(c.toString());
        for (dev.shunt.packet.DropReason r : dev.shunt.packet.DropReason.values()) {
            out.append(' ').append(r).append('=').append(c.parseDrops(r));
        }
        for (PipelineDrop d : PipelineDrop.values()) {
            out.append(' ').append(d).append('=').append(c.pipelineDrops(d));
        }
        return out.append(" nat=").append(c.natTranslations()).append(" new=").append(c.newFlows())
                .append(" rejects=").append(c.serviceRejects()).append(" icmp=").append(c.icmpErrorsTranslated())
                .append(" purged=").append(c.flowsPurged()).append(" fragments=").append(c.fragmentsSent()).toString();
    }

    /** One pipeline with the fuzz test's set-up, its ports writing what they are given into {@link #sent}. */
    private static final class Rig {
        final ConntrackTable conntrack = ConntrackTable.allocate(Arena.ofAuto(), 512,
                ConntrackTimeouts.kernelDefaults(TimeUnit.NANOSECONDS), 0x5eedL);
        final Pipeline pipeline = new Pipeline(conntrack, new AffinityTable(64), forwarding(), 11);
        final List<String> sent = new ArrayList<>();
        final SinkPort[] ports = new SinkPort[6];

        Rig() {
            for (int p = 0; p < ports.length; p++) {
                ports[p] = new SinkPort(p);
                ports[p].record(sent);
                pipeline.attach(ports[p], p == B3 ? 576 : 0);
            }
        }
    }
}
