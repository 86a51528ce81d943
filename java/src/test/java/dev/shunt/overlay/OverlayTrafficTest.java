package dev.shunt.overlay;

import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import dev.shunt.netlink.IpPrefix;
import dev.shunt.netlink.MacAddress;
import dev.shunt.netlink.NetlinkHandle;
import dev.shunt.netlink.Route;
import dev.shunt.netlink.VethSpec;
import dev.shunt.sys.Fd;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.shunt.overlay.OverlayInputTest.v4;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two nodes (namespaces) joined by an underlay veth (198.18.0.1 and .2), each with shunt.vx made
 * by {@link VxlanDevice} and programmed by {@link OverlayPeers} for the other, and a kernel route
 * for the other node's pod CIDR via its VTEP IP onlink on shunt.vx (the test's stand-in for the
 * fast path writing to shunt.vx). Pod addresses sit on lo. Witnesses: ping and a UDP socket, and
 * tcpdump on the underlay reading UDP 4789 with the configured VNI.
 */
class OverlayTrafficTest {
    private static final int VNI = 4242;
    private static final VxlanConfig NODE_A = VxlanConfig.forNode("node-a", v4("198.18.0.1"), 1500).withVni(VNI);
    private static final VxlanConfig NODE_B = VxlanConfig.forNode("node-b", v4("198.18.0.2"), 1500).withVni(VNI);
    private static final OverlayPeer PEER_A = new OverlayPeer("node-a", v4("198.18.0.1"), NODE_A.vtepMac(), IpPrefix.parse("10.244.1.0/24"));
    private static final OverlayPeer PEER_B = new OverlayPeer("node-b", v4("198.18.0.2"), NODE_B.vtepMac(), IpPrefix.parse("10.244.2.0/24"));
    private static final String POD_A = "10.244.1.5";
    private static final String POD_B = "10.244.2.5";

    @Test
    void podAddressesOnTwoNodesReachEachOtherThroughVxlanWithTheConfiguredVni() throws Exception {
        try (ScratchNamespace a = ScratchNamespace.create("node-a");
             ScratchNamespace b = ScratchNamespace.create("node-b");
             Fd bFd = b.namespace().openFd()) {
            a.netlink().links().add(VethSpec.of("shunt-u0", "shunt-u1").withPeerNamespace(bFd));
            node(a, "shunt-u0", "198.18.0.1/24", POD_A, NODE_A, PEER_B);
            node(b, "shunt-u1", "198.18.0.2/24", POD_B, NODE_B, PEER_A);
            MacAddress macA = MacAddress.parse(Witness.ip(a.name(), "link", "show", "shunt.vx").get(0).get("address").asText());
            MacAddress macB = MacAddress.parse(Witness.ip(b.name(), "link", "show", "shunt.vx").get(0).get("address").asText());
            assertThat(macA).isEqualTo(NODE_A.vtepMac());
            assertThat(macB).isEqualTo(NODE_B.vtepMac());

            List<byte[]> frames;
            try (UnderlayCapture capture = UnderlayCapture.start(a, "shunt-u0", 3);
                 DatagramChannel receiver = b.namespace().call(() -> bound(POD_B));
                 DatagramChannel sender = a.namespace().call(() -> bound(POD_A))) {
                assertThat(ping(a, POD_A, POD_B)).as("ping " + POD_B + " from " + POD_A + " across the overlay").isTrue();
                InetSocketAddress target = (InetSocketAddress) receiver.getLocalAddress();
                sender.send(ByteBuffer.wrap("shunt-overlay-probe".getBytes(StandardCharsets.US_ASCII)), target);
                assertThat(receive(receiver, 5_000)).isEqualTo("shunt-overlay-probe from /" + POD_A);
                frames = capture.frames(10_000);
                String text = Witness.run(List.of("tcpdump", "-r", capture.file.toString(), "-nn", "-v"));
                assertThat(text.lines().filter(l -> l.contains("VXLAN, flags [I] (0x08), vni " + VNI)).count())
                        .as(text).isEqualTo(3);
            }

            // Echo request, echo reply, the UDP datagram: each one VXLAN frame on the underlay.
            Outer request = Outer.parse(frames.get(0));
            assertThat(request).isEqualTo(new Outer("198.18.0.1", "198.18.0.2", 4789, VNI, macB, macA, POD_A, POD_B, 1));
            Outer reply = Outer.parse(frames.get(1));
            assertThat(reply).isEqualTo(new Outer("198.18.0.2", "198.18.0.1", 4789, VNI, macA, macB, POD_B, POD_A, 1));
            Outer udp = Outer.parse(frames.get(2));
            assertThat(udp).isEqualTo(new Outer("198.18.0.1", "198.18.0.2", 4789, VNI, macB, macA, POD_A, POD_B, 17));

            // The control: without its entries for node B, node A cannot reach it (no flood entry,
            // so the ARP for the VTEP IP goes nowhere).
            new OverlayPeers(a.netlink(), NODE_A).reconcile(List.of());
            assertThat(ping(a, POD_A, POD_B)).as("ping with node B's entries removed").isFalse();
            new OverlayPeers(a.netlink(), NODE_A).reconcile(List.of(PEER_B));
            assertThat(ping(a, POD_A, POD_B)).as("ping with them back").isTrue();
        }
    }

    /** Underlay address, pod address on lo, shunt.vx with the peer's entries, and the route a fast path would stand for. */
    private static void node(ScratchNamespace ns, String underlay, String underlayAddress, String pod, VxlanConfig config,
                             OverlayPeer peer) {
        NetlinkHandle nl = ns.netlink();
        nl.addresses().add(underlay, IpPrefix.parse(underlayAddress));
        nl.links().setUp(underlay);
        nl.links().setUp("lo");
        nl.addresses().add("lo", IpPrefix.parse(pod + "/32"));
        new VxlanDevice(nl, config).ensure();
        new OverlayPeers(nl, config).reconcile(List.of(peer));
        int vx = nl.links().get(config.name()).index();
        nl.routes().add(Route.to(peer.podCidr()).via(peer.vtepIp()).dev(vx).withOnlink());
    }

    private static DatagramChannel bound(String address) throws IOException {
        DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET);
        ch.bind(new InetSocketAddress(IpPrefix.parseAddress(address), 0));
        ch.configureBlocking(false);
        return ch;
    }

    /** The first datagram's text and source address, or "nothing" after {@code millis}. */
    private static String receive(DatagramChannel channel, long millis) throws Exception {
        ByteBuffer buffer = ByteBuffer.allocate(2048);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() - deadline < 0) {
            SocketAddress from = channel.receive(buffer);
            if (from instanceof InetSocketAddress source) {
                buffer.flip();
                return StandardCharsets.US_ASCII.decode(buffer) + " from " + source.getAddress();
            }
            Thread.sleep(10);
        }
        return "nothing";
    }

    private static boolean ping(ScratchNamespace from, String source, String target) {
        List<String> cmd = List.of("ip", "netns", "exec", from.name(), "ping", "-n", "-c1", "-W2", "-I", source, target);
        return Witness.runAllowingFailure(cmd).contains("1 received");
    }

    /** One VXLAN frame as the underlay carries it: outer IPv4/UDP, VXLAN header, inner Ethernet/IPv4. */
    record Outer(String outerSource, String outerDestination, int udpDestinationPort, int vni, MacAddress innerDestinationMac,
                 MacAddress innerSourceMac, String innerSource, String innerDestination, int innerProtocol) {
        static Outer parse(byte[] f) {
            ByteBuffer b = ByteBuffer.wrap(f).order(ByteOrder.BIG_ENDIAN);
            assertThat(b.getShort(12) & 0xffff).as("outer EtherType IPv4").isEqualTo(0x0800);
            int ihl = (b.get(14) & 0x0f) * 4;
            assertThat(b.get(14 + 9)).as("outer protocol UDP").isEqualTo((byte) 17);
            int udp = 14 + ihl;
            int vxlan = udp + 8;
            assertThat(b.get(vxlan) & 0xff).as("VXLAN flags: I (VNI valid)").isEqualTo(0x08);
            int vni = b.getInt(vxlan + 4) >>> 8;
            int inner = vxlan + 8;
            assertThat(b.getShort(inner + 12) & 0xffff).as("inner EtherType IPv4").isEqualTo(0x0800);
            int innerIp = inner + 14;
            return new Outer(ipv4(f, 14 + 12), ipv4(f, 14 + 16), b.getShort(udp + 2) & 0xffff, vni,
                    new MacAddress(java.util.Arrays.copyOfRange(f, inner, inner + 6)),
                    new MacAddress(java.util.Arrays.copyOfRange(f, inner + 6, inner + 12)),
                    ipv4(f, innerIp + 12), ipv4(f, innerIp + 16), f[innerIp + 9] & 0xff);
        }

        private static String ipv4(byte[] f, int at) {
            return (f[at] & 0xff) + "." + (f[at + 1] & 0xff) + "." + (f[at + 2] & 0xff) + "." + (f[at + 3] & 0xff);
        }
    }

    /** {@code tcpdump -i DEV -c N -U -w FILE udp port 4789} inside a namespace. */
    private static final class UnderlayCapture implements AutoCloseable {
        private final Process process;
        private final Path file;
        private final int count;

        private UnderlayCapture(Process process, Path file, int count) {
            this.process = process;
            this.file = file;
            this.count = count;
        }

        static UnderlayCapture start(ScratchNamespace ns, String dev, int count) throws Exception {
            Path file = Files.createTempFile("shunt-overlay-", ".pcap");
            List<String> cmd = List.of("ip", "netns", "exec", ns.name(), "tcpdump", "-i", dev, "-c", Integer.toString(count),
                    "-U", "-n", "-w", file.toString(), "udp", "port", "4789");
            Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            // tcpdump says "listening on DEV" on stderr once its socket is bound.
            CompletableFuture<Boolean> listening = CompletableFuture.supplyAsync(() -> {
                try (BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
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
            boolean started = false;
            try {
                started = listening.get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                started = false;
            } finally {
                if (!started) {
                    p.destroyForcibly();
                    Files.deleteIfExists(file);
                }
            }
            if (!started) {
                throw new AssertionError("tcpdump did not start: " + cmd);
            }
            return new UnderlayCapture(p, file, count);
        }

        /** Waits for tcpdump to write its frames and exit; returns them in capture order. */
        List<byte[]> frames(long millis) throws Exception {
            assertThat(process.waitFor(millis, TimeUnit.MILLISECONDS)).as("tcpdump captured " + count + " frames").isTrue();
            byte[] pcap = Files.readAllBytes(file);
            ByteBuffer buf = ByteBuffer.wrap(pcap).order(ByteOrder.LITTLE_ENDIAN);
            assertThat(buf.getInt(0)).as("pcap magic (microseconds, little-endian)").isEqualTo(0xa1b2c3d4);
            assertThat(buf.getInt(20)).as("link type Ethernet").isEqualTo(1);
            List<byte[]> out = new ArrayList<>();
            int at = 24;
            while (at + 16 <= pcap.length) {
                int captured = buf.getInt(at + 8);
                assertThat(captured).isEqualTo(buf.getInt(at + 12));
                out.add(java.util.Arrays.copyOfRange(pcap, at + 16, at + 16 + captured));
                at += 16 + captured;
            }
            assertThat(out).hasSize(count);
            return out;
        }

        @Override
        public void close() throws IOException {
            if (process.isAlive()) {
                process.destroyForcibly();
            }
            process.getErrorStream().close();
            Files.deleteIfExists(file);
        }
    }
}
