package dev.shunt.datapath;

import dev.shunt.datapath.PipelineRig.Out;
import dev.shunt.packet.ArpView;
import dev.shunt.packet.IcmpView;
import dev.shunt.packet.PacketBuilder;
import dev.shunt.service.Endpoint;
import dev.shunt.service.ServiceTable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.pcap4j.packet.ArpPacket;
import org.pcap4j.packet.EthernetPacket;
import org.pcap4j.packet.Packet;

import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.shunt.datapath.PipelineRig.*;
import static dev.shunt.packet.TcpView.ACK;
import static dev.shunt.packet.TcpView.FIN;
import static dev.shunt.packet.TcpView.PSH;
import static dev.shunt.packet.TcpView.RST;
import static dev.shunt.packet.TcpView.SYN;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Whole conversations through the pipeline on in-memory ports. Every output frame is compared
 * byte for byte with a frame built from scratch with the expected addresses, ports, TTL and MACs,
 * and decoded by pcap4j, which checks every checksum (IPv4 header, TCP/UDP with pseudo-header,
 * ICMP, the quoted IPv4 header of ICMP errors) independently of Shunt's checksum code.
 */
class PipelineConversationTest {
    static final byte[] NONE = new byte[0];
    static final byte[] REQUEST = "GET / HTTP/1.1\r\nHost: web\r\n\r\n".getBytes();
    static final byte[] RESPONSE = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".getBytes();
    static final byte[] QUERY = "dns? web.default.svc".getBytes();

    final PipelineRig rig = new PipelineRig();

    @AfterEach
    void countersAddUp() {
        rig.assertBalanced();
    }

    // ------------------------------------------------------------------ helpers

    /** A pod's segment to {@code vip}:80 reaches {@code b}:8080 (b < 0: any backend) from the pod's own address. */
    int toBackend(int pod, String vip, int b, int sport, int flags, int seq, int ack, byte[] data) {
        byte[] in = podTcp(pod, vip, sport, 80, flags, seq, ack, data);
        Out o = rig.one(pod, in);
        if (b < 0) {
            assertThat(o.port()).isIn(B1, B2, B3);
            b = o.port();
        }
        assertThat(o.port()).as("backend port").isEqualTo(b);
        assertThat(hex(o.frame())).isEqualTo(hex(tcp(GW, mac(b), POD_IP[pod], POD_IP[b], sport, 8080, flags, seq, ack, data, 63)));
        assertThat(ports(verify(o.frame(), GW, mac(b), POD_IP[pod], POD_IP[b], 63))).containsExactly(sport, 8080);
        return b;
    }

    /** The backend's answer reaches the pod from {@code vip}:80 only. */
    void toClient(int b, int pod, String vip, int sport, int flags, int seq, int ack, byte[] data) {
        byte[] in = podTcp(b, POD_IP[pod], 8080, sport, flags, seq, ack, data);
        byte[] out = rig.expect(b, in, pod, tcp(GW, mac(pod), vip, POD_IP[pod], 80, sport, flags, seq, ack, data, 63));
        assertThat(ports(verify(out, GW, mac(pod), vip, POD_IP[pod], 63))).containsExactly(80, sport);
    }

    int udpToBackend(int pod, int sport, byte[] data) {
        Out o = rig.one(pod, podUdp(pod, WEB, sport, 53, data));
        int b = o.port();
        assertThat(b).isIn(B1, B2, B3);
        assertThat(hex(o.frame())).isEqualTo(hex(udp(GW, mac(b), POD_IP[pod], POD_IP[b], sport, 5353, data, 63)));
        assertThat(ports(verify(o.frame(), GW, mac(b), POD_IP[pod], POD_IP[b], 63))).containsExactly(sport, 5353);
        return b;
    }

    long drops(PipelineDrop reason) {
        return rig.pipeline.counters().pipelineDrops(reason);
    }

    // ------------------------------------------------------------------ ClusterIP

    @Test
    void tcpConversationThroughAClusterIpStaysOnOneBackend() {
        int sport = 40000;
        int b = toBackend(CLIENT, WEB, -1, sport, SYN, 1000, 0, NONE);
        toClient(b, CLIENT, WEB, sport, SYN | ACK, 5000, 1001, NONE);
        toBackend(CLIENT, WEB, b, sport, ACK, 1001, 5001, NONE);
        toBackend(CLIENT, WEB, b, sport, PSH | ACK, 1001, 5001, REQUEST);
        toClient(b, CLIENT, WEB, sport, ACK, 5001, 1001 + REQUEST.length, NONE);
        toClient(b, CLIENT, WEB, sport, PSH | ACK, 5001, 1001 + REQUEST.length, RESPONSE);
        int c = 1001 + REQUEST.length;
        int s = 5001 + RESPONSE.length;
        toBackend(CLIENT, WEB, b, sport, ACK, c, s, NONE);
        toBackend(CLIENT, WEB, b, sport, FIN | ACK, c, s, NONE);
        toClient(b, CLIENT, WEB, sport, FIN | ACK, s, c + 1, NONE);
        toBackend(CLIENT, WEB, b, sport, ACK, c + 1, s + 1, NONE);

        int h = rig.conntrack.lookup(ip(POD_IP[CLIENT]), ip(WEB), sport, 80, ConntrackTable.IPPROTO_TCP, rig.now);
        assertThat(h).isGreaterThanOrEqualTo(0);
        assertThat(rig.conntrack.tcpState(h)).isEqualTo(TcpState.TIME_WAIT);
        assertThat(rig.conntrack.backendIp(h)).isEqualTo(ip(POD_IP[b]));
        assertThat(rig.conntrack.packets(h, ConntrackTable.ORIGINAL)).isEqualTo(6);
        assertThat(rig.conntrack.packets(h, ConntrackTable.REPLY)).isEqualTo(4);
        assertThat(rig.pipeline.counters().newFlows()).isEqualTo(1);
        assertThat(rig.pipeline.counters().forwarded()).isEqualTo(10);
    }

    @Test
    void udpBothWaysAndNewFlowsSpreadOverBackends() {
        Map<Integer, Integer> perBackend = new HashMap<>();
        for (int sport = 50000; sport < 50060; sport++) {
            int b = udpToBackend(CLIENT, sport, QUERY);
            perBackend.merge(b, 1, Integer::sum);
            assertThat(udpToBackend(CLIENT, sport, QUERY)).as("the flow's second datagram").isEqualTo(b);
            byte[] answer = ("answer " + sport).getBytes();
            byte[] out = rig.expect(b, podUdp(b, POD_IP[CLIENT], 5353, sport, answer), CLIENT,
                    udp(GW, mac(CLIENT), WEB, POD_IP[CLIENT], 53, sport, answer, 63));
            assertThat(ports(verify(out, GW, mac(CLIENT), WEB, POD_IP[CLIENT], 63))).containsExactly(53, sport);
        }
        assertThat(perBackend.keySet()).containsExactlyInAnyOrder(B1, B2, B3);
        assertThat(perBackend.values()).allSatisfy(n -> assertThat(n).isBetween(8, 35));
        assertThat(rig.pipeline.counters().newFlows()).isEqualTo(60);
    }

    @Test
    void clientIpAffinityKeepsAClientOnOneBackendWhileOtherClientsSpread() {
        int first = toBackend(CLIENT, STICKY, -1, 41000, SYN, 1, 0, NONE);
        for (int sport = 41001; sport < 41040; sport++) {
            toBackend(CLIENT, STICKY, first, sport, SYN, 1, 0, NONE);
        }
        // Other clients: node processes behind the host port, one address each.
        Set<Integer> used = new HashSet<>();
        for (int k = 1; k <= 40; k++) {
            String client = "192.168.7." + k;
            int b = -1;
            for (int sport = 1000; sport < 1005; sport++) {
                Out o = rig.one(HOST, tcp(HOST_MAC, GW, client, STICKY, sport, 80, SYN, 1, 0, NONE, 64));
                assertThat(hex(o.frame())).isEqualTo(hex(tcp(GW, mac(o.port()), client, POD_IP[o.port()], sport, 8080, SYN, 1, 0, NONE, 63)));
                verify(o.frame(), GW, mac(o.port()), client, POD_IP[o.port()], 63);
                assertThat(b < 0 || o.port() == b).as("client %s stays on its backend", client).isTrue();
                b = o.port();
            }
            used.add(b);
        }
        assertThat(used).containsExactlyInAnyOrder(B1, B2, B3);
    }

    // ------------------------------------------------------------------ answered by the fast path

    @Test
    void aServiceWithoutEndpointsRefusesAtOnce() {
        assertRefused(EMPTY, 80, 53);
        assertThat(rig.pipeline.counters().serviceRejects()).as("SYN, SYN+FIN, ACK, RST (silent), UDP").isEqualTo(5);
    }

    @Test
    void aPortTheVipDoesNotHaveIsRefusedLikewise() {
        assertRefused(WEB, 81, 54);
        assertThat(rig.pipeline.counters().serviceRejects()).isZero();
    }

    void assertRefused(String vip, int tcpPort, int udpPort) {
        String client = POD_IP[CLIENT];
        // RFC 793: a segment without ACK gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; SYN and FIN count one each.
        byte[] rst = rig.expect(CLIENT, podTcp(CLIENT, vip, 42000, tcpPort, SYN, 7777, 0, NONE), CLIENT,
                reset(vip, client, tcpPort, 42000, 0, 7778, RST | ACK));
        assertThat(ports(verify(rst, GW, mac(CLIENT), vip, client, 64))).containsExactly(tcpPort, 42000);
        rig.expect(CLIENT, podTcp(CLIENT, vip, 42001, tcpPort, SYN | FIN, 100, 0, REQUEST), CLIENT,
                reset(vip, client, tcpPort, 42001, 0, 100 + REQUEST.length + 2, RST | ACK));
        // ... and one with an ACK gets <SEQ=SEG.ACK><CTL=RST>.
        rst = rig.expect(CLIENT, podTcp(CLIENT, vip, 42002, tcpPort, ACK, 9000, 123456, NONE), CLIENT,
                reset(vip, client, tcpPort, 42002, 123456, 0, RST));
        verify(rst, GW, mac(CLIENT), vip, client, 64);
        // A reset is never answered.
        assertThat(rig.send(CLIENT, podTcp(CLIENT, vip, 42003, tcpPort, RST, 1, 0, NONE))).isEmpty();
        assertThat(drops(PipelineDrop.REFUSED_SILENTLY)).isEqualTo(1);

        byte[] datagram = podUdp(CLIENT, vip, 43000, udpPort, QUERY);
        byte[] quote = Arrays.copyOfRange(datagram, 14, 14 + 28); // RFC 792: IP header + 8 bytes
        byte[] unreachable = rig.expect(CLIENT, datagram, CLIENT, icmpError(vip, client, 64, IcmpView.CODE_PORT_UNREACHABLE, quote));
        verify(unreachable, GW, mac(CLIENT), vip, client, 64);
        assertThat(rig.conntrack.live()).isZero();
    }

    static byte[] reset(String from, String to, int sport, int dport, int seq, int ack, int flags) {
        return new PacketBuilder().macs(GW, mac(CLIENT)).ipv4(from, to).tos(0xc0).identification(0).tcp(sport, dport)
                .sequence(seq).acknowledgment(ack).tcpFlags(flags).window(0).build();
    }

    static byte[] icmpError(String from, String to, int ttl, int code, byte[] quote) {
        return new PacketBuilder().macs(GW, mac(CLIENT)).ipv4(from, to).tos(0xc0).identification(0).ttl(ttl)
                .icmpError(code == 0 ? IcmpView.TIME_EXCEEDED : IcmpView.DEST_UNREACHABLE, code, 0, quote).build();
    }

    @Test
    void pingsToAClusterIpAndToTheGatewayAreAnswered() {
        for (String target : List.of(WEB, EMPTY, GATEWAY)) {
            byte[] data = ("ping " + target).getBytes();
            byte[] request = new PacketBuilder().macs(mac(CLIENT), GW).ipv4(POD_IP[CLIENT], target).ttl(17)
                    .icmpEcho(true, 0x4242, 3).payload(data).build();
            byte[] reply = rig.expect(CLIENT, request, CLIENT, new PacketBuilder().macs(GW, mac(CLIENT))
                    .ipv4(target, POD_IP[CLIENT]).icmpEcho(false, 0x4242, 3).payload(data).build());
            verify(reply, GW, mac(CLIENT), target, POD_IP[CLIENT], 64);
        }
        assertThat(rig.pipeline.counters().answered()).isEqualTo(3);
        // Anything else to the gateway is dropped.
        assertThat(rig.send(CLIENT, podUdp(CLIENT, GATEWAY, 1, 2, QUERY))).isEmpty();
        assertThat(drops(PipelineDrop.GATEWAY_NOT_PING)).isEqualTo(1);
    }

    @Test
    void proxyArpAnswersEveryAddressButNotProbesOrGratuitousArps() throws Exception {
        for (String target : List.of(GATEWAY, POD_IP[B1], "8.8.8.8")) {
            byte[] request = new PacketBuilder().macs(mac(CLIENT), 0xffffffffffffL)
                    .arp(ArpView.OP_REQUEST, mac(CLIENT), POD_IP[CLIENT], 0, target).build();
            byte[] reply = rig.expect(CLIENT, request, CLIENT, new PacketBuilder().macs(GW, mac(CLIENT))
                    .arp(ArpView.OP_REPLY, GW, target, mac(CLIENT), POD_IP[CLIENT]).build());
            ArpPacket.ArpHeader a = EthernetPacket.newPacket(reply, 0, reply.length).get(ArpPacket.class).getHeader();
            assertThat(a.getOperation().value()).isEqualTo((short) 2);
            assertThat(mac(a.getSrcHardwareAddr().getAddress())).isEqualTo(GW);
            assertThat(a.getSrcProtocolAddr().getHostAddress()).isEqualTo(target);
            assertThat(mac(a.getDstHardwareAddr().getAddress())).isEqualTo(mac(CLIENT));
            assertThat(a.getDstProtocolAddr().getHostAddress()).isEqualTo(POD_IP[CLIENT]);
        }
        byte[] probe = new PacketBuilder().macs(mac(CLIENT), 0xffffffffffffL)
                .arp(ArpView.OP_REQUEST, mac(CLIENT), "0.0.0.0", 0, POD_IP[CLIENT]).build();
        byte[] gratuitous = new PacketBuilder().macs(mac(CLIENT), 0xffffffffffffL)
                .arp(ArpView.OP_REQUEST, mac(CLIENT), POD_IP[CLIENT], 0, POD_IP[CLIENT]).build();
        byte[] reply = new PacketBuilder().macs(mac(CLIENT), GW)
                .arp(ArpView.OP_REPLY, mac(CLIENT), POD_IP[CLIENT], GW, GATEWAY).build();
        assertThat(rig.send(CLIENT, probe)).isEmpty();
        assertThat(rig.send(CLIENT, gratuitous)).isEmpty();
        assertThat(rig.send(CLIENT, reply)).isEmpty();
        assertThat(drops(PipelineDrop.ARP_IGNORED)).isEqualTo(3);
    }

    // ------------------------------------------------------------------ NAT corner cases

    @Test
    void hairpinAPodReachesItselfThroughItsServiceAndSeesTheVip() {
        int sport = 44000;
        // B1 -> SELF:80 arrives at B1:8080 from SELF:44000 (SNAT to the VIP, or B1's kernel drops its own address).
        byte[] syn = rig.expect(B1, podTcp(B1, SELF, sport, 80, SYN, 10, 0, NONE), B1,
                tcp(GW, mac(B1), SELF, POD_IP[B1], sport, 8080, SYN, 10, 0, NONE, 63));
        assertThat(ports(verify(syn, GW, mac(B1), SELF, POD_IP[B1], 63))).containsExactly(sport, 8080);
        // B1's answer to SELF:44000 comes back to B1:44000 from SELF:80.
        byte[] synAck = rig.expect(B1, podTcp(B1, SELF, 8080, sport, SYN | ACK, 500, 11, NONE), B1,
                tcp(GW, mac(B1), SELF, POD_IP[B1], 80, sport, SYN | ACK, 500, 11, NONE, 63));
        assertThat(ports(verify(synAck, GW, mac(B1), SELF, POD_IP[B1], 63))).containsExactly(80, sport);
        rig.expect(B1, podTcp(B1, SELF, sport, 80, PSH | ACK, 11, 501, REQUEST), B1,
                tcp(GW, mac(B1), SELF, POD_IP[B1], sport, 8080, PSH | ACK, 11, 501, REQUEST, 63));
        int h = rig.conntrack.lookup(ip(POD_IP[B1]), ip(SELF), sport, 80, ConntrackTable.IPPROTO_TCP, rig.now);
        assertThat(rig.conntrack.flags(h) & ConntrackDescriptor.FLAG_SNAT).isNotZero();
        assertThat(drops(PipelineDrop.LOOP)).isZero();
    }

    @Test
    void oneSourcePortToTwoServicesOnTheSameBackendGetsItsSourcePortRemapped() {
        // Linux reuses an ephemeral port for connections to different destinations; after DNAT two
        // such connections to Services sharing a backend would have the same reply tuple.
        int sport = 45500;
        while (toBackend(CLIENT, WEB, -1, sport, SYN, 1, 0, NONE) != B1) {
            sport++;
        }
        Out o = rig.one(CLIENT, podTcp(CLIENT, SELF, sport, 80, SYN, 1, 0, NONE));
        assertThat(o.port()).isEqualTo(B1);
        int remapped = ports(verify(o.frame(), GW, mac(B1), POD_IP[CLIENT], POD_IP[B1], 63))[0];
        assertThat(remapped).isNotEqualTo(sport);
        assertThat(hex(o.frame())).isEqualTo(hex(tcp(GW, mac(B1), POD_IP[CLIENT], POD_IP[B1], remapped, 8080, SYN, 1, 0, NONE, 63)));
        // Each backend reply goes back to its own connection.
        byte[] out = rig.expect(B1, podTcp(B1, POD_IP[CLIENT], 8080, remapped, SYN | ACK, 70, 2, NONE), CLIENT,
                tcp(GW, mac(CLIENT), SELF, POD_IP[CLIENT], 80, sport, SYN | ACK, 70, 2, NONE, 63));
        verify(out, GW, mac(CLIENT), SELF, POD_IP[CLIENT], 63);
        toClient(B1, CLIENT, WEB, sport, SYN | ACK, 90, 2, NONE);
        rig.expect(CLIENT, podTcp(CLIENT, SELF, sport, 80, ACK, 2, 71, NONE), B1,
                tcp(GW, mac(B1), POD_IP[CLIENT], POD_IP[B1], remapped, 8080, ACK, 2, 71, NONE, 63));
        assertThat(drops(PipelineDrop.CONNTRACK_CLASH)).isZero();
    }

    @Test
    void removingABackendPurgesItsUdpFlowsSoTheClientMovesOnAtOnce() {
        // The kube-proxy bug users still hit: a UDP client keeps sending to a dead backend for as
        // long as the conntrack entry lives. Here its next datagram goes to a live backend.
        int sport = 52000;
        int first = udpToBackend(CLIENT, sport, QUERY);
        List<Integer> others = new java.util.ArrayList<>(List.of(B1, B2, B3));
        others.remove(Integer.valueOf(first));
        rig.pipeline.setServices(ServiceTable.build(services(ready(others.get(0), others.get(1))), "n1"));
        int next = udpToBackend(CLIENT, sport, QUERY);
        assertThat(next).isIn(others.get(0), others.get(1));
        assertThat(udpToBackend(CLIENT, sport, QUERY)).as("and it stays there").isEqualTo(next);
        assertThat(rig.pipeline.counters().flowsPurged()).isEqualTo(1);
        // A flow of another backend, and the web Service's other flows, are untouched.
        assertThat(rig.pipeline.counters().newFlows()).isEqualTo(2);
    }

    @Test
    void terminatingEndpointKeepsItsFlowsButTakesNoNewOnes() {
        // Find a flow that lands on B2 while B1 and B2 are both ready.
        rig.pipeline.setServices(ServiceTable.build(services(ready(B1, B2)), "n1"));
        int sport = 45000;
        while (toBackend(CLIENT, WEB, -1, sport, SYN, 1, 0, NONE) != B2) {
            sport++;
        }
        toClient(B2, CLIENT, WEB, sport, SYN | ACK, 900, 2, NONE);
        toBackend(CLIENT, WEB, B2, sport, ACK, 2, 901, NONE);

        List<Endpoint> draining = List.of(Endpoint.ready(addr(POD_IP[B1]), "n1"),
                Endpoint.ready(addr(POD_IP[B2]), "n1").terminatingServing());
        rig.pipeline.setServices(ServiceTable.build(services(draining), "n1"));
        for (int p = 46000; p < 46050; p++) {
            toBackend(CLIENT, WEB, B1, p, SYN, 1, 0, NONE);
        }
        toBackend(CLIENT, WEB, B2, sport, PSH | ACK, 2, 901, REQUEST);
        toClient(B2, CLIENT, WEB, sport, PSH | ACK, 901, 2 + REQUEST.length, RESPONSE);
    }

    @Test
    void aBackendsIcmpErrorReachesTheClientFromTheVipAboutWhatTheClientSent() {
        int sport = 47000;
        int b = udpToBackend(CLIENT, sport, QUERY);
        // As the backend saw it: client:47000 -> b:5353, TTL already decremented.
        byte[] seen = new PacketBuilder().ipv4(POD_IP[CLIENT], POD_IP[b]).ttl(63).udp(sport, 5353).payload(QUERY).buildIp();
        byte[] asSent = new PacketBuilder().ipv4(POD_IP[CLIENT], WEB).ttl(63).udp(sport, 53).payload(QUERY).buildIp();
        for (byte[][] quotes : new byte[][][] {{seen, asSent}, {Arrays.copyOf(seen, 28), Arrays.copyOf(asSent, 28)}}) {
            byte[] error = new PacketBuilder().macs(mac(b), GW).ipv4(POD_IP[b], POD_IP[CLIENT]).tos(0xc0)
                    .icmpError(IcmpView.DEST_UNREACHABLE, IcmpView.CODE_PORT_UNREACHABLE, 0, quotes[0]).build();
            byte[] out = rig.expect(b, error, CLIENT, new PacketBuilder().macs(GW, mac(CLIENT)).ipv4(WEB, POD_IP[CLIENT])
                    .tos(0xc0).ttl(63).icmpError(IcmpView.DEST_UNREACHABLE, IcmpView.CODE_PORT_UNREACHABLE, 0, quotes[1]).build());
            List<Packet> chain = verify(out, GW, mac(CLIENT), WEB, POD_IP[CLIENT], 63);
            assertThat(chain.stream().filter(p -> p instanceof org.pcap4j.packet.IpV4Packet)).hasSize(2);
        }
        assertThat(rig.pipeline.counters().icmpErrorsTranslated()).isEqualTo(2);
    }

    // ------------------------------------------------------------------ routing

    @Test
    void aPodSendingFromAnotherAddressIsDropped() {
        assertThat(rig.send(CLIENT, tcp(mac(CLIENT), GW, POD_IP[CLIENT2], WEB, 1, 80, SYN, 1, 0, NONE, 64))).isEmpty();
        assertThat(rig.send(CLIENT, udp(mac(CLIENT), GW, "10.244.1.99", POD_IP[B1], 1, 2, QUERY, 64))).isEmpty();
        assertThat(drops(PipelineDrop.POD_SOURCE_MISMATCH)).isEqualTo(2);
        assertThat(rig.conntrack.live()).isZero();
    }

    @Test
    void ttlOneIsAnsweredWithTimeExceeded() {
        for (String dst : List.of(POD_IP[B1], WEB)) {
            byte[] in = tcp(mac(CLIENT), GW, POD_IP[CLIENT], dst, 48000, 80, SYN, 1, 0, NONE, 1);
            byte[] out = rig.expect(CLIENT, in, CLIENT, icmpError(GATEWAY, POD_IP[CLIENT], 64, 0, Arrays.copyOfRange(in, 14, 42)));
            verify(out, GW, mac(CLIENT), GATEWAY, POD_IP[CLIENT], 64);
        }
        assertThat(drops(PipelineDrop.TTL_EXCEEDED)).isEqualTo(2);
        assertThat(rig.conntrack.live()).isZero();
    }

    @Test
    void aClientReusingItsPortDirectlyToABackendItOnceReachedThroughTheVipGetsTheBackendsAnswer() {
        // Found by measure-services.sh: a connection-rate client cycles its ephemeral ports through
        // a ClusterIP and then straight to a backend pod; the backend's SYN+ACK matched the closed
        // Service flow's reply tuple and came back from the VIP, so the client reset it.
        int sport = 41000;
        int b = toBackend(CLIENT, WEB, -1, sport, SYN, 1, 0, NONE);
        toClient(b, CLIENT, WEB, sport, SYN | ACK, 100, 2, NONE);
        toBackend(CLIENT, WEB, b, sport, ACK, 2, 101, NONE);
        toBackend(CLIENT, WEB, b, sport, RST, 2, 0, NONE);
        int vipFlow = rig.conntrack.lookup(ip(POD_IP[CLIENT]), ip(WEB), sport, 80, ConntrackTable.IPPROTO_TCP, rig.now);
        assertThat(rig.conntrack.tcpState(vipFlow)).isEqualTo(TcpState.CLOSE);

        rig.expect(CLIENT, podTcp(CLIENT, POD_IP[b], sport, 8080, SYN, 7, 0, NONE), b,
                tcp(GW, mac(b), POD_IP[CLIENT], POD_IP[b], sport, 8080, SYN, 7, 0, NONE, 63));
        byte[] out = rig.expect(b, podTcp(b, POD_IP[CLIENT], 8080, sport, SYN | ACK, 300, 8, NONE), CLIENT,
                tcp(GW, mac(CLIENT), POD_IP[b], POD_IP[CLIENT], 8080, sport, SYN | ACK, 300, 8, NONE, 63));
        assertThat(ports(verify(out, GW, mac(CLIENT), POD_IP[b], POD_IP[CLIENT], 63))).containsExactly(8080, sport);
        assertThat(rig.conntrack.lookup(ip(POD_IP[CLIENT]), ip(WEB), sport, 80, ConntrackTable.IPPROTO_TCP, rig.now))
                .as("the closed Service flow is gone").isEqualTo(ConntrackTable.MISS);

        // The same port back to the VIP: a new flow with a fresh pick, not the old entry reopened.
        long newFlows = rig.pipeline.counters().newFlows();
        toBackend(CLIENT, WEB, -1, sport, SYN, 50, 0, NONE);
        assertThat(rig.pipeline.counters().newFlows()).isEqualTo(newFlows + 1);
    }

    @Test
    void aSynOverAClosedServiceFlowIsANewFlowWhileAnOpenOneIsLeftAlone() {
        int sport = 41100;
        int b = toBackend(CLIENT, WEB, -1, sport, SYN, 1, 0, NONE);
        toClient(b, CLIENT, WEB, sport, SYN | ACK, 100, 2, NONE);
        // A retransmitted SYN of a flow that is not closed stays on its flow and backend.
        long newFlows = rig.pipeline.counters().newFlows();
        toBackend(CLIENT, WEB, b, sport, SYN, 1, 0, NONE);
        assertThat(rig.pipeline.counters().newFlows()).isEqualTo(newFlows);
        toBackend(CLIENT, WEB, b, sport, RST | ACK, 2, 101, NONE);
        toBackend(CLIENT, WEB, -1, sport, SYN, 9, 0, NONE);
        assertThat(rig.pipeline.counters().newFlows()).isEqualTo(newFlows + 1);
    }

    @Test
    void podToPodIsRoutedWithoutNatAndPodToOutsideGoesToTheHost() {
        byte[] out = rig.expect(CLIENT, podTcp(CLIENT, POD_IP[B2], 49000, 8080, SYN, 5, 0, NONE), B2,
                tcp(GW, mac(B2), POD_IP[CLIENT], POD_IP[B2], 49000, 8080, SYN, 5, 0, NONE, 63));
        assertThat(ports(verify(out, GW, mac(B2), POD_IP[CLIENT], POD_IP[B2], 63))).containsExactly(49000, 8080);
        out = rig.expect(B2, podUdp(B2, POD_IP[CLIENT2], 5353, 9, QUERY), CLIENT2,
                udp(GW, mac(CLIENT2), POD_IP[B2], POD_IP[CLIENT2], 5353, 9, QUERY, 63));
        verify(out, GW, mac(CLIENT2), POD_IP[B2], POD_IP[CLIENT2], 63);
        out = rig.expect(CLIENT, podTcp(CLIENT, "1.1.1.1", 49001, 443, SYN, 5, 0, NONE), HOST,
                tcp(GW, HOST_MAC, POD_IP[CLIENT], "1.1.1.1", 49001, 443, SYN, 5, 0, NONE, 63));
        verify(out, GW, HOST_MAC, POD_IP[CLIENT], "1.1.1.1", 63);
        assertThat(rig.conntrack.live()).isZero();
        assertThat(rig.pipeline.counters().natTranslations()).isZero();
    }

    @Test
    void nodePortFromTheHostReachesABackendButNotWhenAddressedToAPod() {
        String outside = "203.0.113.7";
        byte[] out = rig.expect(HOST, tcp(HOST_MAC, GW, outside, NODE_IP, 51000, NODE_PORT, SYN, 77, 0, NONE, 64), B2,
                tcp(GW, mac(B2), outside, POD_IP[B2], 51000, 8080, SYN, 77, 0, NONE, 63));
        assertThat(ports(verify(out, GW, mac(B2), outside, POD_IP[B2], 63))).containsExactly(51000, 8080);
        out = rig.expect(B2, podTcp(B2, outside, 8080, 51000, SYN | ACK, 300, 78, NONE), HOST,
                tcp(GW, HOST_MAC, NODE_IP, outside, NODE_PORT, 51000, SYN | ACK, 300, 78, NONE, 63));
        assertThat(ports(verify(out, GW, HOST_MAC, NODE_IP, outside, 63))).containsExactly(NODE_PORT, 51000);

        // To a pod's own address, a port number that is also a node port is just a port.
        out = rig.expect(HOST, tcp(HOST_MAC, GW, NODE_IP, POD_IP[B1], 52000, NODE_PORT, SYN, 1, 0, NONE, 64), B1,
                tcp(GW, mac(B1), NODE_IP, POD_IP[B1], 52000, NODE_PORT, SYN, 1, 0, NONE, 63));
        assertThat(ports(verify(out, GW, mac(B1), NODE_IP, POD_IP[B1], 63))).containsExactly(52000, NODE_PORT);
        assertThat(rig.pipeline.counters().newFlows()).isEqualTo(1);
    }

    @Test
    void aClusterIpPortThatHappensToBeANodePortIsNotNodePorted() {
        // kube-proxy applies node ports to the node's own addresses only; a ClusterIP is not one.
        byte[] rst = rig.expect(HOST, tcp(HOST_MAC, GW, NODE_IP, WEB, 53000, NODE_PORT, SYN, 1, 0, NONE, 64), HOST,
                new PacketBuilder().macs(GW, HOST_MAC).ipv4(WEB, NODE_IP).tos(0xc0).identification(0).tcp(NODE_PORT, 53000)
                        .sequence(0).acknowledgment(2).tcpFlags(RST | ACK).window(0).build());
        verify(rst, GW, HOST_MAC, WEB, NODE_IP, 64);
        assertThat(rig.conntrack.live()).isZero();
    }
}
