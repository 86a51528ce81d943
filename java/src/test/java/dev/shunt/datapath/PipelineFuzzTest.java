package dev.shunt.datapath;

import dev.shunt.packet.ArpView;
import dev.shunt.packet.Checksums;
import dev.shunt.packet.IcmpView;
import dev.shunt.packet.NetworkOrder;
import dev.shunt.packet.PacketBuilder;
import dev.shunt.packet.PacketParser;
import dev.shunt.port.RxBatch;
import dev.shunt.service.ServiceTable;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static dev.shunt.datapath.PipelineRig.*;
import static dev.shunt.packet.TcpView.ACK;
import static dev.shunt.packet.TcpView.PSH;
import static dev.shunt.packet.TcpView.SYN;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * 4,000,000 frames, derived from the valid frames of the conversations (bit flips, truncations,
 * length lies, random addresses, ports and protocols, random payloads, trailing garbage), on
 * random ports of a pipeline with a few Services whose snapshot changes now and then, a small
 * conntrack (evictions) and a clock that sometimes jumps (expiry). The pipeline must never throw,
 * every frame must have exactly one outcome, every transmitted frame must carry a valid IPv4
 * header checksum, and in "clean" batches (valid frames, possibly readdressed with recomputed
 * checksums) every transmitted frame must also carry valid TCP/UDP/ICMP checksums.
 */
class PipelineFuzzTest {
    static final int FRAMES = 4_000_000;
    static final int BATCH = 32;
    static final long SEED = 0x5eed_f00d_2025L;

    record Seed(int port, byte[] frame) {}

    @Test
    void fourMillionRandomAndMutatedFramesNeverBreakThePipeline() {
        SinkPort[] sinks = new SinkPort[6];
        ConntrackTable conntrack = ConntrackTable.allocate(512);
        Pipeline pipeline = new Pipeline(conntrack, new AffinityTable(64), forwarding(), 11);
        for (int p = 0; p < sinks.length; p++) {
            sinks[p] = new SinkPort(p);
            pipeline.attach(sinks[p], p == B3 ? 576 : 0); // a small port: fragmentation and fragmentation-needed get fuzzed too
        }
        ServiceTable[] snapshots = {
                ServiceTable.build(services(ready(B1, B2, B3)), "n1"),
                ServiceTable.build(services(List.of(ready(B1).getFirst(), ready(B2).getFirst().terminatingServing())), "n1"),
                ServiceTable.build(services(List.of()), "n1")};
        List<Seed> corpus = corpus();
        List<List<Seed>> byPort = new ArrayList<>();
        for (int p = 0; p < sinks.length; p++) {
            int port = p;
            byPort.add(corpus.stream().filter(s -> s.port() == port).toList());
        }
        MemorySegment rx = Arena.ofAuto().allocate((long) BATCH * SinkPort.SLOT_SIZE, 64);
        RxBatch batch = new RxBatch(BATCH);
        SplittableRandom rnd = new SplittableRandom(SEED);
        long now = 1_000_000_000L;
        long started = System.nanoTime();
        int cleanBatches = 0;
        for (int b = 0; b < FRAMES / BATCH; b++) {
            if (b % 1000 == 0) {
                pipeline.setServices(snapshots[rnd.nextInt(snapshots.length)]);
            }
            boolean clean = rnd.nextInt(8) == 0;
            cleanBatches += clean ? 1 : 0;
            int checks = PacketParser.VERIFY_IPV4_CHECKSUM | (clean ? PacketParser.VERIFY_L4_CHECKSUM : 0);
            for (SinkPort s : sinks) {
                s.check(checks);
            }
            int in = rnd.nextInt(sinks.length);
            List<Seed> own = byPort.get(in);
            batch.reset(rx);
            for (int i = 0; i < BATCH; i++) {
                // Mostly frames this port's pod would send (so they pass anti-spoofing), some from anywhere.
                List<Seed> pool = !own.isEmpty() && rnd.nextInt(8) != 0 ? own : corpus;
                byte[] frame = pool.get(rnd.nextInt(pool.size())).frame();
                long off = (long) i * SinkPort.SLOT_SIZE;
                MemorySegment.copy(MemorySegment.ofArray(frame), 0, rx, off, frame.length);
                int length = frame.length;
                if (clean) {
                    length = rnd.nextBoolean() ? readdress(rx, off, length, rnd, true) : freshSourcePort(rx, off, length, rnd);
                } else {
                    length = mutate(rx, off, length, rnd);
                }
                batch.add(off, length);
            }
            now += rnd.nextInt(2000) == 0 ? rnd.nextLong(1_000_000_000L, 200_000_000_000L) : rnd.nextLong(1, 5_000_000L);
            pipeline.process(sinks[in], batch, now);
        }
        long millis = (System.nanoTime() - started) / 1_000_000;

        DatapathCounters c = pipeline.counters();
        long transmitted = Arrays.stream(sinks).mapToLong(s -> s.transmitted).sum();
        System.out.printf("fuzz: %d frames in %d ms (%d clean batches): %s; new flows %d, NAT %d, ICMP errors translated %d,"
                        + " conntrack live %d evicted %d expired %d%n", c.received(), millis, cleanBatches, c,
                c.newFlows(), c.natTranslations(), c.icmpErrorsTranslated(), conntrack.live(), conntrack.evicted(),
                conntrack.expired());
        long parseDrops = 0;
        for (dev.shunt.packet.DropReason r : dev.shunt.packet.DropReason.values()) {
            parseDrops += c.parseDrops(r);
        }
        System.out.printf("  parse drops          %d%n", parseDrops);
        System.out.printf("  short quotes (ICMP errors about datagrams with < 8 data bytes): %d%n",
                Arrays.stream(sinks).mapToLong(s -> s.shortQuotes).sum());
        for (PipelineDrop d : PipelineDrop.values()) {
            System.out.printf("  %-20s %d%n", d, c.pipelineDrops(d));
        }
        for (SinkPort s : sinks) {
            assertThat(s.firstBad).as("a transmitted frame that does not parse (%s) on port %d", s.firstBadReason, s.id())
                    .isNull();
        }
        assertThat(c.received()).isEqualTo(FRAMES);
        assertThat(c.received()).isEqualTo(c.forwarded() + c.answered() + c.dropped());
        // Time-exceeded errors are transmitted but the frame's outcome is its TTL_EXCEEDED drop.
        // So are fragmentation-needed errors; a fragmented frame is one forwarded frame sent as several.
        assertThat(transmitted).isBetween(c.forwarded() + c.answered(),
                c.forwarded() + c.answered() + c.pipelineDrops(PipelineDrop.TTL_EXCEEDED)
                        + c.pipelineDrops(PipelineDrop.FRAGMENTATION_NEEDED) + c.fragmentsSent());
        // The mutations reached deep: every kind of outcome happened.
        assertThat(c.forwarded()).isGreaterThan(FRAMES / 20);
        assertThat(c.answered()).isGreaterThan(FRAMES / 100);
        assertThat(c.newFlows()).isGreaterThan(FRAMES / 40);
        assertThat(c.icmpErrorsTranslated()).isPositive();
        assertThat(c.fragmentsSent()).isPositive();
        assertThat(c.pipelineDrops(PipelineDrop.FRAGMENTATION_NEEDED)).isPositive();
        assertThat(conntrack.evicted()).isPositive();
        assertThat(conntrack.expired()).isPositive();
    }

    /** Valid frames of the conversations, each with the port it would arrive on. */
    static List<Seed> corpus() {
        List<Seed> c = new ArrayList<>();
        byte[] data = "GET / HTTP/1.1\r\n\r\n".getBytes();
        for (int pod : new int[] {CLIENT, CLIENT2, B1}) {
            for (String vip : List.of(WEB, STICKY, EMPTY, SELF, NP)) {
                c.add(new Seed(pod, podTcp(pod, vip, 40000 + pod, 80, SYN, 1000, 0, new byte[0])));
                c.add(new Seed(pod, podTcp(pod, vip, 40000 + pod, 80, PSH | ACK, 1001, 5001, data)));
                c.add(new Seed(pod, podUdp(pod, vip, 50000 + pod, 53, data)));
            }
            c.add(new Seed(pod, podTcp(pod, WEB, 40000, 81, SYN, 1, 0, new byte[0])));
            c.add(new Seed(pod, podTcp(pod, POD_IP[B2], 40001, 8080, SYN, 1, 0, new byte[0])));
            c.add(new Seed(pod, podTcp(pod, "1.1.1.1", 40002, 443, SYN, 1, 0, new byte[0])));
            c.add(new Seed(pod, tcp(mac(pod), GW, POD_IP[pod], WEB, 40003, 80, SYN, 1, 0, data, 1)));
            for (String target : List.of(WEB, GATEWAY, POD_IP[B3])) {
                c.add(new Seed(pod, new PacketBuilder().macs(mac(pod), GW).ipv4(POD_IP[pod], target).icmpEcho(true, 7, 1)
                        .payload(data).build()));
            }
            c.add(new Seed(pod, new PacketBuilder().macs(mac(pod), -1L).arp(ArpView.OP_REQUEST, mac(pod), POD_IP[pod], 0, GATEWAY).build()));
            c.add(new Seed(pod, new PacketBuilder().macs(mac(pod), -1L).arp(ArpView.OP_REQUEST, mac(pod), "0.0.0.0", 0, POD_IP[pod]).build()));
        }
        for (int b : new int[] {B1, B2, B3}) {
            c.add(new Seed(b, podTcp(b, POD_IP[CLIENT], 8080, 40000 + CLIENT, SYN | ACK, 5000, 1001, new byte[0])));
            c.add(new Seed(b, podUdp(b, POD_IP[CLIENT], 5353, 50000 + CLIENT, data)));
            byte[] seen = new PacketBuilder().ipv4(POD_IP[CLIENT], POD_IP[b]).ttl(63).udp(50000 + CLIENT, 5353).payload(data).buildIp();
            byte[] seenTcp = new PacketBuilder().ipv4(POD_IP[CLIENT], POD_IP[b]).ttl(63).tcp(40000 + CLIENT, 8080).buildIp();
            for (byte[] quote : List.of(seen, Arrays.copyOf(seen, 28), seenTcp)) {
                c.add(new Seed(b, new PacketBuilder().macs(mac(b), GW).ipv4(POD_IP[b], POD_IP[CLIENT])
                        .icmpError(IcmpView.DEST_UNREACHABLE, IcmpView.CODE_PORT_UNREACHABLE, 0, quote).build()));
            }
        }
        c.add(new Seed(HOST, tcp(HOST_MAC, GW, "203.0.113.7", NODE_IP, 51000, NODE_PORT, SYN, 77, 0, new byte[0], 64)));
        c.add(new Seed(HOST, tcp(HOST_MAC, GW, NODE_IP, POD_IP[B1], 52000, NODE_PORT, SYN, 1, 0, new byte[0], 64)));
        c.add(new Seed(HOST, tcp(HOST_MAC, GW, NODE_IP, WEB, 52001, 80, SYN, 1, 0, new byte[0], 64)));
        c.add(new Seed(CLIENT, new PacketBuilder().macs(mac(CLIENT), GW).vlan(100).ipv4(POD_IP[CLIENT], WEB).tcp(40010, 80)
                .tcpFlags(SYN).tcpOptions(new byte[] {2, 4, 5, (byte) 0xb4, 4, 2}).build()));
        c.add(new Seed(CLIENT, new PacketBuilder().macs(mac(CLIENT), GW).ipv4(POD_IP[CLIENT], WEB)
                .ipv4Options(new byte[] {1, 1, 1, 0}).udp(50010, 53).payload(data).build()));
        c.add(new Seed(CLIENT, new PacketBuilder().macs(mac(CLIENT), GW).ipv4(POD_IP[CLIENT], WEB).fragment(0, true)
                .udp(50011, 53).payload(new byte[64]).build()));
        c.add(new Seed(CLIENT, new PacketBuilder().macs(mac(CLIENT), GW).ipv4(POD_IP[CLIENT], WEB).fragment(72, false)
                .protocol(17).payload(new byte[40]).build()));
        c.add(new Seed(CLIENT, new PacketBuilder().macs(mac(CLIENT), GW).ipv6("fd00::2", "fd00::3").tcp(1, 2).build()));
        // Longer than B3's 576-byte port: fragmentation-needed (DF) and fragmentation, direct and through NAT.
        for (String dst : List.of(POD_IP[B3], WEB)) {
            c.add(new Seed(CLIENT, new PacketBuilder().macs(mac(CLIENT), GW).ipv4(POD_IP[CLIENT], dst).dontFragment()
                    .udp(50020, dst.equals(WEB) ? 53 : 5353).payload(new byte[900]).build()));
            c.add(new Seed(CLIENT, new PacketBuilder().macs(mac(CLIENT), GW).ipv4(POD_IP[CLIENT], dst)
                    .udp(50021, dst.equals(WEB) ? 53 : 5353).payload(new byte[1200]).build()));
        }
        return c;
    }

    static final int[] ADDRESSES = {ip(POD_IP[CLIENT]), ip(POD_IP[B1]), ip(POD_IP[B2]), ip(POD_IP[B3]), ip(POD_IP[CLIENT2]),
            ip(WEB), ip(EMPTY), ip(STICKY), ip(NP), ip(SELF), ip(NODE_IP), ip(GATEWAY), 0, -1, 0xe0000001, ip("1.1.1.1")};
    static final int[] PORTS = {80, 81, 53, 8080, 5353, NODE_PORT, 0, 65535, 40000 + CLIENT, 50000 + CLIENT};
    static final int[] PROTOCOLS = {1, 6, 17, 58, 132, 0, 255};
    static final int[] ETHERTYPES = {0x0800, 0x0806, 0x86dd, 0x8100, 0x88a8, 0x1234};

    /** Breaks the frame at {@code off} in one of several ways; returns its new length. */
    static int mutate(MemorySegment s, long off, int len, SplittableRandom rnd) {
        long l3 = off + (NetworkOrder.u16(s, off + 12) == 0x8100 ? 18 : 14);
        switch (rnd.nextInt(9)) {
            case 0 -> { // as it was, or as the first packet of a new flow
                if (rnd.nextBoolean()) {
                    freshSourcePort(s, off, len, rnd);
                }
            }
            case 1 -> { // bit flips, sometimes with a repaired IP checksum so they get past the parser
                for (int k = rnd.nextInt(1, 9); k > 0; k--) {
                    long at = off + rnd.nextInt(len);
                    NetworkOrder.setU8(s, at, NetworkOrder.u8(s, at) ^ (1 << rnd.nextInt(8)));
                }
                if (rnd.nextBoolean()) {
                    fixIpChecksum(s, l3, off + len);
                }
            }
            case 2 -> len = rnd.nextInt(len + 1); // truncation
            case 3 -> { // a length field lies
                if (len >= l3 - off + 40) {
                    switch (rnd.nextInt(4)) {
                        case 0 -> NetworkOrder.setU16(s, l3 + 2, rnd.nextInt(0x10000));
                        case 1 -> NetworkOrder.setU8(s, l3, 0x40 | rnd.nextInt(16));
                        case 2 -> NetworkOrder.setU16(s, l3 + 24, rnd.nextInt(0x10000)); // UDP length
                        default -> NetworkOrder.setU8(s, l3 + 32, rnd.nextInt(256)); // TCP data offset
                    }
                    if (rnd.nextInt(4) != 0) {
                        fixIpChecksum(s, l3, off + len);
                    }
                }
            }
            case 4 -> len = readdress(s, off, len, rnd, rnd.nextBoolean());
            case 5 -> { // another protocol
                if (len >= l3 - off + 20) {
                    NetworkOrder.setU8(s, l3 + 9, rnd.nextInt(3) == 0 ? rnd.nextInt(256) : PROTOCOLS[rnd.nextInt(PROTOCOLS.length)]);
                    fixIpChecksum(s, l3, off + len);
                }
            }
            case 6 -> { // random bytes behind a plausible Ethernet header
                len = rnd.nextInt(14, SinkPort.SLOT_SIZE);
                for (long at = off + 14; at < off + len; at++) {
                    NetworkOrder.setU8(s, at, rnd.nextInt(256));
                }
                NetworkOrder.setU16(s, off + 12, ETHERTYPES[rnd.nextInt(ETHERTYPES.length)]);
                if (rnd.nextBoolean()) {
                    NetworkOrder.setU8(s, off + 14, 0x45);
                    fixIpChecksum(s, off + 14, off + len);
                }
            }
            case 7 -> { // trailing garbage after the IP packet
                int grown = rnd.nextInt(len, SinkPort.SLOT_SIZE + 1);
                for (long at = off + len; at < off + grown; at++) {
                    NetworkOrder.setU8(s, at, rnd.nextInt(256));
                }
                len = grown;
            }
            default -> { // readdressed, then a few bits flipped
                len = readdress(s, off, len, rnd, true);
                long at = off + rnd.nextInt(len);
                NetworkOrder.setU8(s, at, NetworkOrder.u8(s, at) ^ (1 << rnd.nextInt(8)));
            }
        }
        return len;
    }

    /**
     * Random addresses and ports from pools of interesting values, with the IP checksum (and
     * with {@code fixL4} the TCP/UDP/ICMP checksum) recomputed, so the frame stays valid.
     */
    static int readdress(MemorySegment s, long off, int len, SplittableRandom rnd, boolean fixL4) {
        long l3 = off + (NetworkOrder.u16(s, off + 12) == 0x8100 ? 18 : 14);
        if (NetworkOrder.u16(s, l3 - 2) != 0x0800 || rnd.nextInt(3) == 0) {
            return len;
        }
        if (rnd.nextBoolean()) {
            NetworkOrder.setI32(s, l3 + 12, rnd.nextInt(4) == 0 ? rnd.nextInt() : ADDRESSES[rnd.nextInt(ADDRESSES.length)]);
        }
        if (rnd.nextBoolean()) {
            NetworkOrder.setI32(s, l3 + 16, rnd.nextInt(4) == 0 ? rnd.nextInt() : ADDRESSES[rnd.nextInt(ADDRESSES.length)]);
        }
        int ihl = (NetworkOrder.u8(s, l3) & 0xf) * 4;
        int protocol = NetworkOrder.u8(s, l3 + 9);
        int total = NetworkOrder.u16(s, l3 + 2);
        boolean whole = (NetworkOrder.u16(s, l3 + 6) & 0x3fff) == 0;
        if ((protocol == 6 || protocol == 17) && whole) {
            for (int k = 0; k < 2; k++) {
                if (rnd.nextBoolean()) {
                    NetworkOrder.setU16(s, l3 + ihl + 2L * k, rnd.nextInt(4) == 0 ? rnd.nextInt(0x10000) : PORTS[rnd.nextInt(PORTS.length)]);
                }
            }
        }
        if (rnd.nextInt(8) == 0) {
            NetworkOrder.setU8(s, l3 + 8, rnd.nextInt(3)); // TTL 0, 1 or 2
        }
        fixIpChecksum(s, l3, off + len);
        if (fixL4 && whole && l3 + total <= off + len) {
            long l4 = l3 + ihl;
            int field = Checksums.checksumField(protocol);
            if (field >= 0 && (protocol == 1 || protocol == 6 || protocol == 17)) {
                NetworkOrder.setU16(s, l4 + field, 0);
                int c = protocol == 1 ? Checksums.icmpChecksum(s, l4, total - ihl)
                        : Checksums.l4Checksum4(s, l3, l4, total - ihl, protocol);
                NetworkOrder.setU16(s, l4 + field, protocol == 17 && c == 0 ? 0xffff : c);
            }
        }
        return len;
    }

    /** A random source port on a TCP/UDP frame, with its checksum recomputed: a new flow. */
    static int freshSourcePort(MemorySegment s, long off, int len, SplittableRandom rnd) {
        long l3 = off + (NetworkOrder.u16(s, off + 12) == 0x8100 ? 18 : 14);
        int protocol = NetworkOrder.u8(s, l3 + 9);
        if (NetworkOrder.u16(s, l3 - 2) != 0x0800 || (protocol != 6 && protocol != 17)
                || (NetworkOrder.u16(s, l3 + 6) & 0x3fff) != 0) {
            return len;
        }
        int ihl = (NetworkOrder.u8(s, l3) & 0xf) * 4;
        int total = NetworkOrder.u16(s, l3 + 2);
        long l4 = l3 + ihl;
        NetworkOrder.setU16(s, l4, rnd.nextInt(1024, 65536));
        int field = Checksums.checksumField(protocol);
        NetworkOrder.setU16(s, l4 + field, 0);
        int c = Checksums.l4Checksum4(s, l3, l4, total - ihl, protocol);
        NetworkOrder.setU16(s, l4 + field, protocol == 17 && c == 0 ? 0xffff : c);
        return len;
    }

    static void fixIpChecksum(MemorySegment s, long l3, long end) {
        if (end - l3 < 20 || NetworkOrder.u8(s, l3) >>> 4 != 4) {
            return;
        }
        int ihl = (NetworkOrder.u8(s, l3) & 0xf) * 4;
        if (ihl >= 20 && l3 + ihl <= end) {
            NetworkOrder.setU16(s, l3 + 10, 0);
            NetworkOrder.setU16(s, l3 + 10, Checksums.ipv4HeaderChecksum(s, l3, ihl));
        }
    }
}
