package dev.shunt.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.cli.CliTest;
import dev.shunt.ipam.Cidr;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import dev.shunt.netns.NetworkNamespace;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Offloads on, real kernels at both ends: pods keep TX checksum, TSO and GSO, the ports carry
 * virtio-net headers, and 20 MB of seeded random bytes cross pod→pod and pod→ClusterIP→backend in
 * both directions with equal SHA-256 at both ends, while the receivers' kernels count no checksum
 * errors (nstat TcpInCsumErrors / UdpInCsumErrors, read inside each pod). The port counters show
 * frames far above the MTU (GSO frames crossed whole). UDP datagrams sent with a partial checksum
 * (the pod's TX checksum offload) go through DNAT and back intact.
 */
class AgentOffloadTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int BULK = 20 << 20;

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void bulkTcpAndPartialChecksumUdpCrossTheFastPathWithOffloadsOn() throws Exception {
        String node = "t-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        AgentConfig config = new AgentConfig(node, Cidr.parse("10.244.9.0/24"), dir.resolve("state"), dir.resolve("s.sock"),
                1450, true);
        String sock = config.socket().toString();
        try (ScratchNamespace nodeNs = ScratchNamespace.create("node")) {
            Agent agent = nodeNs.namespace().call(() -> Agent.start(config));
            try {
                PodRecord client = agent.addPod("client", Map.of());
                PodRecord server = agent.addPod("server", Map.of("app", "bulk"));
                JsonNode stats = stats(sock);
                assertThat(stats.path("offloads").path("state").asText()).isEqualTo("on");
                assertThat(CliTest.shunt("stats", "--socket", sock).out()).contains("offloads         on");
                JsonNode features = Witness.ethtool(client.netns(), "-k", "eth0");
                assertThat(features.toString()).as("pod offloads on").containsPattern(
                        "\"tcp-segmentation-offload\":\\{\"active\":true");
                CliTest.Result add = CliTest.shunt("service", "add", "bulk", "--port", "80/tcp:8080", "--port", "53/udp:5353",
                        "--selector", "app=bulk", "--socket", sock);
                assertThat(add.exit()).as(add.err()).isZero();
                String vip = add.out().trim();

                long clientRxBefore = portRx(sock, "client", "rxPackets");
                transfer(client, server, server.ip(), 8080, 1);
                transfer(client, server, vip, 80, 2);
                long frames = portRx(sock, "client", "rxPackets") - clientRxBefore;
                long bytes = portRx(sock, "client", "rxBytes");
                assertThat(bytes / Math.max(1, frames)).as("average frame from the client pod: GSO frames crossed whole")
                        .isGreaterThan(3000);

                udpThroughNat(client, server, vip);

                for (PodRecord receiver : List.of(client, server)) {
                    assertThat(nstat(receiver.netns())).as("checksum errors in %s", receiver.name())
                            .containsEntry("TcpInCsumErrors", 0L).containsEntry("UdpInCsumErrors", 0L);
                }

                // A receiver on a veth trusts a CHECKSUM_PARTIAL frame without looking at its
                // checksum, so the runs above do not witness the NAT's arithmetic on the partial
                // sum. With TX checksumming off on the node ends the kernel finishes every checksum
                // from the pseudo-header sum the fast path left (a wrong one shows in nstat) and,
                // without TSO there, segments the GSO frames in software: the port must hand them
                // to dev_queue_xmit, since the qdisc-bypass path drops every frame it would have to
                // segment (the node end's TX dropped counter; bulk TCP stalled that way).
                for (PodRecord pod : List.of(client, server)) {
                    Witness.run(List.of("ip", "netns", "exec", nodeNs.name(), "ethtool", "-K", pod.hostVeth(), "tx", "off"));
                    assertThat(Witness.ethtool(nodeNs.name(), "-k", pod.hostVeth()).toString())
                            .containsPattern("\"tx-tcp-segmentation\":\\{\"active\":false");
                }
                transfer(client, server, vip, 80, 4);
                udpThroughNat(client, server, vip);
                for (PodRecord pod : List.of(client, server)) {
                    JsonNode link = Witness.ip(nodeNs.name(), "-s", "link", "show", "dev", pod.hostVeth()).get(0);
                    long segments = link.path("stats64").path("tx").path("packets").asLong();
                    assertThat(segments).as("segments sent by %s", pod.hostVeth()).isGreaterThan(BULK / 1500);
                    // The qdisc-bypass bug dropped every GSO frame here, one per ~40 segments, and the
                    // transfer stalled (docs/kernel-notes.md). A veth also counts in TX dropped a frame
                    // its peer could not take (a full receive queue in a burst, most likely; not
                    // confirmed), which TCP sends again: one CI run after the established path made the
                    // fast path faster saw 1 in ~14,000. So: not one per GSO frame, at most a few.
                    assertThat(link.path("stats64").path("tx").path("dropped").asLong()).as("TX dropped on %s", pod.hostVeth())
                            .isLessThan(segments / 1000);
                }
                for (PodRecord receiver : List.of(client, server)) {
                    assertThat(nstat(receiver.netns())).as("checksum errors in %s after the kernel finished them", receiver.name())
                            .containsEntry("TcpInCsumErrors", 0L).containsEntry("UdpInCsumErrors", 0L);
                }
                JsonNode after = stats(sock);
                assertThat(after.path("ports").toString()).doesNotContain("txOffloadRefused", "rxTruncated");
            } finally {
                for (String pod : agent.pods().keySet()) {
                    agent.deletePod(pod);
                }
                agent.close();
            }
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void offloadsOffKeepsPodOffloadsOffAndSaysSo() throws Exception {
        String node = "t-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        AgentConfig config = new AgentConfig(node, Cidr.parse("10.244.10.0/24"), dir.resolve("state"), dir.resolve("s.sock"),
                1450, false);
        try (ScratchNamespace nodeNs = ScratchNamespace.create("node")) {
            Agent agent = nodeNs.namespace().call(() -> Agent.start(config));
            try {
                PodRecord a = agent.addPod("a", Map.of());
                PodRecord b = agent.addPod("b", Map.of());
                assertThat(stats(config.socket().toString()).path("offloads").path("state").asText()).isEqualTo("off (--offloads off)");
                assertThat(Witness.ethtool(a.netns(), "-k", "eth0").toString())
                        .containsPattern("\"tcp-segmentation-offload\":\\{\"active\":false");
                assertThat(Witness.ethtool(nodeNs.name(), "-k", "shunt0").toString())
                        .containsPattern("\"tx-checksumming\":\\{\"active\":false");
                transfer(a, b, b.ip(), 8080, 3);
            } finally {
                for (String pod : agent.pods().keySet()) {
                    agent.deletePod(pod);
                }
                agent.close();
            }
        }
    }

    /**
     * One connection from {@code from} to {@code host:port} (the server pod listens on 8080): the
     * client writes {@link #BULK} seeded bytes and shuts its output, the server hashes what it read
     * and answers with {@link #BULK} bytes of another seed, which the client hashes.
     */
    static void transfer(PodRecord from, PodRecord to, String host, int port, long seed) throws Exception {
        byte[] up = random(seed);
        byte[] down = random(seed + 100);
        try (ServerSocketChannel listener = NetworkNamespace.named(to.netns())
                .call(() -> ServerSocketChannel.open().bind(new InetSocketAddress(8080)))) {
            CompletableFuture<String> serverSide = new CompletableFuture<>();
            Thread serverThread = Thread.ofPlatform().start(() -> {
                try (SocketChannel c = listener.accept()) {
                    String got = readAll(c);
                    write(c, down);
                    c.shutdownOutput();
                    serverSide.complete(got);
                } catch (Throwable e) {
                    serverSide.completeExceptionally(e);
                }
            });
            try (SocketChannel c = NetworkNamespace.named(from.netns()).call(() -> {
                SocketChannel s = SocketChannel.open();
                s.socket().connect(new InetSocketAddress(host, port), 3000);
                return s;
            })) {
                c.setOption(StandardSocketOptions.SO_RCVBUF, 1 << 20);
                write(c, up);
                c.shutdownOutput();
                String clientGot = readAll(c);
                assertThat(serverSide.get(60, TimeUnit.SECONDS)).as("%s -> %s:%d, upload hash", from.name(), host, port)
                        .isEqualTo(sha256(up));
                assertThat(clientGot).as("%s:%d -> %s, download hash", host, port, from.name()).isEqualTo(sha256(down));
            } finally {
                serverThread.join(10_000);
            }
        }
    }

    private static void udpThroughNat(PodRecord client, PodRecord server, String vip) throws Exception {
        Random random = new Random(77);
        try (DatagramChannel backend = NetworkNamespace.named(server.netns())
                     .call(() -> DatagramChannel.open().bind(new InetSocketAddress(5353)));
             DatagramChannel sender = NetworkNamespace.named(client.netns())
                     .call(() -> DatagramChannel.open().bind(new InetSocketAddress(0)))) {
            backend.socket().setSoTimeout(3000);
            sender.socket().setSoTimeout(3000);
            for (int i = 0; i < 100; i++) {
                byte[] data = new byte[1 + random.nextInt(1400)];
                random.nextBytes(data);
                sender.send(ByteBuffer.wrap(data), new InetSocketAddress(vip, 53));
                ByteBuffer in = ByteBuffer.allocate(2048);
                var from = receive(backend, in);
                assertThat(java.util.Arrays.copyOf(in.array(), in.position())).as("datagram %d at the backend", i).isEqualTo(data);
                backend.send(ByteBuffer.wrap(data), from);
                ByteBuffer back = ByteBuffer.allocate(2048);
                var replyFrom = receive(sender, back);
                assertThat(replyFrom.toString()).contains(vip + ":53");
                assertThat(java.util.Arrays.copyOf(back.array(), back.position())).as("reply %d", i).isEqualTo(data);
            }
        }
    }

    private static java.net.SocketAddress receive(DatagramChannel channel, ByteBuffer into) throws Exception {
        java.net.DatagramPacket p = new java.net.DatagramPacket(into.array(), into.capacity());
        channel.socket().receive(p);
        into.position(p.getLength());
        return p.getSocketAddress();
    }

    private static byte[] random(long seed) {
        byte[] b = new byte[BULK];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static void write(SocketChannel c, byte[] data) throws Exception {
        ByteBuffer out = ByteBuffer.wrap(data);
        while (out.hasRemaining()) {
            c.write(out);
        }
    }

    private static String readAll(SocketChannel c) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        ByteBuffer in = ByteBuffer.allocate(1 << 16);
        c.socket().setSoTimeout(30_000);
        java.io.InputStream stream = c.socket().getInputStream();
        int n;
        while ((n = stream.read(in.array())) >= 0) {
            sha.update(in.array(), 0, n);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    private static JsonNode stats(String sock) throws Exception {
        CliTest.Result r = CliTest.shunt("stats", "--json", "--socket", sock);
        assertThat(r.exit()).as(r.err()).isZero();
        return JSON.readTree(r.out());
    }

    private static long portRx(String sock, String pod, String field) throws Exception {
        for (var e : stats(sock).path("ports").properties()) {
            if (e.getKey().startsWith(pod + " (")) {
                return e.getValue().path(field).asLong();
            }
        }
        throw new AssertionError("no port for pod " + pod);
    }

    /** nstat inside the namespace: absolute values (-a), zeros too (-z), history untouched (-s). */
    static Map<String, Long> nstat(String ns) {
        String out = Witness.run(List.of("ip", "netns", "exec", ns, "nstat", "-asz", "TcpInCsumErrors", "UdpInCsumErrors"));
        Map<String, Long> values = new java.util.HashMap<>();
        for (String line : out.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 2 && f[0].endsWith("CsumErrors")) {
                values.put(f[0], Long.parseLong(f[1]));
            }
        }
        return values;
    }
}
