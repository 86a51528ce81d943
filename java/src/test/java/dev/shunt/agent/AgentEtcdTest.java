package dev.shunt.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.cli.CliTest.Result;
import dev.shunt.lab.LabEtcd;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import dev.shunt.netns.NetworkNamespace;
import dev.shunt.overlay.OverlayPeer;
import dev.shunt.overlay.VtepMac;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static dev.shunt.cli.CliTest.shunt;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Three agents, each in a process of its own inside its node namespace (as {@code shunt agent}
 * runs), on an underlay bridge (198.18.3.0/24, the bridge in a fourth namespace that also runs
 * etcd on 198.18.3.254), started with {@code --etcd} and no pod CIDR: each claims its own /24 and
 * learns the other two from etcd (status, FDB entries on shunt.vx); a pod on node A pings one on
 * node C. With etcd killed the agents say "retrying" and keep forwarding on the nodes they know,
 * and reconnect when it is back. Node B, killed with SIGKILL and restarted within its lease TTL, keeps its subnet; node C,
 * killed for good, drops out of A's and B's peers and FDB once its 3 s lease expired; a
 * {@code --pod-cidr} that is not the claimed subnet is refused; C started again joins with a
 * subnet.
 */
class AgentEtcdTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ETCD_IP = "198.18.3.254";
    private static final long SHORT_TTL = 3;

    @TempDir
    Path dir;

    private final List<Process> processes = new ArrayList<>();

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void nodesClaimSubnetsAndFindEachOtherThroughEtcd() throws Exception {
        String suffix = Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        String prefix = "/t-" + suffix + "/";
        String[] names = {"ea-" + suffix, "eb-" + suffix, "ec-" + suffix};
        String[] underlay = {"198.18.3.11", "198.18.3.12", "198.18.3.13"};
        List<String> podNamespaces = List.of("shunt-" + names[0] + "-pa", "shunt-" + names[2] + "-pc");
        try (ScratchNamespace br = ScratchNamespace.create("ebr"); ScratchNamespace na = ScratchNamespace.create("ea");
             ScratchNamespace nb = ScratchNamespace.create("eb"); ScratchNamespace nc = ScratchNamespace.create("ec")) {
            ScratchNamespace[] nodes = {na, nb, nc};
            TestUnderlay.build(br, ETCD_IP, nodes, underlay, "shunt-e" + suffix + "-");
            try (LabEtcd etcd = LabEtcd.startOnUnderlay(br, ETCD_IP, Files.createDirectories(dir.resolve("etcd")))) {
                try {
                    Path[] socks = {dir.resolve("a.sock"), dir.resolve("b.sock"), dir.resolve("c.sock")};
                    // B's lease is long enough to outlive its restart; C's short, so that it expires in the test.
                    long[] ttl = {SHORT_TTL, 30, SHORT_TTL};
                    Process[] agents = new Process[3];
                    for (int i = 0; i < 3; i++) {
                        agents[i] = startAgent(nodes[i], names[i], underlay[i], etcd.endpoint(), prefix, ttl[i], socks[i], null);
                    }
                    String[] subnets = new String[3];
                    for (int i = 0; i < 3; i++) {
                        int self = i;
                        JsonNode s = awaitStatus(socks[i], st -> peerNames(st).size() == 2, "two peers on node " + names[i]);
                        subnets[i] = s.path("podCidr").asText();
                        assertThat(s.path("etcd").path("subnet").asText()).isEqualTo(subnets[i]);
                        assertThat(s.path("etcd").path("lease").asText()).isEqualTo("HELD");
                        assertThat(s.path("etcd").path("connected").asBoolean()).isTrue();
                        Set<String> others = new HashSet<>(List.of(names));
                        others.remove(names[self]);
                        assertThat(peerNames(s)).containsExactlyInAnyOrderElementsOf(others);
                    }
                    assertThat(Set.of(subnets)).as("distinct subnets").hasSize(3);
                    for (String subnet : subnets) {
                        assertThat(subnet).matches("10\\.244\\.[0-9]+\\.0/24").isNotEqualTo("10.244.0.0/24");
                    }
                    assertThat(etcd.etcdctl("get", "--prefix", prefix + "subnets/", "--keys-only"))
                            .as("the witness: one subnet key per node")
                            .contains(prefix + "subnets/" + subnets[0].replace('/', '-'), prefix + "subnets/" + subnets[2].replace('/', '-'));
                    String fdbA = Witness.bridge(na.name(), "fdb", "show", "dev", "shunt.vx").toString();
                    assertThat(fdbA).contains(VtepMac.forNode(names[1]).toString(), underlay[1],
                            VtepMac.forNode(names[2]).toString(), underlay[2]);
                    Result text = shunt("status", "--socket", socks[0].toString());
                    assertThat(text.exit()).as(text.err()).isZero();
                    assertThat(text.out()).containsPattern("etcd      connected since \\S+ \\(" + etcd.endpoint() + "\\)\n")
                            .containsPattern("lease +HELD [0-9a-f]+ \\(TTL [0-9]+ s\\) holding " + subnets[0].replace(".", "\\.")
                                    + " under " + prefix + "; 3 nodes at watch revision [0-9]+");

                    String pa = addPod(socks[0], "pa");
                    String pc = addPod(socks[2], "pc");
                    assertThat(pa).startsWith(subnets[0].substring(0, subnets[0].lastIndexOf('.')));
                    assertThat(ping(podNamespaces.get(0), pc)).as("A's pod -> C's pod over the overlay").contains("1 received");

                    // etcd goes away: the agents say so and keep forwarding on the nodes they know; it comes back.
                    etcd.kill();
                    JsonNode away = awaitStatus(socks[0], st -> !st.path("etcd").path("connected").asBoolean(true),
                            "A notices etcd is gone");
                    assertThat(away.path("etcd").path("store").asText()).startsWith("retrying since").contains(etcd.endpoint());
                    assertThat(peerNames(away)).as("the last known nodes stay").hasSize(2);
                    assertThat(shunt("status", "--socket", socks[0].toString()).out()).contains("etcd      retrying since");
                    assertThat(ping(podNamespaces.get(0), pc)).as("forwarding without etcd").contains("1 received");
                    etcd.startOn(LabEtcd.CLIENT_PORT);
                    for (int i = 0; i < 3; i++) {
                        JsonNode back = awaitStatus(socks[i], st -> st.path("etcd").path("connected").asBoolean()
                                && st.path("etcd").path("lease").asText().equals("HELD"), "node " + names[i] + " reconnects");
                        assertThat(peerNames(back)).hasSize(2);
                        assertThat(back.path("podCidr").asText()).isEqualTo(subnets[i]);
                    }

                    // B dies and comes back within its TTL while etcd is away: it waits for etcd (as flannel
                    // does), then has the same subnet and still knows A and C.
                    agents[1].toHandle().destroyForcibly();
                    assertThat(agents[1].waitFor(10, TimeUnit.SECONDS)).isTrue();
                    etcd.kill();
                    Process waiting = startProcess(nb, names[1], underlay[1], etcd.endpoint(), prefix, ttl[1], socks[1], null);
                    long waitDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                    while (System.nanoTime() < waitDeadline && waiting.isAlive()
                            && !Files.readString(log(names[1])).contains("cannot claim a subnet yet (attempt 2)")) {
                        Thread.sleep(100);
                    }
                    assertThat(waiting.isAlive()).as("B waits for etcd instead of giving up:\n" + Files.readString(log(names[1])))
                            .isTrue();
                    assertThat(Files.readString(log(names[1]))).contains("etcd unreachable");
                    etcd.startOn(LabEtcd.CLIENT_PORT);
                    agents[1] = waiting;
                    awaitStatus(socks[1], st -> true, "B answers once etcd is back");
                    JsonNode b = awaitStatus(socks[1], st -> peerNames(st).size() == 2, "B's peers after its restart");
                    assertThat(b.path("podCidr").asText()).as("B keeps its subnet").isEqualTo(subnets[1]);

                    // C dies for good: its key expires with its lease and A and B drop it.
                    agents[2].toHandle().destroyForcibly();
                    assertThat(agents[2].waitFor(10, TimeUnit.SECONDS)).isTrue();
                    long killed = System.nanoTime();
                    String cKey = prefix + "subnets/" + subnets[2].replace('/', '-');
                    assertThat(etcd.etcdctl("get", cKey, "--keys-only")).as("C's key outlives C until its lease expires")
                            .contains(cKey);
                    for (int i = 0; i < 2; i++) {
                        awaitStatus(socks[i], st -> !peerNames(st).contains(names[2]), "node " + names[i] + " drops " + names[2]);
                    }
                    long goneMs = (System.nanoTime() - killed) / 1_000_000;
                    System.out.printf("AgentEtcdTest: a killed node (lease TTL %d s) left both other nodes' peers %d ms after SIGKILL%n",
                            SHORT_TTL, goneMs);
                    assertThat(Witness.bridge(na.name(), "fdb", "show", "dev", "shunt.vx").toString())
                            .as("C's FDB entry gone from A").doesNotContain(VtepMac.forNode(names[2]).toString())
                            .contains(VtepMac.forNode(names[1]).toString());
                    assertThat(ping(podNamespaces.get(0), pc)).as("no route to a node that left").contains("0 received");

                    // A --pod-cidr that is not what etcd gives is refused (10.244.0.0/24 is never given).
                    Process refused = startProcess(nc, names[2], underlay[2], etcd.endpoint(), prefix, SHORT_TTL, socks[2],
                            "10.244.0.0/24");
                    assertThat(refused.waitFor(30, TimeUnit.SECONDS)).isTrue();
                    assertThat(refused.exitValue()).isNotZero();
                    assertThat(Files.readString(log(names[2]))).contains("--pod-cidr 10.244.0.0/24 is not the subnet etcd gave node "
                            + names[2]);

                    assertThat(etcd.etcdctl("get", "--prefix", prefix + "subnets/")).as("the refused claim was given back at once")
                            .doesNotContain("\"node\":\"" + names[2] + "\"");
                    // So is the claim of an agent that fails to start after it (an underlay IP no interface has).
                    String stray = "ed-" + suffix;
                    Process failed = startProcess(nc, stray, "198.18.3.99", etcd.endpoint(), prefix, 30, dir.resolve("d.sock"), null);
                    assertThat(failed.waitFor(30, TimeUnit.SECONDS)).isTrue();
                    assertThat(failed.exitValue()).isNotZero();
                    assertThat(Files.readString(log(stray))).contains("claimed subnet", "underlay IP 198.18.3.99 is not an address");
                    assertThat(etcd.etcdctl("get", "--prefix", prefix + "subnets/")).doesNotContain("\"node\":\"" + stray + "\"");
                    Files.deleteIfExists(Path.of("/dev/shm", "shunt-" + stray + "-conntrack"));

                    // C comes back after its lease expired: it asks for the subnet its state directory
                    // remembers (the failed starts above did not overwrite it), which is free again, so its
                    // adopted pod keeps an address the cluster routes to C; A learns C again.
                    agents[2] = startAgent(nc, names[2], underlay[2], etcd.endpoint(), prefix, SHORT_TTL, socks[2], null);
                    awaitStatus(socks[0], st -> peerNames(st).contains(names[2]), "A learns C again");
                    assertThat(awaitStatus(socks[2], st -> true, "C's status").path("podCidr").asText()).isEqualTo(subnets[2]);
                    assertThat(etcd.etcdctl("get", cKey, "--print-value-only")).contains("\"node\":\"" + names[2] + "\"");
                    assertThat(ping(podNamespaces.get(0), pc)).as("A's pod -> C's adopted pod after C came back").contains("1 received");
                    shunt("pod", "del", "pa", "--socket", socks[0].toString());
                    shunt("pod", "del", "pc", "--socket", socks[2].toString());
                } finally {
                    stopAll();
                    for (String ns : podNamespaces) {
                        if (NetworkNamespace.exists(ns)) {
                            NetworkNamespace.named(ns).delete();
                        }
                    }
                    for (String name : names) {
                        Files.deleteIfExists(Path.of("/dev/shm", "shunt-" + name + "-conntrack"));
                    }
                }
            }
        }
    }

    @Test
    void etcdNodesWinOverRecordedOnesOnANameOrCidrClash() {
        List<OverlayPeer> fromEtcd = List.of(peer("n1", "198.18.3.1", "10.244.1.0/24"), peer("n2", "198.18.3.2", "10.244.2.0/24"));
        List<OverlayPeer> recorded = List.of(
                peer("n1", "198.18.3.9", "10.244.9.0/24"),   // same name as an etcd node: etcd's n1 stays
                peer("x", "198.18.3.8", "10.244.2.128/25"),  // inside n2's subnet: left out
                peer("y", "198.18.3.7", "10.244.7.0/24"));   // clashes with nothing: kept
        assertThat(Agent.withEtcdNodes(recorded, fromEtcd)).containsExactly(fromEtcd.get(0), fromEtcd.get(1), recorded.get(2));
        assertThat(Agent.withEtcdNodes(recorded, List.of())).containsExactlyInAnyOrderElementsOf(recorded);
    }

    private static OverlayPeer peer(String name, String underlay, String cidr) {
        return new OverlayPeer(name, (java.net.Inet4Address) java.net.InetAddress.ofLiteral(underlay), VtepMac.forNode(name),
                dev.shunt.netlink.IpPrefix.parse(cidr));
    }

    private Path log(String node) {
        return dir.resolve(node + ".log");
    }

    private Process startProcess(ScratchNamespace ns, String node, String underlayIp, String etcd, String prefix, long ttl,
                                 Path sock, String podCidr) throws Exception {
        List<String> command = new ArrayList<>(List.of("nsenter", "--net=/run/netns/" + ns.name(),
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:TieredStopAtLevel=1",
                "--sun-misc-unsafe-memory-access=allow",
                "-cp", System.getProperty("java.class.path"), "dev.shunt.cli.Main", "agent", "--node", node,
                "--underlay-ip", underlayIp, "--etcd", etcd, "--etcd-prefix", prefix, "--lease-ttl", Long.toString(ttl),
                "--state", dir.resolve("state-" + node).toString(), "--socket", sock.toString()));
        if (podCidr != null) {
            command.addAll(List.of("--pod-cidr", podCidr));
        }
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.to(log(node).toFile())).start();
        processes.add(p);
        return p;
    }

    /** Starts an agent and waits (20 s at most) until its API answers. */
    private Process startAgent(ScratchNamespace ns, String node, String underlayIp, String etcd, String prefix, long ttl,
                               Path sock, String podCidr) throws Exception {
        return AgentStatusPoll.awaitApi(startProcess(ns, node, underlayIp, etcd, prefix, ttl, sock, podCidr), node, sock, 20,
                log(node));
    }

    /** 15 s: longer than any lease TTL here plus etcd's expiry check. */
    private static JsonNode awaitStatus(Path sock, Predicate<JsonNode> ok, String what) throws Exception {
        return AgentStatusPoll.await(sock, 15, ok, what);
    }

    private static Set<String> peerNames(JsonNode status) {
        Set<String> out = new HashSet<>();
        status.path("overlay").path("peers").forEach(p -> out.add(p.path("node").asText()));
        return out;
    }

    private static String addPod(Path sock, String name) {
        Result r = shunt("pod", "add", name, "--socket", sock.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        return r.out().trim();
    }

    private static String ping(String podNs, String to) {
        return Witness.runAllowingFailure(List.of("ip", "netns", "exec", podNs, "ping", "-n", "-c", "1", "-W", "2", to));
    }

    /** SIGTERM (a graceful stop), then SIGKILL for one that does not stop within 10 s. */
    private void stopAll() throws InterruptedException {
        for (Process p : processes) {
            if (p.isAlive()) {
                p.destroy();
            }
        }
        for (Process p : processes) {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.toHandle().destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        }
    }
}
