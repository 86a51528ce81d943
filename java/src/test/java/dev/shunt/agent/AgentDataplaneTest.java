package dev.shunt.agent;

import dev.shunt.ipam.Cidr;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import dev.shunt.netns.NetworkNamespace;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** Two pods made by the agent talk to each other through the fast path, and only through it. */
class AgentDataplaneTest {
    @TempDir
    Path dir;

    @Test
    void podsReachTheNodeAndTheOutsideThroughTheHostPortAndTheNodeReachesPods() throws Exception {
        String node = "t-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        AgentConfig config = new AgentConfig(node, Cidr.parse("10.244.5.0/24"), dir.resolve("state"), dir.resolve("s.sock"), 1450);
        try (ScratchNamespace nodeNs = ScratchNamespace.create("node");
             ScratchNamespace outside = ScratchNamespace.create("outside");
             dev.shunt.sys.Fd outsideFd = outside.namespace().openFd()) {
            // The lab underlay: node 198.18.5.1 <-> outside 198.18.5.2. The outside has no route to
            // pods: replies find their way back only because the node masquerades pod egress.
            nodeNs.netlink().links().add(dev.shunt.netlink.VethSpec.of("shunt-up0", "shunt-up1").withPeerNamespace(outsideFd));
            nodeNs.netlink().addresses().add("shunt-up0", dev.shunt.netlink.IpPrefix.parse("198.18.5.1/24"));
            nodeNs.netlink().links().setUp("shunt-up0");
            outside.netlink().addresses().add("shunt-up1", dev.shunt.netlink.IpPrefix.parse("198.18.5.2/24"));
            outside.netlink().links().setUp("shunt-up1");

            Agent agent = nodeNs.namespace().call(() -> Agent.start(config));
            try {
                PodRecord a = agent.addPod("a", Map.of());
                assertThat(Witness.ip(nodeNs.name(), "route", "show").toString())
                        .contains("\"dst\":\"10.244.0.0/16\"", "\"dst\":\"10.96.0.0/12\"", "\"dev\":\"shunt0\"");
                assertThat(ping(a.netns(), "198.18.5.1")).as("pod -> node").contains("2 received");
                assertThat(ping(nodeNs.name(), a.ip())).as("node -> pod").contains("2 received");
                assertThat(ping(a.netns(), "198.18.5.2")).as("pod -> outside, routed and masqueraded by the node").contains("2 received");
                String nft = Witness.run(List.of("ip", "netns", "exec", nodeNs.name(), "nft", "-j", "list", "table", "ip", "shunt"));
                assertThat(nft).contains("\"masquerade\"", "pod-egress", "10.244.0.0");
                assertThat(agent.counters().pipelineDrops(dev.shunt.datapath.PipelineDrop.NO_PORT)).isZero();
            } finally {
                for (String pod : agent.pods().keySet()) {
                    agent.deletePod(pod);
                }
                agent.close();
            }
            // A graceful stop removes the node-level plumbing it made.
            assertThat(nodeNs.netlink().links().find("shunt0")).isEmpty();
            assertThat(Witness.ip(nodeNs.name(), "route", "show").toString()).doesNotContain("10.244.0.0/16");
            assertThat(Witness.run(List.of("ip", "netns", "exec", nodeNs.name(), "nft", "-j", "list", "tables"))).doesNotContain("shunt");
        }
    }

    static boolean countersSettle(Agent agent) throws InterruptedException {
        long deadline = System.nanoTime() + 3_000_000_000L;
        while (System.nanoTime() < deadline) {
            var c = agent.counters();
            if (c.received() == c.forwarded() + c.answered() + c.dropped()) {
                return true;
            }
            Thread.sleep(10);
        }
        return false;
    }

    static String ping(String ns, String ip) {
        return Witness.runAllowingFailure(List.of("ip", "netns", "exec", ns, "ping", "-c", "2", "-i", "0.2", "-W", "2", ip));
    }

    @Test
    void podsPingAndTalkTcpThroughTheFastPath() throws Exception {
        String node = "t-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        AgentConfig config = new AgentConfig(node, Cidr.parse("10.244.6.0/24"), dir.resolve("state"), dir.resolve("s.sock"), 1450);
        try (ScratchNamespace nodeNs = ScratchNamespace.create("node")) {
            assertThat(nodeNs.namespace().getSysctl("net.ipv4.ip_forward")).isEqualTo("0");
            Agent agent = nodeNs.namespace().call(() -> Agent.start(config));
            try {
                PodRecord a = agent.addPod("a", Map.of());
                PodRecord b = agent.addPod("b", Map.of());
                // The node end of each veth carries Shunt's tc drop: the kernel never routes pod traffic.
                assertThat(Witness.tc(nodeNs.name(), "filter", "show", "dev", a.hostVeth(), "ingress").toString()).contains("shunt_tc_drop");

                String ping = Witness.runAllowingFailure(List.of("ip", "netns", "exec", a.netns(), "ping", "-c", "3", "-i", "0.2", "-W", "2", b.ip()));
                assertThat(ping).as("ping through the fast path; its counters: %s", Stats.of(agent.counters())).contains("3 received");
                long forwardedAfterPing = agent.counters().forwarded();
                assertThat(forwardedAfterPing).isGreaterThanOrEqualTo(6);
                assertThat(agent.counters().answered()).as("proxy ARP for the gateway").isGreaterThanOrEqualTo(2);

                NetworkNamespace nsB = NetworkNamespace.named(b.netns());
                try (ServerSocketChannel server = nsB.call(() -> ServerSocketChannel.open().bind(new InetSocketAddress(b.ip(), 7000)));
                     SocketChannel client = NetworkNamespace.named(a.netns()).call(() -> {
                         SocketChannel c = SocketChannel.open();
                         c.socket().connect(new InetSocketAddress(b.ip(), 7000), 3000);
                         return c;
                     });
                     SocketChannel accepted = server.accept()) {
                    byte[] payload = new byte[200_000];
                    ThreadLocalRandom.current().nextBytes(payload);
                    Thread writer = Thread.ofPlatform().start(() -> {
                        try {
                            ByteBuffer out = ByteBuffer.wrap(payload);
                            while (out.hasRemaining()) {
                                client.write(out);
                            }
                        } catch (Exception e) {
                            throw new RuntimeException(e);
                        }
                    });
                    accepted.socket().setSoTimeout(5000);
                    ByteBuffer in = ByteBuffer.allocate(payload.length);
                    long deadline = System.nanoTime() + 10_000_000_000L;
                    while (in.hasRemaining() && System.nanoTime() < deadline) {
                        if (accepted.read(in) < 0) {
                            break;
                        }
                    }
                    writer.join(5000);
                    assertThat(in.array()).isEqualTo(payload);
                    assertThat(accepted.getRemoteAddress().toString()).contains(a.ip());
                    accepted.write(ByteBuffer.wrap("bye".getBytes(StandardCharsets.US_ASCII)));
                    ByteBuffer reply = ByteBuffer.allocate(3);
                    while (reply.hasRemaining()) {
                        client.read(reply);
                    }
                    assertThat(new String(reply.array(), StandardCharsets.US_ASCII)).isEqualTo("bye");
                }
                // With the pods' TSO on (--offloads on), 200 KB cross as a few dozen GSO frames, not ~140 segments.
                assertThat(agent.counters().forwarded()).isGreaterThan(forwardedAfterPing + 10);
                // The poll thread counts a frame as received before its outcome: read when nothing is in flight.
                assertThat(countersSettle(agent)).as("received == forwarded + answered + dropped").isTrue();
                StringWriter stats = new StringWriter();
                assertThat(dev.shunt.cli.Main.run(new String[] {"stats", "--json", "--socket", config.socket().toString()},
                        new PrintWriter(stats, true), new PrintWriter(new StringWriter(), true))).isZero();
                assertThat(new com.fasterxml.jackson.databind.ObjectMapper().readTree(stats.toString()).get("forwarded").asLong())
                        .isGreaterThan(forwardedAfterPing + 10);

                // Off the fast path, the pods cannot reach each other: the kernel does not route for them.
                agent.deletePod("b");
                String lost = Witness.runAllowingFailure(List.of("ip", "netns", "exec", a.netns(), "ping", "-c", "1", "-W", "1", b.ip()));
                assertThat(lost).contains("0 received");
            } finally {
                for (String pod : agent.pods().keySet()) {
                    agent.deletePod(pod);
                }
                agent.close();
            }
        }
    }
}
