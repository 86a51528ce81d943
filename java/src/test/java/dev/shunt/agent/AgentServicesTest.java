package dev.shunt.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.cli.CliTest.Result;
import dev.shunt.cli.Main;
import dev.shunt.ipam.Cidr;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import dev.shunt.netns.NetworkNamespace;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

import static dev.shunt.cli.CliTest.shunt;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Services through a real agent in a throwaway node namespace: real pods, real sockets. Each backend
 * answers a new connection with its own name, then echoes, so the test sees where the fast path
 * sent every connection.
 */
class AgentServicesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private final List<AutoCloseable> closeables = new ArrayList<>();

    @Test
    void serviceSpreadsConnectionsFollowsPodsDrainsTerminatingPodsAndSurvivesARestart() throws Exception {
        String node = "t-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        AgentConfig config = new AgentConfig(node, Cidr.parse("10.244.7.0/24"), dir.resolve("state"), dir.resolve("s.sock"), 1450);
        String sock = config.socket().toString();
        try (ScratchNamespace nodeNs = ScratchNamespace.create("node")) {
            Agent agent = nodeNs.namespace().call(() -> Agent.start(config));
            try {
                for (String name : List.of("web-1", "web-2", "web-3")) {
                    serve(agent.addPod(name, Map.of("app", "web", "tier", "front")));
                }
                PodRecord client = agent.addPod("client", Map.of("role", "client"));

                Result add = shunt("service", "add", "web", "--port", "80/tcp:8080", "--selector", "app=web", "--socket", sock);
                assertThat(add.exit()).as(add.err()).isZero();
                assertThat(add.out()).as("the lowest free ClusterIP; 10.96.0.1 is kept for 'kubernetes'").isEqualTo("10.96.0.2\n");
                JsonNode web = service(sock, "web");
                assertThat(web.get("clusterIp").asText()).isEqualTo("10.96.0.2");
                assertThat(endpoints(web)).containsExactly("web-1 ready,serving", "web-2 ready,serving", "web-3 ready,serving");
                assertThat(shunt("service", "list", "--socket", sock).out())
                        .containsPattern("web +ClusterIP +10\\.96\\.0\\.2 +80/tcp:8080 +- +None +app=web +3 ready")
                        .contains("  endpoint web-1");

                Set<String> seen = new HashSet<>();
                for (int i = 0; i < 30; i++) {
                    try (Connection c = connect(client, "10.96.0.2", 80)) {
                        seen.add(c.backend());
                    }
                }
                assertThat(seen).as("30 connections over 3 backends").containsExactlyInAnyOrder("web-1", "web-2", "web-3");

                // An established connection shows in the flow table with its NAT and backend.
                Connection kept = connect(client, "10.96.0.2", 80);
                JsonNode flows = JSON.readTree(shunt("flows", "--json", "--service", "web", "--socket", sock).out()).get("flows");
                JsonNode flow = null;
                for (JsonNode f : flows) {
                    if (f.get("original").get("srcPort").asInt() == kept.localPort()) {
                        flow = f;
                    }
                }
                assertThat(flow).as("the kept connection in %s", flows).isNotNull();
                assertThat(flow.get("protocol").asText()).isEqualTo("tcp");
                assertThat(flow.get("state").asText()).isEqualTo("ESTABLISHED");
                assertThat(flow.get("original").get("dst").asText()).isEqualTo("10.96.0.2");
                assertThat(flow.get("original").get("dstPort").asInt()).isEqualTo(80);
                assertThat(flow.get("reply").get("src").asText()).isEqualTo(agent.pods().get(kept.backend()).ip());
                assertThat(flow.get("reply").get("srcPort").asInt()).isEqualTo(8080);
                assertThat(flow.get("nat").asText()).isEqualTo("DNAT");
                assertThat(flow.get("service").asText()).isEqualTo("web");
                assertThat(flow.get("backendPod").asText()).isEqualTo(kept.backend());
                assertThat(shunt("flows", "--socket", sock).out()).contains("ESTABLISHED", "-> 10.96.0.2:80", "web");
                assertThat(shunt("flows", "--service", "nope", "--socket", sock).err()).isEqualTo("shunt: error: no Service 'nope'\n");

                // Endpoints follow pods.
                serve(agent.addPod("web-4", Map.of("app", "web")));
                assertThat(endpoints(service(sock, "web"))).hasSize(4).contains("web-4 ready,serving");
                assertThat(shunt("pod", "del", "web-4", "--socket", sock).exit()).isZero();
                assertThat(endpoints(service(sock, "web"))).hasSize(3).noneMatch(e -> e.startsWith("web-4"));

                // A terminating pod keeps its established connection; new ones avoid it.
                String leaving = kept.backend();
                Result del = shunt("pod", "del", leaving, "--grace", "60", "--socket", sock);
                assertThat(del.exit()).as(del.err()).isZero();
                assertThat(del.out()).isEqualTo("pod " + leaving + " terminating, deleted in 60 s\n");
                assertThat(endpoints(service(sock, "web"))).contains(leaving + " serving,terminating");
                assertThat(shunt("pod", "list", "--socket", sock).out()).containsPattern(leaving + " .* Terminating\\(\\d+s\\)");
                for (int i = 0; i < 20; i++) {
                    try (Connection c = connect(client, "10.96.0.2", 80)) {
                        assertThat(c.backend()).as("new connection %d", i).isNotEqualTo(leaving);
                    }
                }
                assertThat(kept.echo("still there")).isEqualTo("still there");
                flows = JSON.readTree(shunt("flows", "--json", "--socket", sock).out()).get("flows");
                assertThat(flows.toString()).contains("DRAINING");
                // A shorter grace brings the end forward: the timer deletes the pod for real.
                assertThat(shunt("pod", "del", leaving, "--grace", "1", "--socket", sock).exit()).isZero();
                long deadline = System.nanoTime() + 5_000_000_000L;
                while (agent.pods().containsKey(leaving) && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertThat(agent.pods()).doesNotContainKey(leaving);
                assertThat(NetworkNamespace.exists("shunt-" + node + "-" + leaving)).isFalse();
                assertThat(endpoints(service(sock, "web"))).hasSize(2).noneMatch(e -> e.startsWith(leaving));
                kept.close();

                // NodePort: allocated from 30000; conflicts are the agent's errors (exit 1).
                Result np = shunt("service", "add", "np", "--type", "NodePort", "--port", "81/tcp:8080", "--port", "53/udp",
                        "--selector", "tier=front", "--affinity", "client-ip:60", "--external-traffic-policy", "Local",
                        "--socket", sock);
                assertThat(np.exit()).as(np.err()).isZero();
                assertThat(np.out()).isEqualTo("10.96.0.3 30000 30001\n");
                Result taken = shunt("service", "add", "other", "--type", "NodePort", "--node-port", "30001", "--port", "82",
                        "--selector", "app=web", "--socket", sock);
                assertThat(taken.exit()).isEqualTo(Main.EXIT_FAILURE);
                assertThat(taken.err()).isEqualTo("shunt: error: node port 30001 is taken by Service 'np'\n");
                Result ipTaken = shunt("service", "add", "other", "--cluster-ip", "10.96.0.3", "--port", "82",
                        "--selector", "app=web", "--socket", sock);
                assertThat(ipTaken.err()).isEqualTo("shunt: error: ClusterIP 10.96.0.3 is taken by Service 'np'\n");
                Result outside = shunt("service", "add", "other", "--cluster-ip", "10.95.0.3", "--port", "82",
                        "--selector", "app=web", "--socket", sock);
                assertThat(outside.exit()).isEqualTo(Main.EXIT_FAILURE);
                assertThat(outside.err()).isEqualTo("shunt: error: ClusterIP 10.95.0.3 is outside the Service CIDR 10.96.0.0/12\n");
                Result dup = shunt("service", "add", "web", "--port", "82", "--selector", "app=web", "--socket", sock);
                assertThat(dup.err()).isEqualTo("shunt: error: Service 'web' exists already\n");
                Result range = shunt("service", "add", "other", "--type", "NodePort", "--node-port", "29999", "--port", "82",
                        "--selector", "app=web", "--socket", sock);
                assertThat(range.exit()).isEqualTo(Main.EXIT_FAILURE);
                assertThat(range.err()).isEqualTo("shunt: error: node port 29999 is outside 30000-32767\n");

                // A restart re-publishes the same Services from the state directory.
                String before = JSON.readTree(shunt("service", "list", "--json", "--socket", sock).out()).toString();
                agent.close();
                agent = nodeNs.namespace().call(() -> Agent.start(config));
                assertThat(JSON.readTree(shunt("service", "list", "--json", "--socket", sock).out()).toString()).isEqualTo(before);
                Set<String> after = new HashSet<>();
                for (int i = 0; i < 10; i++) {
                    try (Connection c = connect(client, "10.96.0.2", 80)) {
                        after.add(c.backend());
                    }
                }
                assertThat(after).isNotEmpty().doesNotContain(leaving);
                assertThat(shunt("service", "del", "np", "--socket", sock).exit()).isZero();
                assertThat(shunt("service", "del", "np", "--socket", sock).err()).isEqualTo("shunt: error: no Service 'np'\n");
                try (Connection c = connect(client, "10.96.0.2", 80)) {
                    assertThat(c.backend()).startsWith("web-");
                }
            } finally {
                stop(agent);
            }
        }
    }

    private void stop(Agent agent) {
        AgentTeardown.stop(closeables, agent);
    }

    @Test
    void captureWritesAPcapFileThatTcpdumpReads() throws Exception {
        String node = "t-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        AgentConfig config = new AgentConfig(node, Cidr.parse("10.244.4.0/24"), dir.resolve("state"), dir.resolve("s.sock"), 1450);
        String sock = config.socket().toString();
        try (ScratchNamespace nodeNs = ScratchNamespace.create("node")) {
            Agent agent = nodeNs.namespace().call(() -> Agent.start(config));
            try {
                serve(agent.addPod("web-1", Map.of("app", "web")));
                PodRecord client = agent.addPod("client", Map.of());
                assertThat(shunt("service", "add", "web", "--port", "80/tcp:8080", "--selector", "app=web", "--socket", sock).exit()).isZero();
                Path file = dir.resolve("client.pcap");
                Result[] capture = new Result[1];
                Thread cli = Thread.ofPlatform().start(() -> capture[0] = shunt("capture", "--port", "client", "-c", "8", "-w",
                        file.toString(), "--timeout", "10", "--socket", sock));
                // Connections until the capture has its frames (it may start after the first ones).
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (cli.isAlive() && System.nanoTime() < deadline) {
                    try (Connection c = connect(client, "10.96.0.2", 80)) {
                        assertThat(c.backend()).isEqualTo("web-1");
                    }
                }
                cli.join(15_000);
                assertThat(capture[0].exit()).as(capture[0].err()).isZero();
                assertThat(capture[0].out()).isEqualTo("8 frames captured to " + file + "\n");
                String dump = Witness.run(List.of("tcpdump", "-r", file.toString(), "-nn", "-e"));
                assertThat(dump.lines().count()).isEqualTo(8);
                // What the client's port sees: the VIP, never the backend's address (un-DNAT on the way back).
                assertThat(dump).contains(client.ip() + ".", "> 10.96.0.2.80:", "10.96.0.2.80 > " + client.ip() + ".")
                        .doesNotContain(agent.pods().get("web-1").ip() + ".8080");

                Result busyPort = shunt("capture", "--port", "nope", "-c", "1", "-w", file.toString(), "--socket", sock);
                assertThat(busyPort.exit()).isEqualTo(Main.EXIT_FAILURE);
                assertThat(busyPort.err()).isEqualTo("shunt: error: no port 'nope': a pod's name or 'host'\n");
            } finally {
                stop(agent);
            }
        }
    }

    private static JsonNode service(String sock, String name) throws IOException {
        Result list = shunt("service", "list", "--json", "--socket", sock);
        assertThat(list.exit()).as(list.err()).isZero();
        for (JsonNode s : JSON.readTree(list.out())) {
            if (s.get("name").asText().equals(name)) {
                return s;
            }
        }
        throw new AssertionError("no Service " + name + " in " + list.out());
    }

    /** "POD CONDITIONS" per endpoint, conditions in the order ready, serving, terminating. */
    private static List<String> endpoints(JsonNode service) {
        List<String> out = new ArrayList<>();
        for (JsonNode e : service.get("endpoints")) {
            List<String> c = new ArrayList<>();
            for (String k : new String[] {"ready", "serving", "terminating"}) {
                if (e.get(k).asBoolean()) {
                    c.add(k);
                }
            }
            out.add(e.get("pod").asText() + " " + String.join(",", c));
        }
        return out;
    }

    /** A backend in the pod's namespace on port 8080: says its name on each connection, then echoes lines. */
    private void serve(PodRecord pod) {
        ServerSocketChannel server = NetworkNamespace.named(pod.netns()).call(() ->
                ServerSocketChannel.open().bind(new InetSocketAddress(pod.ip(), 8080)));
        closeables.add(server);
        Thread.ofPlatform().daemon().name("backend-" + pod.name()).start(() -> {
            while (server.isOpen()) {
                try {
                    SocketChannel c = server.accept();
                    Thread.ofVirtual().start(() -> {
                        try (c) {
                            c.write(ByteBuffer.wrap((pod.name() + "\n").getBytes(StandardCharsets.US_ASCII)));
                            ByteBuffer buf = ByteBuffer.allocate(1024);
                            while (c.read(buf) > 0) {
                                buf.flip();
                                while (buf.hasRemaining()) {
                                    c.write(buf);
                                }
                                buf.clear();
                            }
                        } catch (IOException ignored) {
                            // the client went away
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    private static Connection connect(PodRecord from, String ip, int port) throws IOException {
        SocketChannel c = NetworkNamespace.named(from.netns()).call(() -> {
            SocketChannel s = SocketChannel.open();
            s.socket().setSoTimeout(3000);
            s.socket().connect(new InetSocketAddress(ip, port), 3000);
            return s;
        });
        return new Connection(c, readLine(c));
    }

    private static String readLine(SocketChannel c) throws IOException {
        StringBuilder line = new StringBuilder();
        var in = c.socket().getInputStream();
        int b;
        while ((b = in.read()) >= 0 && b != '\n') {
            line.append((char) b);
        }
        return line.toString();
    }

    private record Connection(SocketChannel channel, String backend) implements AutoCloseable {
        int localPort() throws IOException {
            return ((InetSocketAddress) channel.getLocalAddress()).getPort();
        }

        String echo(String text) throws IOException {
            channel.socket().getOutputStream().write((text + "\n").getBytes(StandardCharsets.US_ASCII));
            return readLine(channel);
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }
}
