package dev.shunt.datapath;

import dev.shunt.port.InMemoryPort;
import dev.shunt.port.RxBatch;
import dev.shunt.service.Endpoint;
import dev.shunt.service.Protocol;
import dev.shunt.service.Service;
import dev.shunt.service.ServicePort;
import dev.shunt.service.ServiceTable;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.shunt.datapath.PipelineRig.GW;
import static dev.shunt.datapath.PipelineRig.addr;
import static dev.shunt.datapath.PipelineRig.ip;
import static dev.shunt.datapath.PipelineRig.tcp;
import static dev.shunt.datapath.PipelineRig.verify;
import static dev.shunt.packet.TcpView.ACK;
import static dev.shunt.packet.TcpView.SYN;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A node with an overlay port: another node's pods are reached through it with that node's VTEP
 * MAC; a ClusterIP backend on another node is DNATed here and keeps the client's address; a node
 * port whose backend runs on another node is also source-NATed to this node's overlay address,
 * so the backend's replies come back here to be translated for the outside client. Checked with
 * pcap4j.
 */
class PipelineOverlayTest {
    static final int HOST = 0, OVERLAY = 1, POD = 2;
    static final long HOST_MAC = 0x02000000000aL, POD_MAC = 0x020000000022L, VTEP2 = 0x0e0000000002L;
    static final String POD_IP = "10.244.1.2", NODE_ADDRESS = "10.244.1.0", REMOTE = "10.244.2.5";
    static final String VIP = "10.96.0.10", NODE_IP = "198.18.1.1", OUTSIDE = "198.18.1.254";

    final InMemoryPort[] ports = {new InMemoryPort(HOST, "host"), new InMemoryPort(OVERLAY, "shunt.vx"),
            new InMemoryPort(POD, "pod")};
    final Pipeline pipeline;
    final RxBatch batch = new RxBatch(32);
    long now = 1_000_000_000L;

    PipelineOverlayTest() {
        ForwardingTable fwd = ForwardingTable.builder(HOST).hostMac(HOST_MAC).nodeAddress(ip(NODE_ADDRESS))
                .pod(ip(POD_IP), POD, POD_MAC).overlay(OVERLAY, 24).remoteNode(ip("10.244.2.0"), 0, VTEP2).build();
        pipeline = new Pipeline(ConntrackTable.allocate(1024), new AffinityTable(64), fwd, 3);
        for (InMemoryPort p : ports) {
            pipeline.attach(p);
        }
        List<Endpoint> remote = List.of(Endpoint.ready(addr(REMOTE), "n2"));
        pipeline.setServices(ServiceTable.build(List.of(new Service("web", addr(VIP), Service.Type.NODE_PORT,
                List.of(ServicePort.of(Protocol.TCP, 80, 8080).withNodePort(30080)), 0, null, null, remote)), "n1"));
    }

    record Out(int port, byte[] frame) {}

    Out one(int port, byte[] frame) {
        ports[port].inject(frame);
        pipeline.poll(ports[port], batch, now += 1_000_000);
        List<Out> out = new ArrayList<>();
        for (InMemoryPort p : ports) {
            for (byte[] f : p.drainSent()) {
                out.add(new Out(p.id(), f));
            }
        }
        assertThat(out).as("frames out").hasSize(1);
        return out.getFirst();
    }

    @Test
    void aPodOfAnotherNodeIsReachedThroughTheOverlayWithItsNodesVtepMac() {
        Out out = one(POD, tcp(POD_MAC, GW, POD_IP, REMOTE, 40000, 8080, SYN, 1, 0, new byte[0], 64));
        assertThat(out.port()).isEqualTo(OVERLAY);
        verify(out.frame(), GW, VTEP2, POD_IP, REMOTE, 63);
    }

    @Test
    void aClusterIpBackendOnAnotherNodeSeesTheClientsAddress() {
        Out request = one(POD, tcp(POD_MAC, GW, POD_IP, VIP, 40001, 80, SYN, 1, 0, new byte[0], 64));
        assertThat(request.port()).isEqualTo(OVERLAY);
        verify(request.frame(), GW, VTEP2, POD_IP, REMOTE, 63);
        Out reply = one(OVERLAY, tcp(VTEP2, GW, REMOTE, POD_IP, 8080, 40001, SYN | ACK, 9, 2, new byte[0], 63));
        assertThat(reply.port()).isEqualTo(POD);
        verify(reply.frame(), GW, POD_MAC, VIP, POD_IP, 62);
    }

    @Test
    void aNodePortToABackendOnAnotherNodeIsSourceNatedHereSoRepliesComeBack() {
        Out request = one(HOST, tcp(HOST_MAC, GW, OUTSIDE, NODE_IP, 51000, 30080, SYN, 1, 0, new byte[0], 63));
        assertThat(request.port()).isEqualTo(OVERLAY);
        verify(request.frame(), GW, VTEP2, NODE_ADDRESS, REMOTE, 62);
        int sport = (request.frame()[34] & 0xff) << 8 | request.frame()[35] & 0xff;
        Out reply = one(OVERLAY, tcp(VTEP2, GW, REMOTE, NODE_ADDRESS, 8080, sport, SYN | ACK, 9, 2, new byte[0], 63));
        assertThat(reply.port()).isEqualTo(HOST);
        verify(reply.frame(), GW, HOST_MAC, NODE_IP, OUTSIDE, 62);
        assertThat((reply.frame()[34] & 0xff) << 8 | reply.frame()[35] & 0xff).as("source port: the node port").isEqualTo(30080);
        assertThat((reply.frame()[36] & 0xff) << 8 | reply.frame()[37] & 0xff).as("back to the client's port").isEqualTo(51000);
    }
}
