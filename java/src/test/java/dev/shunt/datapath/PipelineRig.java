package dev.shunt.datapath;

import dev.shunt.packet.PacketBuilder;
import dev.shunt.port.InMemoryPort;
import dev.shunt.port.RxBatch;
import dev.shunt.service.Endpoint;
import dev.shunt.service.Protocol;
import dev.shunt.service.Service;
import dev.shunt.service.ServicePort;
import dev.shunt.service.ServiceTable;
import org.pcap4j.packet.EthernetPacket;
import org.pcap4j.packet.IcmpV4CommonPacket;
import org.pcap4j.packet.IllegalRawDataException;
import org.pcap4j.packet.IpV4Packet;
import org.pcap4j.packet.Packet;
import org.pcap4j.packet.TcpPacket;
import org.pcap4j.packet.UdpPacket;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A node for pipeline tests: a host port, a client pod, three backend pods and a second client
 * pod on in-memory ports, a few Services, and helpers that build frames with {@link PacketBuilder}
 * and check outputs with pcap4j (an independent decoder) for valid checksums and the expected
 * addresses, ports, TTL and MACs.
 */
final class PipelineRig {
    static final int HOST = 0, CLIENT = 1, B1 = 2, B2 = 3, B3 = 4, CLIENT2 = 5;
    static final String[] POD_IP = {null, "10.244.1.2", "10.244.1.3", "10.244.1.4", "10.244.1.5", "10.244.1.6"};
    static final long HOST_MAC = 0x02000000000aL;
    static final long GW = ForwardingTable.GATEWAY_MAC;
    static final String GATEWAY = "169.254.1.1";
    static final String NODE_IP = "192.168.0.10";
    /** web: TCP 80→8080 and UDP 53→5353 on B1, B2, B3. */
    static final String WEB = "10.96.0.10";
    /** empty: TCP 80 and UDP 53, no endpoints. */
    static final String EMPTY = "10.96.0.20";
    /** sticky: TCP 80→8080 on B1, B2, B3 with ClientIP affinity. */
    static final String STICKY = "10.96.0.30";
    /** np: a NodePort Service, TCP 80→8080 node port 30080, on B2 only. */
    static final String NP = "10.96.0.40";
    static final int NODE_PORT = 30080;
    /** self: TCP 80→8080 on B1 only, for hairpin. */
    static final String SELF = "10.96.0.50";

    final InMemoryPort[] ports = new InMemoryPort[6];
    final ConntrackTable conntrack = ConntrackTable.allocate(4096);
    final Pipeline pipeline;
    final RxBatch batch = new RxBatch(32);
    long now = 1_000_000_000L;

    PipelineRig() {
        this(new int[6]);
    }

    /** A rig whose port {@code p} has link MTU {@code mtus[p]} (0: none). */
    PipelineRig(int[] mtus) {
        pipeline = new Pipeline(conntrack, new AffinityTable(1024), forwarding(), 7);
        String[] names = {"host", "client", "b1", "b2", "b3", "client2"};
        for (int p = 0; p < ports.length; p++) {
            ports[p] = new InMemoryPort(p, names[p]);
            pipeline.attach(ports[p], mtus[p]);
        }
        pipeline.setServices(ServiceTable.build(services(ready(B1, B2, B3)), "n1"));
    }

    static ForwardingTable forwarding() {
        ForwardingTable.Builder fwd = ForwardingTable.builder(HOST).hostMac(HOST_MAC);
        for (int p = CLIENT; p <= CLIENT2; p++) {
            fwd.pod(ip(POD_IP[p]), p, mac(p));
        }
        return fwd.build();
    }

    static List<Service> services(List<Endpoint> webEndpoints) {
        List<Service> all = new ArrayList<>();
        all.add(Service.clusterIp("web", addr(WEB), List.of(ServicePort.of(Protocol.TCP, 80, 8080),
                ServicePort.of(Protocol.UDP, 53, 5353)), webEndpoints));
        all.add(Service.clusterIp("empty", addr(EMPTY), List.of(ServicePort.of(Protocol.TCP, 80, 8080),
                ServicePort.of(Protocol.UDP, 53, 5353)), List.of()));
        all.add(new Service("sticky", addr(STICKY), Service.Type.CLUSTER_IP, List.of(ServicePort.of(Protocol.TCP, 80, 8080)),
                Service.DEFAULT_AFFINITY_SECONDS, null, null, ready(B1, B2, B3)));
        all.add(new Service("np", addr(NP), Service.Type.NODE_PORT,
                List.of(ServicePort.of(Protocol.TCP, 80, 8080).withNodePort(NODE_PORT)), 0, null, null, ready(B2)));
        all.add(Service.clusterIp("self", addr(SELF), List.of(ServicePort.of(Protocol.TCP, 80, 8080)), ready(B1)));
        return all;
    }

    static List<Endpoint> ready(int... pods) {
        List<Endpoint> out = new ArrayList<>();
        for (int p : pods) {
            out.add(Endpoint.ready(addr(POD_IP[p]), "n1"));
        }
        return out;
    }

    /** A frame leaving the pipeline and the port it left by. */
    record Out(int port, byte[] frame) {}

    /** Injects {@code frame} on {@code port}, runs one poll, returns everything transmitted. */
    List<Out> send(int port, byte[] frame) {
        ports[port].inject(frame);
        now += 1_000_000;
        pipeline.poll(ports[port], batch, now);
        List<Out> out = new ArrayList<>();
        for (InMemoryPort p : ports) {
            for (byte[] f : p.drainSent()) {
                out.add(new Out(p.id(), f));
            }
        }
        return out;
    }

    /** As {@link #send}, expecting exactly one frame out. */
    Out one(int port, byte[] frame) {
        List<Out> out = send(port, frame);
        assertThat(out).as("frames out").hasSize(1);
        return out.getFirst();
    }

    /** As {@link #one}, expecting it on {@code expectedPort} with exactly the bytes of {@code expected}. */
    byte[] expect(int port, byte[] frame, int expectedPort, byte[] expected) {
        Out o = one(port, frame);
        assertThat(o.port()).as("output port").isEqualTo(expectedPort);
        assertThat(hex(o.frame())).as("frame bytes").isEqualTo(hex(expected));
        return o.frame();
    }

    void assertBalanced() {
        DatapathCounters c = pipeline.counters();
        assertThat(c.received()).as(c.toString()).isEqualTo(c.forwarded() + c.answered() + c.dropped());
    }

    // ------------------------------------------------------------------ frames

    static long mac(int port) {
        return port == HOST ? HOST_MAC : 0x020000000010L + port;
    }

    static byte[] tcp(long smac, long dmac, String s, String d, int sp, int dp, int flags, int seq, int ack, byte[] data, int ttl) {
        return new PacketBuilder().macs(smac, dmac).ipv4(s, d).ttl(ttl).tcp(sp, dp).tcpFlags(flags).sequence(seq)
                .acknowledgment(ack).payload(data).build();
    }

    static byte[] udp(long smac, long dmac, String s, String d, int sp, int dp, byte[] data, int ttl) {
        return new PacketBuilder().macs(smac, dmac).ipv4(s, d).ttl(ttl).udp(sp, dp).payload(data).build();
    }

    /** A frame a pod sends to the gateway. */
    static byte[] podTcp(int pod, String d, int sp, int dp, int flags, int seq, int ack, byte[] data) {
        return tcp(mac(pod), GW, POD_IP[pod], d, sp, dp, flags, seq, ack, data, 64);
    }

    static byte[] podUdp(int pod, String d, int sp, int dp, byte[] data) {
        return udp(mac(pod), GW, POD_IP[pod], d, sp, dp, data, 64);
    }

    static int ip(String s) {
        return ServiceTable.ipv4(addr(s));
    }

    static Inet4Address addr(String s) {
        return (Inet4Address) InetAddress.ofLiteral(s);
    }

    static String hex(byte[] b) {
        return java.util.HexFormat.ofDelimiter(" ").formatHex(b);
    }

    // ------------------------------------------------------------------ pcap4j

    /**
     * Decodes {@code frame} with pcap4j and checks, independently of Shunt's code: the MACs, IPv4
     * addresses and TTL, the IPv4 header checksum, the TCP/UDP checksum with the pseudo-header,
     * the ICMP checksum and, for an ICMP error, the quoted IPv4 header checksum (and the quoted
     * UDP checksum when the whole datagram is quoted). Returns the chain of decoded packets.
     */
    static List<Packet> verify(byte[] frame, long srcMac, long dstMac, String src, String dst, int ttl) {
        EthernetPacket eth;
        try {
            eth = EthernetPacket.newPacket(frame, 0, frame.length);
        } catch (IllegalRawDataException e) {
            throw new AssertionError("pcap4j cannot decode " + hex(frame), e);
        }
        assertThat(mac(eth.getHeader().getSrcAddr().getAddress())).as("source MAC").isEqualTo(srcMac);
        assertThat(mac(eth.getHeader().getDstAddr().getAddress())).as("destination MAC").isEqualTo(dstMac);
        List<Packet> chain = new ArrayList<>();
        for (Packet p = eth; p != null; p = p.getPayload()) {
            chain.add(p);
        }
        IpV4Packet ip = (IpV4Packet) chain.get(1);
        IpV4Packet.IpV4Header h = ip.getHeader();
        assertThat(h.getSrcAddr().getHostAddress()).as("source IP").isEqualTo(src);
        assertThat(h.getDstAddr().getHostAddress()).as("destination IP").isEqualTo(dst);
        assertThat(h.getTtlAsInt()).as("TTL").isEqualTo(ttl);
        assertThat(h.hasValidChecksum(false)).as("IPv4 header checksum").isTrue();
        Packet l4 = chain.get(2);
        switch (l4) {
            case TcpPacket t -> assertThat(t.hasValidChecksum(h.getSrcAddr(), h.getDstAddr(), false)).as("TCP checksum").isTrue();
            case UdpPacket u -> assertThat(u.hasValidChecksum(h.getSrcAddr(), h.getDstAddr(), false)).as("UDP checksum").isTrue();
            case IcmpV4CommonPacket i -> {
                assertThat(i.hasValidChecksum(false)).as("ICMP checksum").isTrue();
                for (int k = 3; k < chain.size(); k++) {
                    if (chain.get(k) instanceof IpV4Packet quoted) {
                        assertThat(quoted.getHeader().hasValidChecksum(false)).as("quoted IPv4 header checksum").isTrue();
                        if (k + 1 < chain.size() && chain.get(k + 1) instanceof UdpPacket qu
                                && qu.getHeader().getLengthAsInt() == qu.length()) {
                            assertThat(qu.hasValidChecksum(quoted.getHeader().getSrcAddr(), quoted.getHeader().getDstAddr(), false))
                                    .as("quoted UDP checksum").isTrue();
                        }
                    }
                }
            }
            default -> throw new AssertionError("unexpected L4 " + l4);
        }
        return chain;
    }

    /** The TCP or UDP ports pcap4j reads from a decoded chain (the outer ones). */
    static int[] ports(List<Packet> chain) {
        return switch (chain.get(2)) {
            case TcpPacket t -> new int[] {t.getHeader().getSrcPort().valueAsInt(), t.getHeader().getDstPort().valueAsInt()};
            case UdpPacket u -> new int[] {u.getHeader().getSrcPort().valueAsInt(), u.getHeader().getDstPort().valueAsInt()};
            default -> throw new AssertionError("no ports in " + chain.get(2));
        };
    }

    static long mac(byte[] b) {
        return ByteBuffer.allocate(8).put(new byte[2]).put(b).flip().getLong();
    }
}
