package dev.shunt.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.ipam.Cidr;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import dev.shunt.netlink.IpPrefix;
import dev.shunt.netlink.VethSpec;
import dev.shunt.netns.NetworkNamespace;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * NodePort through the node's one static rule: real TCP connections from an outside namespace, from
 * the node itself and from a pod to NODE_IP:30080 reach a backend pod through the fast path; the
 * outside client's address is what the backend sees (externalTrafficPolicy Local); a node port no
 * Service has is refused at once. The rule is witnessed with {@code nft -j}.
 */
class NodePortTest {
    static final String NODE_IP = "198.18.7.1";
    static final String OUTSIDE_IP = "198.18.7.2";
    static final int NODE_PORT = 30080;
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void nodePortReachesThePodWithTheClientAddressKeptAndAnUnknownNodePortIsRefused() throws Exception {
        String node = "t-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        AgentConfig config = new AgentConfig(node, Cidr.parse("10.244.7.0/24"), dir.resolve("state"), dir.resolve("s.sock"), 1450);
        try (ScratchNamespace nodeNs = ScratchNamespace.create("node");
             ScratchNamespace outside = ScratchNamespace.create("outside");
             dev.shunt.sys.Fd outsideFd = outside.namespace().openFd()) {
            underlay(nodeNs, outside, outsideFd, "shunt-up0", "shunt-up1", NODE_IP, OUTSIDE_IP);

            Agent agent = nodeNs.namespace().call(() -> Agent.start(config));
            try {
                PodRecord web = agent.addPod("web", Map.of("app", "web"));
                PodRecord client = agent.addPod("client", Map.of());
                agent.addService(new ServiceSpec("web", "10.96.0.80", ServiceSpec.NODE_PORT,
                        List.of(new ServiceSpec.Port("http", "tcp", 80, 8080, NODE_PORT)), Map.of("app", "web"), 0,
                        ServiceSpec.LOCAL, null, 0));

                JsonNode rules = JSON.readTree(Witness.run(List.of("ip", "netns", "exec", nodeNs.name(), "nft", "-j", "list", "table", "ip", "shunt")));
                assertThat(dnatRules(rules)).as("exactly one NodePort rule, whatever the Services").hasSize(1);
                assertThat(dnatRules(rules).getFirst().toString())
                        .contains("30000", "32767", AgentConfig.NODE_PORT_ADDRESS, "shunt: node ports to the fast path", "\"local\"");

                try (ServerSocket server = NetworkNamespace.named(web.netns()).call(() -> {
                    ServerSocket ss = new ServerSocket();
                    ss.bind(new InetSocketAddress(web.ip(), 8080));
                    return ss;
                })) {
                    assertThat(roundTrip(outside.namespace(), NODE_IP, server, "from outside"))
                            .as("the backend sees the outside client's address").isEqualTo(OUTSIDE_IP);
                    assertThat(roundTrip(nodeNs.namespace(), NODE_IP, server, "from the node"))
                            .as("a client on the node itself (output hook)").isEqualTo(NODE_IP);
                    assertThat(roundTrip(NetworkNamespace.named(client.netns()), NODE_IP, server, "from a pod"))
                            .as("a pod reaching a node port is masqueraded to the node, so replies go back through it")
                            .isEqualTo(NODE_IP);
                }
                // A node port that no Service has: refused at once by the fast path (RST), not a timeout.
                long start = System.nanoTime();
                assertThatThrownBy(() -> outside.namespace().call(() -> {
                    try (Socket c = new Socket()) {
                        c.connect(new InetSocketAddress(NODE_IP, 30999), 3000);
                    }
                    return null;
                })).hasStackTraceContaining("Connection refused");
                assertThat((System.nanoTime() - start) / 1_000_000).as("ms until refused").isLessThan(2000);
                assertThat(agent.counters().newFlows()).isEqualTo(3);

                // Installing again (a restarted agent) replaces the table: still one rule of each kind.
                try (dev.shunt.sys.Fd nodeFd = nodeNs.namespace().openFd()) {
                    NodeRules.install(nodeFd, AgentConfig.CLUSTER_CIDR, HostPort.HOST_END, AgentConfig.NODE_PORT_ADDRESS);
                }
                JsonNode again = JSON.readTree(Witness.run(List.of("ip", "netns", "exec", nodeNs.name(), "nft", "-j", "list", "table", "ip", "shunt")));
                assertThat(dnatRules(again)).hasSize(1);
                assertThat(ruleCount(again)).isEqualTo(ruleCount(rules)).isEqualTo(5);
            } finally {
                for (String pod : agent.pods().keySet()) {
                    agent.deletePod(pod);
                }
                agent.close();
            }
            assertThat(Witness.run(List.of("ip", "netns", "exec", nodeNs.name(), "nft", "-j", "list", "tables"))).doesNotContain("shunt");
        }
    }

    static void underlay(ScratchNamespace nodeNs, ScratchNamespace outside, dev.shunt.sys.Fd outsideFd,
                         String nodeEnd, String outsideEnd, String nodeIp, String outsideIp) {
        nodeNs.netlink().links().add(VethSpec.of(nodeEnd, outsideEnd).withPeerNamespace(outsideFd));
        nodeNs.netlink().addresses().add(nodeEnd, IpPrefix.parse(nodeIp + "/24"));
        nodeNs.netlink().links().setUp(nodeEnd);
        outside.netlink().addresses().add(outsideEnd, IpPrefix.parse(outsideIp + "/24"));
        outside.netlink().links().setUp(outsideEnd);
    }

    /** Connects from {@code ns} to ip:30080, exchanges a line each way, returns the address the server saw. */
    static String roundTrip(NetworkNamespace ns, String ip, ServerSocket server, String what) throws Exception {
        server.setSoTimeout(5000);
        try (Socket c = ns.call(() -> {
                 Socket s = new Socket();
                 s.connect(new InetSocketAddress(ip, NODE_PORT), 3000);
                 return s;
             });
             Socket accepted = server.accept()) {
            c.setSoTimeout(5000);
            accepted.setSoTimeout(5000);
            c.getOutputStream().write(("hello " + what + "\n").getBytes(StandardCharsets.US_ASCII));
            assertThat(readLine(accepted)).isEqualTo("hello " + what);
            accepted.getOutputStream().write("bye\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(readLine(c)).isEqualTo("bye");
            return accepted.getInetAddress().getHostAddress();
        }
    }

    /** Reads up to a newline; the socket's timeout bounds each read. */
    static String readLine(Socket s) throws Exception {
        StringBuilder line = new StringBuilder();
        InputStream in = s.getInputStream();
        for (int b = in.read(); b >= 0 && b != '\n' && line.length() < 1024; b = in.read()) {
            line.append((char) b);
        }
        return line.toString();
    }

    static List<JsonNode> dnatRules(JsonNode nft) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode item : nft.path("nftables")) {
            JsonNode rule = item.path("rule");
            if (!rule.isMissingNode() && rule.toString().contains("\"dnat\"")) {
                out.add(rule);
            }
        }
        return out;
    }

    static int ruleCount(JsonNode nft) {
        int n = 0;
        for (JsonNode item : nft.path("nftables")) {
            n += item.has("rule") ? 1 : 0;
        }
        return n;
    }
}
