package dev.shunt.agent;

import dev.shunt.ipam.Cidr;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import dev.shunt.overlay.OverlayPeer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two agents on two node namespaces joined by an underlay veth (198.18.0.1 and .2): each creates
 * shunt.vx, learns the other as a peer, and pods reach pods on the other node through both fast
 * paths and the kernel's VXLAN encapsulation: ping and TCP both ways, witnessed by the sockets
 * and by tcpdump on the underlay (UDP 4789, VNI 1). Removing the peer removes its FDB entry and
 * route: the ping then fails.
 */
class AgentOverlayTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void podsOnTwoNodesReachEachOtherOverTheOverlay() throws Exception {
        String suffix = Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        try (ScratchNamespace n1 = ScratchNamespace.create("ov1"); ScratchNamespace n2 = ScratchNamespace.create("ov2")) {
            String veth = "shunt-u" + suffix;
            underlay(n1, n2, veth);
            Agent a1 = start(n1, "ov1-" + suffix, "10.244.1.0/24", "198.18.0.1", "a");
            Agent a2 = null;
            try {
                a2 = start(n2, "ov2-" + suffix, "10.244.2.0/24", "198.18.0.2", "b");
                for (Agent a : List.of(a1, a2)) {
                    dev.shunt.cli.CliTest.Result r = apply(a, nodeManifest(a1) + "---\n" + nodeManifest(a2));
                    assertThat(r.exit()).as(r.err()).isZero();
                }
                assertThat(a1.peers()).extracting(OverlayPeer::nodeName).containsExactly(a2.overlaySelf().nodeName());
                assertThat(Witness.bridge(n1.name(), "fdb", "show", "dev", "shunt.vx").toString())
                        .contains(a2.overlaySelf().vtepMac().toString()).contains("198.18.0.2");
                assertThat(Witness.ip(n1.name(), "-d", "link", "show", "dev", "shunt.vx").get(0).path("mtu").asInt())
                        .as("underlay 1500 - 50").isEqualTo(1450);
                dev.shunt.cli.CliTest.Result status = dev.shunt.cli.CliTest.shunt("status", "--socket", a1.socket().toString());
                assertThat(status.exit()).as(status.err()).isZero();
                assertThat(status.out()).contains("overlay   shunt.vx on 198.18.0.1, VNI 1, UDP 4789, MTU 1450")
                        .containsPattern("peer +" + a2.overlaySelf().nodeName() + " +198.18.0.2 +pods 10.244.2.0/24");

                PodRecord pa = a1.addPod("pa", Map.of());
                PodRecord pb = a2.addPod("pb", Map.of());
                CompletableFuture<String> capture = CompletableFuture.supplyAsync(() -> Witness.runAllowingFailure(List.of(
                        "ip", "netns", "exec", n2.name(), "timeout", "10", "tcpdump", "-l", "-n", "-c", "2", "-i", veth + "b",
                        "udp", "port", "4789")));
                Thread.sleep(800); // tcpdump's socket must be open before the first packet
                assertThat(ping(pa, pb.ip())).as("ping %s -> %s", pa.ip(), pb.ip()).contains("1 received");
                assertThat(ping(pb, pa.ip())).as("ping %s -> %s", pb.ip(), pa.ip()).contains("1 received");
                assertThat(capture.get(15, TimeUnit.SECONDS)).as("encapsulated on the underlay")
                        .contains("198.18.0.1.", "198.18.0.2.4789", "VXLAN", "vni 1", pa.ip() + " > " + pb.ip());

                assertThat(tcpRoundTrip(pa, pb, 7070)).isEqualTo("hello from " + pa.ip());
                assertThat(tcpRoundTrip(pb, pa, 7071)).isEqualTo("hello from " + pb.ip());
                // Offloads on (the default): 20 MB each way across the overlay in GSO frames, hashed at
                // both ends; the kernels behind the VXLAN devices count no checksum errors.
                AgentOffloadTest.transfer(pa, pb, pb.ip(), 8080, 11);
                AgentOffloadTest.transfer(pb, pa, pa.ip(), 8080, 12);
                for (PodRecord receiver : List.of(pa, pb)) {
                    assertThat(AgentOffloadTest.nstat(receiver.netns())).as("checksum errors in %s", receiver.name())
                            .containsEntry("TcpInCsumErrors", 0L);
                }

                Path gone = Files.createTempFile("shunt-node", ".yaml");
                try {
                    Files.writeString(gone, nodeManifest(a2));
                    dev.shunt.cli.CliTest.Result del = dev.shunt.cli.CliTest.shunt("delete", "-f", gone.toString(), "--socket",
                            a1.socket().toString());
                    assertThat(del.exit()).as(del.err()).isZero();
                } finally {
                    Files.deleteIfExists(gone);
                }
                assertThat(a1.peers()).isEmpty();
                assertThat(Witness.bridge(n1.name(), "fdb", "show", "dev", "shunt.vx").toString())
                        .doesNotContain(a2.overlaySelf().vtepMac().toString());
                assertThat(ping(pa, pb.ip())).as("no route to a node that left").contains("0 received");

                dev.shunt.cli.CliTest.Result clash = apply(a1, "apiVersion: shunt.dev/v1\nkind: Node\nmetadata: {name: clash}\n"
                        + "spec: {podCIDR: 10.244.1.0/25, underlayIP: 198.18.0.9}\n");
                assertThat(clash.exit()).isNotZero();
                assertThat(clash.err()).contains("10.244.1.0/25");
                assertThat(a1.peers()).isEmpty();
            } finally {
                stopAll(a1, a2);
            }
            assertThat(Witness.ip(n1.name(), "link", "show").toString()).as("shunt.vx removed with the agent")
                    .doesNotContain("shunt.vx");
        }
    }

    /**
     * The same Node manifest applied on both nodes programs the overlay without any other call; a
     * pod of node 2 that node 1 learns of (node 2's `shunt get pods -o yaml` applied on node 1)
     * becomes an endpoint of a ClusterIP on node 1: a client there reaches it through the VIP,
     * DNATed on node 1, and the server sees the client's own address.
     */
    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void nodesAndRemotePodsFromManifestsMakeAClusterIpSpanNodes() throws Exception {
        String suffix = Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        try (ScratchNamespace n1 = ScratchNamespace.create("ov1"); ScratchNamespace n2 = ScratchNamespace.create("ov2")) {
            underlay(n1, n2, "shunt-u" + suffix);
            String name1 = "ma-" + suffix, name2 = "mb-" + suffix;
            Agent a1 = start(n1, name1, "10.244.1.0/24", "198.18.0.1", "a");
            Agent a2 = null;
            try {
                a2 = start(n2, name2, "10.244.2.0/24", "198.18.0.2", "b");
                String nodes = nodeManifest(a1) + "---\n" + nodeManifest(a2);
                for (Agent a : List.of(a1, a2)) {
                    dev.shunt.cli.CliTest.Result r = apply(a, nodes);
                    assertThat(r.exit()).as(r.err()).isZero();
                }
                assertThat(a1.peers()).extracting(OverlayPeer::nodeName).containsExactly(name2);
                assertThat(a2.peers()).extracting(OverlayPeer::nodeName).containsExactly(name1);

                PodRecord client = a1.addPod("client", Map.of());
                PodRecord server = a2.addPod("server", Map.of("app", "web"));
                dev.shunt.cli.CliTest.Result pods = dev.shunt.cli.CliTest.shunt("get", "pods", "-o", "yaml", "--socket",
                        a2.socket().toString());
                assertThat(pods.exit()).as(pods.err()).isZero();
                dev.shunt.cli.CliTest.Result learnt = apply(a1, pods.out());
                assertThat(learnt.exit()).as(learnt.err()).isZero();
                dev.shunt.cli.CliTest.Result add = dev.shunt.cli.CliTest.shunt("service", "add", "web", "--port", "80/tcp:7072",
                        "--selector", "app=web", "--socket", a1.socket().toString());
                assertThat(add.exit()).as(add.err()).isZero();
                String vip = add.out().trim();
                assertThat(tcpRoundTrip(client, server, vip, 80, 7072)).as("through the VIP to node 2, the client's address kept")
                        .isEqualTo("hello from " + client.ip());
                // Bulk through the VIP: DNAT on node 1 on GSO frames, then the overlay to node 2.
                dev.shunt.cli.CliTest.Result bulk = dev.shunt.cli.CliTest.shunt("service", "add", "bulk", "--port", "81/tcp:8080",
                        "--selector", "app=web", "--socket", a1.socket().toString());
                assertThat(bulk.exit()).as(bulk.err()).isZero();
                AgentOffloadTest.transfer(client, server, bulk.out().trim(), 81, 13);
                for (PodRecord receiver : List.of(client, server)) {
                    assertThat(AgentOffloadTest.nstat(receiver.netns())).as("checksum errors in %s", receiver.name())
                            .containsEntry("TcpInCsumErrors", 0L);
                }
            } finally {
                stopAll(a1, a2);
            }
        }
    }

    /** The Node manifest of {@code a}'s node, as an operator writes it (the VTEP MAC left to the agent). */
    private static String nodeManifest(Agent a) {
        OverlayPeer self = a.overlaySelf();
        return "apiVersion: shunt.dev/v1\nkind: Node\nmetadata: {name: " + self.nodeName() + "}\n"
                + "spec: {podCIDR: " + self.podCidr() + ", underlayIP: " + self.underlayIp().getHostAddress() + "}\n";
    }

    private static dev.shunt.cli.CliTest.Result apply(Agent a, String manifest) throws Exception {
        Path file = Files.createTempFile("shunt-manifest", ".yaml");
        try {
            Files.writeString(file, manifest);
            return dev.shunt.cli.CliTest.shunt("apply", "-f", file.toString(), "--socket", a.socket().toString());
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private static void underlay(ScratchNamespace n1, ScratchNamespace n2, String veth) {
        Witness.run(List.of("ip", "-n", n1.name(), "link", "add", veth + "a", "type", "veth", "peer", "name", veth + "b",
                "netns", n2.name()));
        Witness.run(List.of("ip", "-n", n1.name(), "addr", "add", "198.18.0.1/24", "dev", veth + "a"));
        Witness.run(List.of("ip", "-n", n2.name(), "addr", "add", "198.18.0.2/24", "dev", veth + "b"));
        Witness.run(List.of("ip", "-n", n1.name(), "link", "set", veth + "a", "up"));
        Witness.run(List.of("ip", "-n", n2.name(), "link", "set", veth + "b", "up"));
    }

    private static void stopAll(Agent... agents) {
        AgentTeardown.stop(List.of(), agents);
    }

    private Agent start(ScratchNamespace ns, String node, String podCidr, String underlay, String tag) {
        AgentConfig config = new AgentConfig(node, Cidr.parse(podCidr), dir.resolve("state-" + tag), dir.resolve(tag + ".sock"),
                1450, true).withOverlay(new AgentConfig.Overlay((Inet4Address) InetAddress.ofLiteral(underlay), 1, 4789));
        return ns.namespace().call(() -> Agent.start(config));
    }

    private static String ping(PodRecord from, String to) {
        return Witness.runAllowingFailure(List.of("ip", "netns", "exec", from.netns(), "ping", "-n", "-c", "1", "-W", "2", to));
    }

    private static String tcpRoundTrip(PodRecord client, PodRecord server, int port) throws Exception {
        return tcpRoundTrip(client, server, server.ip(), port, port);
    }

    private static String tcpRoundTrip(PodRecord client, PodRecord server, String host, int port, int serverPort) throws Exception {
        return PodTcp.roundTrip(client.netns(), server.netns(), server.ip(), serverPort, host, port);
    }
}
