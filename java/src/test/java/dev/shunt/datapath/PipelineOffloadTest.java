package dev.shunt.datapath;

import dev.shunt.packet.Checksums;
import dev.shunt.packet.PacketBuilder;
import dev.shunt.packet.TcpView;
import dev.shunt.port.InMemoryPort;
import dev.shunt.port.RxBatch;
import dev.shunt.port.VnetHeader;
import dev.shunt.service.Endpoint;
import dev.shunt.service.Protocol;
import dev.shunt.service.Service;
import dev.shunt.service.ServicePort;
import dev.shunt.service.ServiceTable;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;

import static dev.shunt.packet.PacketDescriptor.IPPROTO_TCP;
import static dev.shunt.packet.PacketDescriptor.IPPROTO_UDP;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Frames with a virtio-net header through the pipeline (ports with PACKET_VNET_HDR, in memory):
 * GSO type and size and the checksum offsets leave with the frame, NAT on a CHECKSUM_PARTIAL frame
 * patches only the pseudo-header sum (checked against a seed computed from scratch for the new
 * addresses, and by finishing the checksum as the kernel would and verifying it), a port without
 * the header gets a finished checksum or refuses a GSO frame, and frames Shunt answers itself
 * leave complete.
 */
class PipelineOffloadTest {
    static final int HOST = 0, CLIENT = 1, BACKEND = 2, PLAIN = 3;
    static final String CLIENT_IP = "10.244.1.2", BACKEND_IP = "10.244.1.3", PLAIN_IP = "10.244.1.4";
    static final String WEB = "10.96.0.10", TO_PLAIN = "10.96.0.11", EMPTY = "10.96.0.12";
    static final int FRAME_SLOT = 70_000;
    static final int ETH = 14, IP = 20;

    final InMemoryPort[] ports = {
            new InMemoryPort(HOST, "host", 8, FRAME_SLOT).withVnetHeader(),
            new InMemoryPort(CLIENT, "client", 8, FRAME_SLOT).withVnetHeader(),
            new InMemoryPort(BACKEND, "backend", 8, FRAME_SLOT).withVnetHeader(),
            new InMemoryPort(PLAIN, "plain", 8, FRAME_SLOT)};
    final Pipeline pipeline;
    final RxBatch batch = new RxBatch(8);
    long now = 1_000_000_000L;

    PipelineOffloadTest() throws Exception {
        ForwardingTable fwd = ForwardingTable.builder(HOST).hostMac(0x02000000000aL)
                .pod(ip(CLIENT_IP), CLIENT, mac(CLIENT)).pod(ip(BACKEND_IP), BACKEND, mac(BACKEND))
                .pod(ip(PLAIN_IP), PLAIN, mac(PLAIN)).build();
        pipeline = new Pipeline(ConntrackTable.allocate(4096), new AffinityTable(64), fwd, 7);
        for (InMemoryPort p : ports) {
            pipeline.attach(p);
        }
        List<ServicePort> sp = List.of(ServicePort.of(Protocol.TCP, 80, 8080), ServicePort.of(Protocol.UDP, 53, 5353));
        pipeline.setServices(ServiceTable.build(List.of(
                Service.clusterIp("web", addr(WEB), sp, List.of(Endpoint.ready(addr(BACKEND_IP), "n1"))),
                Service.clusterIp("plain", addr(TO_PLAIN), sp, List.of(Endpoint.ready(addr(PLAIN_IP), "n1"))),
                Service.clusterIp("empty", addr(EMPTY), sp, List.of())), "n1"));
    }

    @Test
    void checksumPartialTcpThroughDnatAndBackKeepsTheHeaderAndASeedForTheNewAddresses() throws Exception {
        byte[] syn = partial(new PacketBuilder().macs(mac(CLIENT), ForwardingTable.GATEWAY_MAC).ipv4(CLIENT_IP, WEB)
                .tcp(40000, 80).tcpFlags(TcpView.SYN).sequence(1).payload(new byte[100]).build(), IPPROTO_TCP);
        byte[] out = forward(CLIENT, syn, csum(syn, 16), BACKEND);
        assertThat(ipAt(out, ETH + 16)).isEqualTo(BACKEND_IP);
        assertThat(u16(out, ETH + IP + 2)).isEqualTo(8080);
        assertThat(u16(out, ETH + IP + 16)).as("the field is the new pseudo-header sum, not a checksum")
                .isEqualTo(seed(out, IPPROTO_TCP));
        assertFinishedChecksumValid(out, ports[BACKEND].sentHeaders().getFirst(), IPPROTO_TCP);

        byte[] reply = partial(new PacketBuilder().macs(mac(BACKEND), ForwardingTable.GATEWAY_MAC).ipv4(BACKEND_IP, CLIENT_IP)
                .tcp(8080, 40000).tcpFlags(TcpView.SYN | TcpView.ACK).sequence(9).acknowledgment(2).build(), IPPROTO_TCP);
        byte[] back = forward(BACKEND, reply, csum(reply, 16), CLIENT);
        assertThat(ipAt(back, ETH + 12)).isEqualTo(WEB);
        assertThat(u16(back, ETH + IP)).isEqualTo(80);
        assertThat(u16(back, ETH + IP + 16)).isEqualTo(seed(back, IPPROTO_TCP));
        assertFinishedChecksumValid(back, ports[CLIENT].sentHeaders().getFirst(), IPPROTO_TCP);
    }

    @Test
    void gsoFrameKeepsTypeSizeAndChecksumOffsetsThroughNat() throws Exception {
        byte[] payload = new byte[60_000];
        new Random(9).nextBytes(payload);
        byte[] frame = partial(new PacketBuilder().macs(mac(CLIENT), ForwardingTable.GATEWAY_MAC).ipv4(CLIENT_IP, WEB)
                .tcp(40001, 80).tcpFlags(TcpView.ACK).sequence(5).acknowledgment(1).payload(payload).build(), IPPROTO_TCP);
        VnetHeader gso = new VnetHeader();
        gso.set(VnetHeader.F_NEEDS_CSUM, VnetHeader.GSO_TCPV4, ETH + IP + 20, 1448, ETH + IP, 16);
        byte[] out = forward(CLIENT, frame, gso, BACKEND);
        assertThat(out).hasSize(frame.length);
        int[] h = ports[BACKEND].sentHeaders().getFirst();
        assertThat(h).as("hdr_len: the whole frame, copied into a linear skb")
                .containsExactly(VnetHeader.F_NEEDS_CSUM, VnetHeader.GSO_TCPV4, frame.length, 1448, ETH + IP, 16);
        assertThat(u16(out, ETH + IP + 16)).isEqualTo(seed(out, IPPROTO_TCP));
        assertFinishedChecksumValid(out, h, IPPROTO_TCP);
    }

    @Test
    void checksumPartialUdpThroughNat() throws Exception {
        Random random = new Random(42);
        for (int i = 0; i < 200; i++) {
            byte[] data = new byte[random.nextInt(1400)];
            random.nextBytes(data);
            int sport = 1024 + random.nextInt(60000);
            byte[] dgram = partial(new PacketBuilder().macs(mac(CLIENT), ForwardingTable.GATEWAY_MAC).ipv4(CLIENT_IP, WEB)
                    .udp(sport, 53).payload(data).build(), IPPROTO_UDP);
            byte[] out = forward(CLIENT, dgram, csum(dgram, 6), BACKEND);
            assertThat(u16(out, ETH + IP + 2)).isEqualTo(5353);
            assertThat(u16(out, ETH + IP + 6)).as("datagram %d", i).isEqualTo(seed(out, IPPROTO_UDP));
            assertFinishedChecksumValid(out, ports[BACKEND].sentHeaders().getFirst(), IPPROTO_UDP);
            ports[BACKEND].drainSent();
        }
    }

    @Test
    void aPortWithoutTheHeaderGetsAFinishedChecksumAndRefusesGso() throws Exception {
        byte[] syn = partial(new PacketBuilder().macs(mac(CLIENT), ForwardingTable.GATEWAY_MAC).ipv4(CLIENT_IP, TO_PLAIN)
                .tcp(40002, 80).tcpFlags(TcpView.SYN).sequence(1).payload(new byte[33]).build(), IPPROTO_TCP);
        byte[] out = forward(CLIENT, syn, csum(syn, 16), PLAIN);
        assertThat(ports[PLAIN].sentHeaders()).isEmpty();
        assertThat(verify(out, IPPROTO_TCP)).as("full checksum written in software").isTrue();

        byte[] big = partial(new PacketBuilder().macs(mac(CLIENT), ForwardingTable.GATEWAY_MAC).ipv4(CLIENT_IP, TO_PLAIN)
                .tcp(40002, 80).tcpFlags(TcpView.ACK).sequence(2).acknowledgment(1).payload(new byte[9000]).build(), IPPROTO_TCP);
        VnetHeader gso = new VnetHeader();
        gso.set(VnetHeader.F_NEEDS_CSUM, VnetHeader.GSO_TCPV4, ETH + IP + 20, 1448, ETH + IP, 16);
        ports[PLAIN].drainSent();
        ports[CLIENT].inject(big, gso);
        pipeline.poll(ports[CLIENT], batch, now += 1_000_000);
        assertThat(ports[PLAIN].drainSent()).isEmpty();
        assertThat(ports[PLAIN].counters().txOffloadRefused()).isEqualTo(1);
        assertThat(ports[PLAIN].counters().txDropped()).isEqualTo(1);
        assertThat(pipeline.counters().pipelineDrops(PipelineDrop.TX_FULL)).isEqualTo(1);
    }

    @Test
    void framesShuntBuildsOrAnswersLeaveComplete() throws Exception {
        byte[] syn = partial(new PacketBuilder().macs(mac(CLIENT), ForwardingTable.GATEWAY_MAC).ipv4(CLIENT_IP, EMPTY)
                .tcp(40003, 80).tcpFlags(TcpView.SYN).sequence(1).build(), IPPROTO_TCP);
        byte[] reset = forward(CLIENT, syn, csum(syn, 16), CLIENT);
        assertThat(ports[CLIENT].sentHeaders().getFirst()).containsExactly(0, 0, reset.length, 0, 0, 0);
        assertThat(verify(reset, IPPROTO_TCP)).isTrue();

        byte[] dgram = partial(new PacketBuilder().macs(mac(CLIENT), ForwardingTable.GATEWAY_MAC).ipv4(CLIENT_IP, EMPTY)
                .udp(5000, 53).payload(new byte[20]).build(), IPPROTO_UDP);
        byte[] unreachable = forward(CLIENT, dgram, csum(dgram, 6), CLIENT);
        assertThat(ports[CLIENT].sentHeaders().getFirst()).containsExactly(0, 0, unreachable.length, 0, 0, 0);
        MemorySegment s = MemorySegment.ofArray(unreachable);
        assertThat(Checksums.verifyIcmp(s, ETH + IP, unreachable.length - ETH - IP)).isTrue();
    }

    // ---------------------------------------------------------------- helpers

    /** Injects {@code frame} with {@code header} on {@code in}, polls, expects one frame on {@code out}. */
    private byte[] forward(int in, byte[] frame, VnetHeader header, int out) {
        for (InMemoryPort p : ports) {
            p.drainSent();
        }
        ports[in].inject(frame, header);
        pipeline.poll(ports[in], batch, now += 1_000_000);
        for (InMemoryPort p : ports) {
            if (p.id() != out) {
                assertThat(p.sent()).as("frames on %s", p.name()).isEmpty();
            }
        }
        assertThat(ports[out].sent()).as("frames on %s", ports[out].name()).hasSize(1);
        return ports[out].sent().getFirst();
    }

    /** Turns a complete TCP/UDP frame into what a sender with TX checksum offload hands over. */
    private static byte[] partial(byte[] frame, int protocol) {
        MemorySegment s = MemorySegment.ofArray(frame);
        int field = ETH + IP + (protocol == IPPROTO_TCP ? 16 : 6);
        s.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), field,
                (short) seed(frame, protocol));
        return frame;
    }

    private static VnetHeader csum(byte[] frame, int fieldOffset) {
        VnetHeader h = new VnetHeader();
        h.set(VnetHeader.F_NEEDS_CSUM, VnetHeader.GSO_NONE, 0, 0, ETH + IP, fieldOffset);
        return h;
    }

    /** fold(pseudo-header sum): what Linux leaves in the field of a CHECKSUM_PARTIAL segment. */
    private static int seed(byte[] frame, int protocol) {
        int l4Length = frame.length - ETH - IP;
        return Checksums.partialSeed(Checksums.pseudoHeaderSum4(MemorySegment.ofArray(frame), ETH, protocol, l4Length));
    }

    /** Finishes the checksum as the kernel would from the header the port wrote, then verifies it. */
    private static void assertFinishedChecksumValid(byte[] frame, int[] h, int protocol) {
        assertThat(h[0] & VnetHeader.F_NEEDS_CSUM).as("NEEDS_CSUM kept").isNotZero();
        VnetHeader header = new VnetHeader();
        header.set(h[0], h[1], h[2], h[3], h[4], h[5]);
        byte[] copy = frame.clone();
        assertThat(header.completeChecksum(MemorySegment.ofArray(copy), 0, copy.length)).isTrue();
        assertThat(verify(copy, protocol)).as("checksum after the kernel finishes it").isTrue();
    }

    private static boolean verify(byte[] frame, int protocol) {
        MemorySegment s = MemorySegment.ofArray(frame);
        return Checksums.verifyIpv4Header(s, ETH, IP)
                && Checksums.verifyL4v4(s, ETH, ETH + IP, frame.length - ETH - IP, protocol);
    }

    private static int u16(byte[] b, int at) {
        return ByteBuffer.wrap(b).getShort(at) & 0xffff;
    }

    private static String ipAt(byte[] b, int at) throws Exception {
        return InetAddress.getByAddress(java.util.Arrays.copyOfRange(b, at, at + 4)).getHostAddress();
    }

    private static long mac(int port) {
        return 0x020000000000L | port;
    }

    private static int ip(String s) throws Exception {
        return ServiceTable.ipv4(addr(s));
    }

    private static Inet4Address addr(String s) {
        try {
            return (Inet4Address) InetAddress.getByName(s);
        } catch (Exception e) {
            throw new IllegalArgumentException(s, e);
        }
    }
}
