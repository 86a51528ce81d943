package dev.shunt.datapath;

import dev.shunt.packet.Checksums;
import dev.shunt.packet.DropReason;
import dev.shunt.packet.PacketBuilder;
import dev.shunt.packet.PacketMeta;
import dev.shunt.packet.PacketParser;
import dev.shunt.packet.TcpView;
import dev.shunt.port.InMemoryPort;
import dev.shunt.port.RxBatch;
import dev.shunt.service.Endpoint;
import dev.shunt.service.Protocol;
import dev.shunt.service.Service;
import dev.shunt.service.ServicePort;
import dev.shunt.service.ServiceTable;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The first end-to-end check of the pipeline: a TCP handshake through a ClusterIP, both ways. */
class PipelineSmokeTest {
    static final int HOST = 0;
    static final int CLIENT_PORT = 2;
    static final int SERVER_PORT = 3;
    static final long CLIENT_MAC = 0x020000000002L;
    static final long SERVER_MAC = 0x020000000003L;

    static int ip(String s) throws Exception {
        return ServiceTable.ipv4((Inet4Address) InetAddress.getByName(s));
    }

    @Test
    void synToClusterIpIsDnatedAndTheSynAckUnDnated() throws Exception {
        InMemoryPort host = new InMemoryPort(HOST, "host");
        InMemoryPort client = new InMemoryPort(CLIENT_PORT, "client");
        InMemoryPort server = new InMemoryPort(SERVER_PORT, "server");
        ForwardingTable fwd = ForwardingTable.builder(HOST).hostMac(0x02000000000aL)
                .pod(ip("10.244.1.2"), CLIENT_PORT, CLIENT_MAC)
                .pod(ip("10.244.1.3"), SERVER_PORT, SERVER_MAC)
                .build();
        Pipeline p = new Pipeline(ConntrackTable.allocate(1024), new AffinityTable(1024), fwd, 7);
        p.attach(host);
        p.attach(client);
        p.attach(server);
        p.setServices(ServiceTable.build(List.of(Service.clusterIp("web", (Inet4Address) InetAddress.getByName("10.96.0.10"),
                List.of(ServicePort.of(Protocol.TCP, 80, 8080)),
                List.of(Endpoint.ready((Inet4Address) InetAddress.getByName("10.244.1.3"), "n1")))), "n1"));

        client.inject(new PacketBuilder().macs(CLIENT_MAC, ForwardingTable.GATEWAY_MAC).ipv4("10.244.1.2", "10.96.0.10")
                .tcp(40000, 80).tcpFlags(TcpView.SYN).sequence(1000).build());
        RxBatch batch = new RxBatch(32);
        p.poll(client, batch, 1_000_000_000L);
        assertThat(server.sent()).hasSize(1);
        PacketMeta m = parse(server.sent().get(0));
        assertThat(m.dst4()).isEqualTo(ip("10.244.1.3"));
        assertThat(m.dstPort()).isEqualTo(8080);
        assertThat(m.src4()).isEqualTo(ip("10.244.1.2"));
        assertThat(m.srcPort()).isEqualTo(40000);
        assertThat(m.ttl()).isEqualTo(63);

        server.inject(new PacketBuilder().macs(SERVER_MAC, ForwardingTable.GATEWAY_MAC).ipv4("10.244.1.3", "10.244.1.2")
                .tcp(8080, 40000).tcpFlags(TcpView.SYN | TcpView.ACK).sequence(5000).acknowledgment(1001).build());
        p.poll(server, batch, 1_000_000_100L);
        assertThat(client.sent()).hasSize(1);
        PacketMeta r = parse(client.sent().get(0));
        assertThat(r.src4()).isEqualTo(ip("10.96.0.10"));
        assertThat(r.srcPort()).isEqualTo(80);
        assertThat(r.dst4()).isEqualTo(ip("10.244.1.2"));
        assertThat(p.counters().received()).isEqualTo(p.counters().forwarded() + p.counters().answered() + p.counters().dropped());
    }

    static PacketMeta parse(byte[] frame) {
        PacketMeta m = new PacketMeta();
        MemorySegment s = MemorySegment.ofArray(frame);
        assertThat(new PacketParser(PacketParser.VERIFY_IPV4_CHECKSUM | PacketParser.VERIFY_L4_CHECKSUM).parse(s, 0, frame.length, m))
                .isEqualTo(DropReason.OK);
        return m;
    }
}
