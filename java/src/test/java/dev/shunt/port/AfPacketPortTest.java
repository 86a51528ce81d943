package dev.shunt.port;

import dev.shunt.lab.ScratchNamespace;
import dev.shunt.packet.PacketBuilder;
import dev.shunt.packet.PacketDescriptor;
import dev.shunt.sys.Epoll;
import dev.shunt.sys.Errno;
import dev.shunt.sys.PacketSocketDescriptor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * AfPacketPort against the real kernel, in throwaway namespaces (shunt-t-*) joined by veths on the
 * lab underlay range 198.18.0.0/15. Never touches the root namespace; every wait is bounded.
 */
class AfPacketPortTest {
    private static final AfPacketPort.Config SMALL = AfPacketPort.Config.defaults().withFrames(64, 64);

    /** 64 + 64 slots; for V3 the RX ring is 8 blocks of 16 KiB with the 1 ms timer. */
    static AfPacketPort.Config small(AfPacketPort.Version version) {
        return SMALL.withVersion(version).withV3Blocks(16 * 1024, 1);
    }

    // ------------------------------------------------------------------ (a) receive

    @ParameterizedTest(name = "{0}, vnet header {1} B")
    @CsvSource({"V2, 0", "V2, 10", "V3, 0", "V3, 10"})
    void datagramFromARealSocketArrivesByteExactInTheRxRing(AfPacketPort.Version version, int vnetHeader) throws Exception {
        try (ScratchNamespace a = ScratchNamespace.create("afp-rx-a");
             ScratchNamespace b = ScratchNamespace.create("afp-rx-b")) {
            PortLab.Veth link = PortLab.veth(a, b, "shunt-ra", "shunt-rb", "198.18.40.1/24", "198.18.40.2/24");
            byte[] payload = randomBytes(1000, 1);
            int port = 40_040;
            try (AfPacketPort rx = b.namespace().call(() -> AfPacketPort.open(1, "shunt-rb", link.bIndex(),
                         small(version).withVnetHeaderSize(vnetHeader)));
                 DatagramChannel receiver = b.namespace().call(() -> udpSocket("198.18.40.2", port));
                 DatagramChannel sender = a.namespace().call(() -> udpSocket("198.18.40.1", 0));
                 Capture tcpdump = Capture.start(b, "shunt-rb", "udp dst port " + port)) {
                sender.send(ByteBuffer.wrap(payload), new InetSocketAddress("198.18.40.2", port));

                byte[] frame = receiveMatching(rx, f -> udpDestinationPort(f) == port, 3_000);

                assertThat(frame).as("a UDP frame to port %d in the RX ring", port).isNotNull();
                assertThat(frame).as("the ring's frame, byte for byte, is what tcpdump captured")
                        .isEqualTo(tcpdump.firstFrame(5_000));
                assertThat(Arrays.copyOfRange(frame, 42, frame.length)).as("UDP payload").isEqualTo(payload);
                assertThat(macAt(frame, 0)).as("destination MAC").isEqualTo(link.bMac());
                assertThat(macAt(frame, 6)).as("source MAC").isEqualTo(link.aMac());
                ByteBuffer got = ByteBuffer.allocate(2048);
                assertThat(receiveWithin(receiver, got, 3_000)).as("the host socket got its copy too").isTrue();
                assertThat(Arrays.copyOf(got.array(), got.position())).isEqualTo(payload);
                assertThat(rx.counters().rxPackets()).isGreaterThanOrEqualTo(1);
                assertThat(rx.rxTruncated()).isZero();
                assertThat(rx.vnetHeaderLength()).isEqualTo(vnetHeader);
            }
        }
    }

    /**
     * The veth in namespace a has TX checksum offload on (its default), so the kernel hands the
     * datagram over checksum-partial: with a vnet header the header says so (flags NEEDS_CSUM,
     * csum_start = where the UDP header starts, csum_offset = 6, its checksum field). That is the
     * witness that the header bytes are where {@link RxBatch#vnetHeaderOffset} says.
     */
    @ParameterizedTest(name = "{0}, vnet header {1} B")
    @CsvSource({"V2, 10", "V3, 10"})
    void vnetHeaderOfAChecksumPartialFrameIsWhereTheBatchSays(AfPacketPort.Version version, int vnetHeader) throws Exception {
        try (ScratchNamespace a = ScratchNamespace.create("afp-vh-a");
             ScratchNamespace b = ScratchNamespace.create("afp-vh-b")) {
            PortLab.Veth link = PortLab.veth(a, b, "shunt-va", "shunt-vb", "198.18.46.1/24", "198.18.46.2/24");
            int port = 40_046;
            try (AfPacketPort rx = b.namespace().call(() -> AfPacketPort.open(1, "shunt-vb", link.bIndex(),
                         small(version).withVnetHeaderSize(vnetHeader)));
                 DatagramChannel sender = a.namespace().call(() -> udpSocket("198.18.46.1", 0))) {
                sender.send(ByteBuffer.wrap(randomBytes(300, 4)), new InetSocketAddress("198.18.46.2", port));

                RxBatch batch = new RxBatch(32);
                byte[] header = null;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
                while (header == null && System.nanoTime() - deadline < 0) {
                    int n = rx.receive(batch);
                    for (int i = 0; i < n && header == null; i++) {
                        byte[] f = batch.segment().asSlice(batch.offset(i), batch.length(i)).toArray(ValueLayout.JAVA_BYTE);
                        if (udpDestinationPort(f) == port) {
                            assertThat(batch.vnetHeaderOffset(i)).isEqualTo(batch.offset(i) - vnetHeader);
                            header = batch.segment().asSlice(batch.vnetHeaderOffset(i), vnetHeader).toArray(ValueLayout.JAVA_BYTE);
                        }
                    }
                    rx.release(batch);
                    if (header == null) {
                        PortLab.sleep(2);
                    }
                }
                assertThat(header).as("the datagram arrived").isNotNull();
                assertThat(batch.vnetHeaderLength()).isEqualTo(vnetHeader);
                ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
                assertThat(h.get(0)).as("flags: VIRTIO_NET_HDR_F_NEEDS_CSUM").isEqualTo((byte) 1);
                assertThat(h.get(1)).as("gso_type: none").isEqualTo((byte) 0);
                assertThat(h.getShort(6)).as("csum_start: the UDP header, after Ethernet and IPv4").isEqualTo((short) 34);
                assertThat(h.getShort(8)).as("csum_offset: the UDP checksum field").isEqualTo((short) 6);
                assertThat(rx.rxCsumNotReady()).as("TP_STATUS_CSUMNOTREADY too").isGreaterThanOrEqualTo(1);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(AfPacketPort.Version.class)
    void ringFdIsReadableInEpollWhileAFrameWaits(AfPacketPort.Version version) throws Exception {
        try (ScratchNamespace a = ScratchNamespace.create("afp-ep-a");
             ScratchNamespace b = ScratchNamespace.create("afp-ep-b")) {
            PortLab.Veth link = PortLab.veth(a, b, "shunt-ea", "shunt-eb", "198.18.41.1/24", "198.18.41.2/24");
            try (AfPacketPort rx = b.namespace().call(() -> AfPacketPort.open(1, "shunt-eb", link.bIndex(), small(version)));
                 Epoll epoll = Epoll.create(4);
                 DatagramChannel sender = a.namespace().call(() -> udpSocket("198.18.41.1", 0))) {
                epoll.add(rx.ringFd(), Epoll.EPOLLIN, 7);
                drain(rx);
                assertThat(epoll.await(0)).as("nothing waiting yet").isZero();

                sender.send(ByteBuffer.wrap(new byte[] {1, 2, 3}), new InetSocketAddress("198.18.41.2", 9));

                assertThat(epoll.await(2_000)).as("readable within 2 s").isEqualTo(1);
                assertThat(epoll.data(0)).isEqualTo(7);
                assertThat(epoll.events(0) & Epoll.EPOLLIN).isNotZero();
            }
        }
    }

    // ------------------------------------------------------------------ (b) transmit

    @ParameterizedTest(name = "{0}, vnet header {1} B")
    @CsvSource({"V2, 0", "V2, 10", "V3, 0", "V3, 10"})
    void frameTransmittedByThePortArrivesAtARealUdpSocket(AfPacketPort.Version version, int vnetHeader) throws Exception {
        try (ScratchNamespace a = ScratchNamespace.create("afp-tx-a");
             ScratchNamespace b = ScratchNamespace.create("afp-tx-b")) {
            PortLab.Veth link = PortLab.veth(a, b, "shunt-xa", "shunt-xb", "198.18.42.1/24", "198.18.42.2/24");
            byte[] payload = randomBytes(1200, 2);
            try (AfPacketPort port = b.namespace().call(() -> AfPacketPort.open(1, "shunt-xb", link.bIndex(),
                         small(version).withVnetHeaderSize(vnetHeader)));
                 DatagramChannel receiver = a.namespace().call(() -> udpSocket("198.18.42.1", 0))) {
                int dstPort = ((InetSocketAddress) receiver.getLocalAddress()).getPort();
                byte[] frame = new PacketBuilder().macs(link.bMac(), link.aMac())
                        .ipv4("198.18.42.2", "198.18.42.1").udp(40_000, dstPort).payload(payload).build();

                assertThat(port.transmit(MemorySegment.ofArray(frame), 0, frame.length)).isTrue();
                assertThat(port.txWaiting()).isEqualTo(1);
                port.flush();

                ByteBuffer got = ByteBuffer.allocate(2048);
                InetSocketAddress from = receiveFrom(receiver, got, 3_000);
                assertThat(from).as("datagram from the port").isEqualTo(new InetSocketAddress("198.18.42.2", 40_000));
                assertThat(Arrays.copyOf(got.array(), got.position())).isEqualTo(payload);
                assertThat(port.txWaiting()).isZero();
                assertThat(port.counters().txPackets()).isEqualTo(1);
                assertThat(port.counters().txBytes()).isEqualTo(frame.length);
                assertThat(port.counters().txDropped()).isZero();
                assertThat(port.sendErrors()).isZero();
                // PACKET_IGNORE_OUTGOING: the port does not read its own transmission back.
                assertThat(receiveMatching(port, f -> udpDestinationPort(f) == dstPort, 300)).isNull();
            }
        }
    }

    // ------------------------------------------------------------------ (c) forwarding between two veths

    @ParameterizedTest(name = "{0}, vnet header {1} B")
    @CsvSource({"V2, 0", "V2, 10", "V3, 0", "V3, 10"})
    void pingAndTcpBetweenTwoPodsGoThroughTheForwarderNotTheKernel(AfPacketPort.Version version, int vnetHeader)
            throws Exception {
        try (PodsThroughNode lab = PodsThroughNode.create(PodsThroughNode.Mode.PORTS)) {
            assertThat(lab.node.namespace().getSysctl("net.ipv4.ip_forward")).isEqualTo("0");
            assertThat(PortLab.ping(lab.podA, PodsThroughNode.POD_B_IP, 1))
                    .as("without a forwarder the pods cannot reach each other").isFalse();
            AfPacketPort[] ports = lab.openPorts(small(version).withVnetHeaderSize(vnetHeader));
            try (AfPacketPort a = ports[0]; AfPacketPort b = ports[1]) {
                long echoed;
                try (TwoPortForwarder forwarder = lab.forwarder(a, b, 1_000)) {
                    assertThat(PortLab.ping(lab.podA, PodsThroughNode.POD_B_IP, 3)).as("ping pod-a -> pod-b").isTrue();
                    assertThat(PortLab.ping(lab.podB, PodsThroughNode.POD_A_IP, 3)).as("ping pod-b -> pod-a").isTrue();
                    try {
                        echoed = tcpEcho(lab, 256 * 1024);
                    } catch (Exception | AssertionError e) {
                        throw new AssertionError("TCP echo failed; " + describe(a) + "; " + describe(b)
                                + "; forwarded a->b " + forwarder.forwardedAToB + ", b->a " + forwarder.forwardedBToA
                                + ", not IPv4 " + forwarder.droppedNotIpv4 + ", loop failure " + forwarder.failure(), e);
                    }
                }
                assertThat(echoed).isEqualTo(256 * 1024);
                // every frame of both pings and the TCP exchange crossed both ports
                assertThat(a.counters().rxPackets()).as("pod-a's frames read at shunt-na").isGreaterThanOrEqualTo(6 + 100);
                assertThat(b.counters().txPackets()).as("sent on shunt-nb").isGreaterThanOrEqualTo(6 + 100);
                assertThat(b.counters().rxPackets()).isGreaterThanOrEqualTo(6);
                assertThat(a.counters().txPackets()).isGreaterThanOrEqualTo(6);
                assertThat(a.rxCsumNotReady() + b.rxCsumNotReady()).as("pod TX checksum offload is off").isZero();
                assertThat(a.rxTruncated() + b.rxTruncated()).as("pod TSO/GSO are off").isZero();
                assertThat(a.sendErrors() + b.sendErrors()).isZero();
                assertThat(PortLab.ping(lab.podA, PodsThroughNode.POD_B_IP, 1))
                        .as("forwarder stopped: the kernel does not route for it").isFalse();
            }
        }
    }

    /** A TCP client in pod-a sends {@code bytes} to an echo server in pod-b; returns how many came back equal. */
    private static long tcpEcho(PodsThroughNode lab, int bytes) throws Exception {
        byte[] data = randomBytes(bytes, 3);
        try (ServerSocket server = lab.podB.namespace().call(() ->
                new ServerSocket(0, 4, PortLab.ip(PodsThroughNode.POD_B_IP)))) {
            server.setSoTimeout(5_000);
            // Own threads, not the common pool: on 2 cores it has one worker, and the echo would
            // starve the writer.
            ExecutorService threads = Executors.newFixedThreadPool(2);
            CompletableFuture<Void> echo = CompletableFuture.runAsync(() -> {
                try (Socket s = server.accept()) {
                    s.setSoTimeout(10_000);
                    s.getInputStream().transferTo(s.getOutputStream());
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, threads);
            try (threads; Socket client = lab.podA.namespace().call(() -> {
                Socket s = new Socket();
                s.connect(new InetSocketAddress(PodsThroughNode.POD_B_IP, server.getLocalPort()), 5_000);
                return s;
            })) {
                client.setSoTimeout(10_000);
                CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                    try {
                        OutputStream out = client.getOutputStream();
                        out.write(data);
                        out.flush();
                        client.shutdownOutput();
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }, threads);
                byte[] back = client.getInputStream().readNBytes(bytes + 1);
                writer.get(10, TimeUnit.SECONDS);
                echo.get(10, TimeUnit.SECONDS);
                assertThat(back).as("echoed through the forwarder").isEqualTo(data);
                return back.length;
            }
        }
    }

    // ------------------------------------------------------------------ (d) TX ring full, link down, wrong format

    @ParameterizedTest(name = "{0}")
    @EnumSource(AfPacketPort.Version.class)
    void fullTxRingIsCountedAndNeverBlocks(AfPacketPort.Version version) throws Exception {
        try (ScratchNamespace a = ScratchNamespace.create("afp-full-a");
             ScratchNamespace b = ScratchNamespace.create("afp-full-b")) {
            PortLab.Veth link = PortLab.veth(a, b, "shunt-fa", "shunt-fb", "198.18.43.1/24", "198.18.43.2/24");
            AfPacketPort.Config tiny = small(version).withFrames(4, 4);
            try (AfPacketPort port = b.namespace().call(() -> AfPacketPort.open(1, "shunt-fb", link.bIndex(), tiny));
                 DatagramChannel receiver = a.namespace().call(() -> udpSocket("198.18.43.1", 0))) {
                int dstPort = ((InetSocketAddress) receiver.getLocalAddress()).getPort();
                MemorySegment frame = MemorySegment.ofArray(new PacketBuilder().macs(link.bMac(), link.aMac())
                        .ipv4("198.18.43.2", "198.18.43.1").udp(40_001, dstPort).payload(new byte[64]).build());
                int length = (int) frame.byteSize();

                // The device is down: the kernel refuses the kick (ENETDOWN) and keeps the frames queued.
                b.netlink().links().setDown("shunt-fb");
                for (int i = 0; i < 4; i++) {
                    assertThat(port.transmit(frame, 0, length)).as("slot %d", i).isTrue();
                }
                port.flush();
                assertThat(port.sendErrors()).isEqualTo(1);
                assertThat(port.lastSendErrno()).isEqualTo(Errno.ENETDOWN);
                assertThat(port.txWaiting()).isEqualTo(4);

                long start = System.nanoTime();
                boolean fifth = port.transmit(frame, 0, length);
                long tookNanos = System.nanoTime() - start;
                assertThat(fifth).as("ring full").isFalse();
                assertThat(tookNanos).as("a full ring answers at once").isLessThan(TimeUnit.MILLISECONDS.toNanos(50));
                assertThat(port.counters().txDropped()).isEqualTo(1);
                assertThat(port.txRingFull()).isEqualTo(1);
                assertThat(port.counters().txPackets()).isZero();

                // Up again: the next flush sends the four queued frames, and the ring takes new ones.
                b.netlink().links().setUp("shunt-fb");
                assertThat(PortLab.waitUntil(5_000, () -> "UP".equals(b.netlink().links().get("shunt-fb").operState())))
                        .isTrue();
                // NETDEV_DOWN left ENETDOWN pending on the socket (sk_err); SO_ERROR takes it, or the
                // next send() would fail with it once.
                assertThat(port.takeSocketError()).isEqualTo(Errno.ENETDOWN);
                assertThat(port.takeSocketError()).isZero();
                port.flush();
                assertThat(port.txWaiting()).as(describe(port)).isZero();
                assertThat(port.counters().txPackets()).isEqualTo(4);
                assertThat(countDatagrams(receiver, 4, 3_000)).isEqualTo(4);
                assertThat(port.transmit(frame, 0, length)).isTrue();
                port.flush();
                assertThat(countDatagrams(receiver, 1, 3_000)).isEqualTo(1);
                assertThat(port.counters().txPackets()).isEqualTo(5);

                // Frames that cannot be Ethernet frames, or do not fit a slot, are refused up front.
                assertThat(port.transmit(frame, 0, 10)).isFalse();
                assertThat(port.transmit(MemorySegment.ofArray(new byte[4096]), 0, 4096)).isFalse();
                assertThat(port.txInvalidLength()).isEqualTo(2);
                assertThat(port.maxFrameLength()).as("a slot less its tpacket2_hdr or tpacket3_hdr")
                        .isEqualTo(2048 - (version == AfPacketPort.Version.V2 ? 32 : 48));
                assertThat(port.counters().txInvalidLength()).isEqualTo(2);
                assertThat(port.counters().txRingFull()).isEqualTo(1);
                assertThat(port.counters().txDropped()).as("the reasons add up").isEqualTo(3);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(AfPacketPort.Version.class)
    void wrongFormatSlotIsCountedReclaimedAndTheFramesBehindItStillGoOut(AfPacketPort.Version version) throws Exception {
        try (ScratchNamespace a = ScratchNamespace.create("afp-wf-a");
             ScratchNamespace b = ScratchNamespace.create("afp-wf-b")) {
            PortLab.Veth link = PortLab.veth(a, b, "shunt-wa", "shunt-wb", "198.18.44.1/24", "198.18.44.2/24");
            AfPacketPort.Config tiny = small(version).withFrames(4, 4);
            try (AfPacketPort port = b.namespace().call(() -> AfPacketPort.open(1, "shunt-wb", link.bIndex(), tiny));
                 DatagramChannel receiver = a.namespace().call(() -> udpSocket("198.18.44.1", 0))) {
                int dstPort = ((InetSocketAddress) receiver.getLocalAddress()).getPort();
                PacketBuilder udp = new PacketBuilder().macs(link.bMac(), link.aMac())
                        .ipv4("198.18.44.2", "198.18.44.1").udp(40_002, dstPort);
                byte[] big = udp.payload(new byte[1000]).build();
                byte[] small1 = udp.payload("first".getBytes(StandardCharsets.US_ASCII)).build();
                byte[] small2 = udp.payload("second".getBytes(StandardCharsets.US_ASCII)).build();
                // The MTU drops below the big frame after the port was opened: only the kernel can tell.
                b.netlink().links().setMtu("shunt-wb", 500);

                assertThat(port.transmit(MemorySegment.ofArray(big), 0, big.length)).isTrue();
                assertThat(port.transmit(MemorySegment.ofArray(small1), 0, small1.length)).isTrue();
                assertThat(port.transmit(MemorySegment.ofArray(small2), 0, small2.length)).isTrue();
                port.flush();

                assertThat(port.txWrongFormat()).as("the kernel marked the big frame WRONG_FORMAT").isEqualTo(1);
                assertThat(port.lastSendErrno()).isEqualTo(Errno.EMSGSIZE);
                assertThat(port.txWaiting()).isZero();
                assertThat(port.counters().txPackets()).isEqualTo(2);
                assertThat(port.counters().txDropped()).isEqualTo(1);
                assertThat(port.counters().txWrongFormat()).isEqualTo(1);
                ByteBuffer got = ByteBuffer.allocate(2048);
                assertThat(receiveFrom(receiver, got, 3_000)).isNotNull();
                assertThat(new String(got.array(), 0, got.position(), StandardCharsets.US_ASCII)).isEqualTo("first");
                got.clear();
                assertThat(receiveFrom(receiver, got, 3_000)).isNotNull();
                assertThat(new String(got.array(), 0, got.position(), StandardCharsets.US_ASCII)).isEqualTo("second");

                // Ring heads agree again: a whole ring's worth more goes out in order.
                for (int i = 0; i < 6; i++) {
                    byte[] f = udp.payload(("again-" + i).getBytes(StandardCharsets.US_ASCII)).build();
                    assertThat(port.transmit(MemorySegment.ofArray(f), 0, f.length)).isTrue();
                    port.flush();
                    got.clear();
                    assertThat(receiveFrom(receiver, got, 3_000)).as("frame %d after the reclaim", i).isNotNull();
                    assertThat(new String(got.array(), 0, got.position(), StandardCharsets.US_ASCII)).isEqualTo("again-" + i);
                }
            }
        }
    }

    // ------------------------------------------------------------------ (e) PACKET_STATISTICS

    @Test
    void ringOverrunIsReportedThroughLosingAndPacketStatistics() throws Exception {
        try (ScratchNamespace a = ScratchNamespace.create("afp-st-a");
             ScratchNamespace b = ScratchNamespace.create("afp-st-b")) {
            PortLab.noIpv6(a, b); // no router solicitations or MLD reports among the counted frames
            PortLab.Veth link = PortLab.veth(a, b, "shunt-sa", "shunt-sb", "198.18.45.1/24", "198.18.45.2/24");
            AfPacketPort.Config tiny = AfPacketPort.Config.defaults().withFrames(8, 4);
            try (AfPacketPort port = b.namespace().call(() -> AfPacketPort.open(1, "shunt-sb", link.bIndex(), tiny));
                 DatagramChannel sender = a.namespace().call(() -> udpSocket("198.18.45.1", 0))) {
                InetSocketAddress target = new InetSocketAddress("198.18.45.2", 9);
                // ARP first, so that the burst below is 100 UDP frames and nothing else.
                sender.send(ByteBuffer.wrap(new byte[8]), target);
                PortLab.sleep(200);
                drain(port);
                port.pollStatistics();
                long droppedBefore = port.counters().rxDropped();

                for (int i = 0; i < 100; i++) {
                    sender.send(ByteBuffer.wrap(new byte[8]), target);
                }
                PortLab.sleep(200);
                // The ring held 8; the rest were dropped. Empty it, then one more frame carries LOSING.
                assertThat(drain(port)).isEqualTo(8);
                sender.send(ByteBuffer.wrap(new byte[8]), target);
                assertThat(receiveMatching(port, f -> udpDestinationPort(f) == 9, 2_000)).isNotNull();

                assertThat(port.rxLosing()).as("TP_STATUS_LOSING seen").isEqualTo(1);
                assertThat(port.counters().rxDropped() - droppedBefore).as("drops read on LOSING").isEqualTo(92);

                // Overrun again and ask explicitly.
                for (int i = 0; i < 50; i++) {
                    sender.send(ByteBuffer.wrap(new byte[8]), target);
                }
                PortLab.sleep(200);
                long before = port.counters().rxDropped();
                port.pollStatistics();
                assertThat(port.counters().rxDropped() - before).as("50 sent, 8 slots free").isEqualTo(42);
                port.pollStatistics();
                assertThat(port.counters().rxDropped() - before).as("reading resets the kernel's count").isEqualTo(42);
            }
        }
    }

    /**
     * V3 overruns are per block: a burst into a ring of two 4 KiB blocks loses frames, and every
     * frame sent is either received or counted as dropped (read through TP_STATUS_LOSING or
     * PACKET_STATISTICS): none vanishes uncounted.
     */
    @Test
    void v3OverrunLosesFramesButCountsEveryOne() throws Exception {
        try (ScratchNamespace a = ScratchNamespace.create("afp-s3-a");
             ScratchNamespace b = ScratchNamespace.create("afp-s3-b")) {
            PortLab.noIpv6(a, b);
            PortLab.Veth link = PortLab.veth(a, b, "shunt-3a", "shunt-3b", "198.18.47.1/24", "198.18.47.2/24");
            AfPacketPort.Config tiny = AfPacketPort.Config.defaults().withVersion(AfPacketPort.Version.V3)
                    .withV3Blocks(4096, 5).withFrames(4, 4);
            try (AfPacketPort port = b.namespace().call(() -> AfPacketPort.open(1, "shunt-3b", link.bIndex(), tiny));
                 DatagramChannel sender = a.namespace().call(() -> udpSocket("198.18.47.1", 0))) {
                InetSocketAddress target = new InetSocketAddress("198.18.47.2", 9);
                sender.send(ByteBuffer.wrap(new byte[8]), target); // ARP first
                PortLab.sleep(200);
                drain(port);
                port.pollStatistics();
                long droppedBefore = port.counters().rxRingOverrun();

                int burst = 300;
                for (int i = 0; i < burst; i++) {
                    sender.send(ByteBuffer.wrap(new byte[8]), target);
                }
                PortLab.sleep(200);
                int received = drain(port);
                PortLab.sleep(50); // the timer retires the block the drain left open
                received += drain(port);
                port.pollStatistics();
                long dropped = port.counters().rxRingOverrun() - droppedBefore;

                assertThat(dropped).as("two 4 KiB blocks cannot hold %d frames", burst).isPositive();
                assertThat(received + dropped).as("received %d + dropped %d; kernel saw %d, blocks %d, losing %d", received, dropped,
                        port.kernelRxPackets(), port.rxBlocks(), port.rxLosing()).isEqualTo(burst);
                assertThat(port.counters().rxDropped()).isEqualTo(port.counters().rxRingOverrun());
                assertThat(port.rxBlocks()).isGreaterThanOrEqualTo(2);
            }
        }
    }

    /**
     * The V3 cost, shown directly: with a 2 s retire timer a lone frame that the host stack already
     * received is not in the ring yet (its block is still open), and arrives once the timer retires
     * the block (TP_STATUS_BLK_TMO). V2 has it at once.
     */
    @Test
    void v3HandsALoneFrameOverOnlyWhenTheRetireTimerFires() throws Exception {
        try (ScratchNamespace a = ScratchNamespace.create("afp-tm-a");
             ScratchNamespace b = ScratchNamespace.create("afp-tm-b")) {
            PortLab.Veth link = PortLab.veth(a, b, "shunt-ta", "shunt-tb", "198.18.48.1/24", "198.18.48.2/24");
            AfPacketPort.Config slowTimer = small(AfPacketPort.Version.V3).withV3Blocks(16 * 1024, 2_000);
            int port = 40_048;
            try (AfPacketPort v3 = b.namespace().call(() -> AfPacketPort.open(1, "shunt-tb", link.bIndex(), slowTimer));
                 AfPacketPort v2 = b.namespace().call(() -> AfPacketPort.open(2, "shunt-tb", link.bIndex(), SMALL));
                 DatagramChannel receiver = b.namespace().call(() -> udpSocket("198.18.48.2", port));
                 DatagramChannel sender = a.namespace().call(() -> udpSocket("198.18.48.1", 0))) {
                sender.send(ByteBuffer.wrap(new byte[] {1}), new InetSocketAddress("198.18.48.2", port)); // ARP, and opens a block
                assertThat(receiveWithin(receiver, ByteBuffer.allocate(64), 3_000)).isTrue();
                assertThat(receiveMatching(v3, f -> udpDestinationPort(f) == port, 3_000)).as("first frame, by the timer").isNotNull();
                drain(v2);
                long timedOut = v3.rxBlocksTimedOut();

                sender.send(ByteBuffer.wrap(new byte[] {2}), new InetSocketAddress("198.18.48.2", port));
                assertThat(receiveWithin(receiver, ByteBuffer.allocate(64), 3_000)).as("the host stack has it").isTrue();
                assertThat(receiveMatching(v2, f -> udpDestinationPort(f) == port, 3_000)).as("V2: in the ring").isNotNull();
                RxBatch batch = new RxBatch(8);
                assertThat(v3.receive(batch)).as("V3: its block is still open").isZero();
                v3.release(batch);
                assertThat(receiveMatching(v3, f -> udpDestinationPort(f) == port, 3_000)).as("V3: after the timer").isNotNull();
                assertThat(v3.rxBlocksTimedOut()).as("retired by the timer").isGreaterThan(timedOut);
            }
        }
    }

    @Test
    void descriptorMatchesLinuxIfPacketH() {
        assertThat(PacketSocketDescriptor.TPACKET2_HDRLEN).isEqualTo(52);
        assertThat(PacketSocketDescriptor.TPACKET2_TX_DATA_OFFSET).isEqualTo(32);
        assertThat(PacketSocketDescriptor.rxMacOffset(false)).isEqualTo(66);
        assertThat(PacketSocketDescriptor.rxMacOffset(true)).isEqualTo(76);
        assertThat(AfPacketPort.Config.defaults().memoryBytes()).isEqualTo(2L * 1024 * 1024);
        assertThat(AfPacketPort.Config.defaults().withFrames(3, 1).rxFrames()).as("whole 4 KiB blocks").isEqualTo(4);
        assertThat(PacketSocketDescriptor.TPACKET3_HDRLEN).isEqualTo(68);
        assertThat(PacketSocketDescriptor.TPACKET3_TX_DATA_OFFSET).isEqualTo(48);
        assertThat(PacketSocketDescriptor.rxMacOffset(PacketSocketDescriptor.TPACKET_V3, 0)).isEqualTo(82);
        AfPacketPort.Config v3 = AfPacketPort.Config.defaults().withVersion(AfPacketPort.Version.V3).withFrames(40, 1);
        assertThat(v3.rxFrames()).as("whole 64 KiB V3 blocks").isEqualTo(64);
        assertThat(v3.txFrames()).isEqualTo(2);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> AfPacketPort.Config.defaults().withVnetHeaderSize(12))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0 or 10");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> AfPacketPort.Config.defaults().withV3Blocks(6000, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("multiple of 4096");
    }

    // ------------------------------------------------------------------ helpers

    static String describe(AfPacketPort p) {
        PortCounters c = p.counters();
        return p.name() + ": rx " + c.rxPackets() + " (dropped " + c.rxDropped() + ", truncated " + p.rxTruncated()
                + (p.config().version() == AfPacketPort.Version.V3 ? ", blocks " + p.rxBlocks() + " of which timed out " + p.rxBlocksTimedOut() : "")
                + ", csum-not-ready " + p.rxCsumNotReady() + "), tx " + c.txPackets() + " (dropped " + c.txDropped()
                + ", ring full " + p.txRingFull() + ", wrong format " + p.txWrongFormat() + ", waiting " + p.txWaiting()
                + "), kicks " + p.kicks() + " (backpressured " + p.kicksBackpressured() + ", errors " + p.sendErrors()
                + ", last errno " + p.lastSendErrno() + ")";
    }

    private static DatagramChannel udpSocket(String address, int port) throws IOException {
        DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET);
        ch.bind(new InetSocketAddress(address, port));
        ch.configureBlocking(false);
        return ch;
    }

    private static boolean receiveWithin(DatagramChannel ch, ByteBuffer into, long millis) throws IOException {
        return receiveFrom(ch, into, millis) != null;
    }

    private static InetSocketAddress receiveFrom(DatagramChannel ch, ByteBuffer into, long millis) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() - deadline < 0) {
            InetSocketAddress from = (InetSocketAddress) ch.receive(into);
            if (from != null) {
                return from;
            }
            PortLab.sleep(2);
        }
        return null;
    }

    private static int countDatagrams(DatagramChannel ch, int expected, long millis) throws IOException {
        int n = 0;
        ByteBuffer buffer = ByteBuffer.allocate(2048);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (n < expected && System.nanoTime() - deadline < 0) {
            buffer.clear();
            if (ch.receive(buffer) != null) {
                n++;
            } else {
                PortLab.sleep(2);
            }
        }
        return n;
    }

    /** Receives until a frame satisfies {@code match} (copied out) or {@code millis} pass (null). */
    private static byte[] receiveMatching(AfPacketPort port, java.util.function.Predicate<byte[]> match, long millis) {
        RxBatch batch = new RxBatch(32);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        do {
            int n = port.receive(batch);
            byte[] found = null;
            for (int i = 0; i < n && found == null; i++) {
                byte[] frame = batch.segment().asSlice(batch.offset(i), batch.length(i)).toArray(ValueLayout.JAVA_BYTE);
                if (match.test(frame)) {
                    found = frame;
                }
            }
            port.release(batch);
            if (found != null) {
                return found;
            }
            if (n == 0) {
                PortLab.sleep(2);
            }
        } while (System.nanoTime() - deadline < 0);
        return null;
    }

    /** Receives and releases everything waiting; returns how many frames. */
    private static int drain(AfPacketPort port) {
        RxBatch batch = new RxBatch(64);
        int total = 0;
        for (int round = 0; round < 1_000; round++) {
            int n = port.receive(batch);
            port.release(batch);
            if (n == 0) {
                break;
            }
            total += n;
        }
        return total;
    }

    /** The UDP destination port of an untagged IPv4 frame without options, or -1. */
    private static int udpDestinationPort(byte[] f) {
        if (f.length < 42 || (f[12] & 0xFF) != 0x08 || f[13] != 0 || (f[14] & 0x0F) != 5
                || (f[23] & 0xFF) != PacketDescriptor.IPPROTO_UDP) {
            return -1;
        }
        return ((f[36] & 0xFF) << 8) | (f[37] & 0xFF);
    }

    private static long macAt(byte[] f, int offset) {
        long v = 0;
        for (int i = 0; i < 6; i++) {
            v = (v << 8) | (f[offset + i] & 0xFF);
        }
        return v;
    }

    private static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** {@code tcpdump -i DEV -c 1 -U -w FILE FILTER} in a namespace: the independent copy of one frame. */
    private static final class Capture implements AutoCloseable {
        private final Process process;
        private final Path file;

        private Capture(Process process, Path file) {
            this.process = process;
            this.file = file;
        }

        static Capture start(ScratchNamespace ns, String dev, String filter) throws Exception {
            Path file = Files.createTempFile("shunt-afpacket-", ".pcap");
            List<String> cmd = new java.util.ArrayList<>(List.of("ip", "netns", "exec", ns.name(),
                    "tcpdump", "-i", dev, "-c", "1", "-U", "-n", "-w", file.toString()));
            cmd.addAll(List.of(filter.split(" ")));
            Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            // tcpdump says "listening on DEV" on stderr once its socket is bound
            CompletableFuture<Boolean> listening = CompletableFuture.supplyAsync(() -> {
                try {
                    BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
                    for (String line; (line = err.readLine()) != null; ) {
                        if (line.contains("listening on")) {
                            return true;
                        }
                    }
                    return false;
                } catch (IOException e) {
                    return false;
                }
            });
            if (!listening.get(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("tcpdump did not start: " + cmd);
            }
            return new Capture(p, file);
        }

        /** Waits for tcpdump to write its one frame and exit; returns the frame's bytes. */
        byte[] firstFrame(long millis) throws Exception {
            assertThat(process.waitFor(millis, TimeUnit.MILLISECONDS)).as("tcpdump captured one frame").isTrue();
            byte[] pcap = Files.readAllBytes(file);
            ByteBuffer buf = ByteBuffer.wrap(pcap).order(ByteOrder.LITTLE_ENDIAN);
            assertThat(buf.getInt(0)).as("pcap magic (microseconds, little-endian)").isEqualTo(0xa1b2c3d4);
            int captured = buf.getInt(24 + 8);
            int original = buf.getInt(24 + 12);
            assertThat(captured).isEqualTo(original);
            return Arrays.copyOfRange(pcap, 40, 40 + captured);
        }

        @Override
        public void close() throws IOException {
            if (process.isAlive()) {
                process.destroyForcibly();
            }
            try (InputStream ignored = process.getErrorStream()) {
                Files.deleteIfExists(file);
            }
        }
    }
}
