package dev.shunt.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import dev.shunt.netns.NetworkNamespace;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static dev.shunt.agent.NodePortTest.readLine;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The connection table outlives the agent process: two established TCP connections through
 * Service NAT (pod -> ClusterIP and outside -> NodePort) carry bytes both ways after the agent is
 * killed with SIGKILL and started again, with no new flow created for them (the restarted agent
 * adopted their entries from the tmpfs file, so even a reply sent first after the restart is
 * un-DNATed). A SIGTERM then removes the file, the rules and the host port.
 */
class ConntrackRestartTest {
    static final String NODE_IP = "198.18.8.1";
    static final String OUTSIDE_IP = "198.18.8.2";
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void establishedServiceFlowsSurviveKillDashNineAndARestart() throws Exception {
        String node = "t-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        Path table = ConntrackFile.defaultPath(node);
        Path socket = dir.resolve("s.sock");
        List<Process> agents = new ArrayList<>();
        try (ScratchNamespace nodeNs = ScratchNamespace.create("node");
             ScratchNamespace outside = ScratchNamespace.create("outside");
             dev.shunt.sys.Fd outsideFd = outside.namespace().openFd()) {
            NodePortTest.underlay(nodeNs, outside, outsideFd, "shunt-up0", "shunt-up1", NODE_IP, OUTSIDE_IP);
            try {
                AgentChild first = AgentChild.start(nodeNs, node, dir, socket, agents);
                String webIp = cli("pod", "add", "web", "--label", "app=web", "--socket", socket.toString()).strip();
                cli("pod", "add", "client", "--socket", socket.toString());
                cli("service", "add", "web", "--port", "80/tcp:8080", "--selector", "app=web", "--type", "NodePort",
                        "--node-port", Integer.toString(NodePortTest.NODE_PORT), "--cluster-ip", "10.96.0.80",
                        "--external-traffic-policy", "Local", "--socket", socket.toString());

                try (ServerSocket server = NetworkNamespace.named("shunt-" + node + "-web").call(() -> {
                         ServerSocket ss = new ServerSocket();
                         ss.bind(new InetSocketAddress(webIp, 8080));
                         ss.setSoTimeout(5000);
                         return ss;
                     });
                     Socket viaClusterIp = connect(NetworkNamespace.named("shunt-" + node + "-client"), "10.96.0.80", 80);
                     Socket clusterIpServer = server.accept();
                     Socket viaNodePort = connect(outside.namespace(), NODE_IP, NodePortTest.NODE_PORT);
                     Socket nodePortServer = server.accept()) {
                    assertThat(nodePortServer.getInetAddress().getHostAddress()).isEqualTo(OUTSIDE_IP);
                    exchange(viaClusterIp, clusterIpServer, "before");
                    exchange(viaNodePort, nodePortServer, "before");
                    JsonNode before = stats(socket);
                    assertThat(before.path("newFlows").asLong()).isEqualTo(2);
                    assertThat(before.path("conntrack").path("generation").asLong()).isZero();

                    first.process.destroyForcibly(); // SIGKILL: no shutdown hook runs
                    assertThat(first.process.waitFor(10, TimeUnit.SECONDS)).isTrue();
                    assertThat(table).as("kill -9 leaves the table file").exists();

                    AgentChild second = AgentChild.start(nodeNs, node, dir, socket, agents);
                    assertThat(second.stderr()).contains("connection table adopted " + table);
                    // No Service is given again: the restarted agent restores it from its state.
                    // The server speaks first: its packets match the adopted entries' reply tuples
                    // and leave with the VIP / node port as source, or the clients would reset.
                    exchangeServerFirst(viaClusterIp, clusterIpServer, "after");
                    exchangeServerFirst(viaNodePort, nodePortServer, "after");
                    JsonNode after = stats(socket);
                    assertThat(after.path("newFlows").asLong()).as("no new flow for the adopted connections: %s", after).isZero();
                    assertThat(after.path("flowsPurged").asLong()).isZero();
                    assertThat(after.path("conntrack").path("generation").asLong()).isEqualTo(1);
                    assertThat(after.path("conntrack").path("live").asLong()).isGreaterThanOrEqualTo(2);
                    assertThat(after.path("conntrack").path("lookupHits").asLong())
                            .isGreaterThan(before.path("conntrack").path("lookupHits").asLong());
                    assertThat(after.path("natTranslations").asLong()).isGreaterThanOrEqualTo(4);
                    // Frames of the adopted flows, read from the AF_PACKET rings: the established path's.
                    assertThat(after.path("establishedPath").asLong()).as("%s", after).isGreaterThanOrEqualTo(4);
                }
                cli("pod", "del", "web", "--socket", socket.toString());
                cli("pod", "del", "client", "--socket", socket.toString());
                Process last = agents.getLast();
                last.destroy(); // SIGTERM: a graceful stop removes what the agent made
                assertThat(last.waitFor(20, TimeUnit.SECONDS)).isTrue();
                assertThat(table).as("a graceful stop removes the table file").doesNotExist();
                assertThat(nodeNs.netlink().links().find(HostPort.HOST_END)).isEmpty();
                assertThat(Witness.run(List.of("ip", "netns", "exec", nodeNs.name(), "nft", "list", "tables"))).doesNotContain("shunt");
            } finally {
                for (Process p : agents) {
                    p.destroyForcibly();
                    p.waitFor(10, TimeUnit.SECONDS);
                }
                for (String pod : List.of("web", "client")) {
                    if (NetworkNamespace.exists("shunt-" + node + "-" + pod)) {
                        NetworkNamespace.named("shunt-" + node + "-" + pod).delete();
                    }
                }
                Files.deleteIfExists(table);
            }
        }
    }

    /** An agent process in the node's namespace, its stdout read for its answers. */
    record AgentChild(Process process, BufferedReader out, Path stderrFile) {
        static AgentChild start(ScratchNamespace nodeNs, String node, Path dir, Path socket, List<Process> all) throws Exception {
            Files.deleteIfExists(socket);
            Path stderr = Files.createTempFile(dir, "agent", ".err");
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process p = new ProcessBuilder("nsenter", "--net=/run/netns/" + nodeNs.name(), java,
                    "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1", "-Xmx256m",
                    "-cp", System.getProperty("java.class.path"), AgentProcess.class.getName(),
                    node, "10.244.8.0/24", dir.resolve("state").toString(), socket.toString())
                    .redirectError(stderr.toFile()).start();
            all.add(p);
            AgentChild child = new AgentChild(p, new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII)), stderr);
            child.expect("ready");
            return child;
        }


        String stderr() throws Exception {
            return Files.readString(stderrFile);
        }

        /** Reads the child's next line; a child that dies or says nothing for 30 s fails the test. */
        private void expect(String word) throws Exception {
            Thread watchdog = Thread.ofPlatform().daemon().start(() -> {
                try {
                    Thread.sleep(30_000);
                    process.destroyForcibly(); // unblocks readLine with EOF
                } catch (InterruptedException done) {
                    // the line came in time
                }
            });
            String line;
            try {
                line = out.readLine();
            } finally {
                watchdog.interrupt();
            }
            assertThat(line).as("agent process said (stderr: %s)", stderr()).isEqualTo(word);
        }
    }

    static String cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = dev.shunt.cli.Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        assertThat(exit).as("shunt %s: %s", String.join(" ", args), err).isZero();
        return out.toString();
    }

    static JsonNode stats(Path socket) throws Exception {
        return JSON.readTree(cli("stats", "--json", "--socket", socket.toString()));
    }

    static Socket connect(NetworkNamespace ns, String ip, int port) {
        return ns.call(() -> {
            Socket s = new Socket();
            s.connect(new InetSocketAddress(ip, port), 3000);
            s.setSoTimeout(5000);
            return s;
        });
    }

    static void exchange(Socket client, Socket server, String what) throws Exception {
        server.setSoTimeout(5000);
        client.getOutputStream().write(("ping " + what + "\n").getBytes(StandardCharsets.US_ASCII));
        assertThat(readLine(server)).isEqualTo("ping " + what);
        server.getOutputStream().write(("pong " + what + "\n").getBytes(StandardCharsets.US_ASCII));
        assertThat(readLine(client)).isEqualTo("pong " + what);
    }

    static void exchangeServerFirst(Socket client, Socket server, String what) throws Exception {
        server.getOutputStream().write(("hello " + what + "\n").getBytes(StandardCharsets.US_ASCII));
        assertThat(readLine(client)).isEqualTo("hello " + what);
        client.getOutputStream().write(("ping " + what + "\n").getBytes(StandardCharsets.US_ASCII));
        assertThat(readLine(server)).isEqualTo("ping " + what);
    }
}
