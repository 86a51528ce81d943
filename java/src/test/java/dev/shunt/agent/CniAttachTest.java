package dev.shunt.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.cli.CliTest.Result;
import dev.shunt.ipam.Cidr;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import dev.shunt.netns.NetworkNamespace;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;

import static dev.shunt.agent.CniShim.env;
import static dev.shunt.cli.CliTest.shunt;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real shunt-cni binary, exec'd with the CNI environment as a runtime does, against a real agent
 * in a throwaway node namespace and throwaway container namespaces; witnessed with {@code ip -j},
 * ping and real sockets through the fast path.
 */
class CniAttachTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private final List<AutoCloseable> closeables = new ArrayList<>();

    private String sock;

    private String config(String version, String extra) {
        return "{\"cniVersion\":\"" + version + "\",\"name\":\"shunt-test\",\"type\":\"shunt-cni\",\"socket\":\"" + sock + "\"" + extra + "}";
    }

    private static Map<String, String> call(String command, String containerId, String netns, String args) {
        return env("CNI_COMMAND", command, "CNI_CONTAINERID", containerId, "CNI_NETNS", netns, "CNI_IFNAME", "eth0",
                "CNI_ARGS", args, "CNI_PATH", "/usr/lib/cni");
    }

    private AgentConfig agentConfig(String cidr) {
        String node = "t-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        AgentConfig config = new AgentConfig(node, Cidr.parse(cidr), dir.resolve("state"), dir.resolve("s.sock"), 1450);
        sock = config.socket().toString();
        return config;
    }

    @Test
    void addCheckAndDelThroughTheShimWitnessedInTheNamespaces() throws Exception {
        AgentConfig config = agentConfig("10.244.12.0/24");
        try (ScratchNamespace nodeNs = ScratchNamespace.create("node"); ScratchNamespace ctr = ScratchNamespace.create("ctr")) {
            Agent agent = nodeNs.namespace().call(() -> Agent.start(config));
            String netns = ctr.namespace().path().toString();
            String id = "3f1c0a9e6d2b4c8a9e1f0b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6";
            try {
                CniShim.Run add = CniShim.run(call("ADD", id, netns, "IgnoreUnknown=1;K8S_POD_NAME=web-a;SHUNT_LABELS=app:web"),
                        config("1.1.0", "")).ok();
                JsonNode result = add.json();
                assertThat(result.get("cniVersion").asText()).isEqualTo("1.1.0");
                PodRecord pod = agent.pods().get("web-a");
                assertThat(pod).as("the pod the ADD made").isNotNull();
                assertThat(pod.labels()).isEqualTo(Map.of("app", "web"));
                assertThat(pod.netns()).isEqualTo(netns);
                assertThat(pod.attachment()).isEqualTo(new ContainerAttachment("shunt-test", id, "eth0", "shunt"));
                assertThat(result.get("interfaces").toString()).isEqualTo("[{\"name\":\"" + pod.hostVeth() + "\",\"mac\":\""
                        + agent.netlink().links().get(pod.hostVeth()).mac() + "\",\"mtu\":1450},{\"name\":\"eth0\",\"mac\":\""
                        + pod.podMac() + "\",\"mtu\":1450,\"sandbox\":\"" + netns + "\"}]");
                assertThat(result.get("ips").toString())
                        .isEqualTo("[{\"address\":\"" + pod.ip() + "/32\",\"gateway\":\"169.254.1.1\",\"interface\":1}]");
                assertThat(result.get("routes").toString())
                        .isEqualTo("[{\"dst\":\"169.254.1.1/32\",\"scope\":253},{\"dst\":\"0.0.0.0/0\",\"gw\":\"169.254.1.1\"}]");

                // What the kernel says, inside the container and on the node.
                JsonNode eth0 = Witness.ip(ctr.name(), "addr", "show", "dev", "eth0").get(0);
                assertThat(eth0.get("address").asText()).isEqualTo(pod.podMac());
                assertThat(eth0.get("mtu").asInt()).isEqualTo(1450);
                assertThat(eth0.get("flags").toString()).contains("\"UP\"");
                assertThat(eth0.get("addr_info").toString()).contains("\"local\":\"" + pod.ip() + "\",\"prefixlen\":32");
                assertThat(Witness.ip(ctr.name(), "route", "show", "default").get(0).get("gateway").asText()).isEqualTo("169.254.1.1");
                assertThat(Witness.ip(nodeNs.name(), "link", "show", pod.hostVeth()).get(0).get("flags").toString()).contains("\"UP\"");
                assertThat(ipamOwners()).containsExactly(id + "/eth0 " + pod.ip());

                // The same ADD again: the interface exists (error 110), and nothing changes.
                CniShim.Run again = CniShim.run(call("ADD", id, netns, "K8S_POD_NAME=web-a"), config("1.1.0", ""));
                assertThat(again.code()).isEqualTo(110);
                assertThat(again.details()).isEqualTo("an interface named eth0 exists already in " + netns);
                assertThat(agent.pods()).containsOnlyKeys("web-a");

                // CHECK against the ADD's result: nothing printed; a broken interface is error 111.
                String withPrev = config("1.1.0", ",\"prevResult\":" + add.out());
                CniShim.Run check = CniShim.run(call("CHECK", id, netns, "K8S_POD_NAME=web-a"), withPrev).ok();
                assertThat(check.out()).isEmpty();
                Witness.run(List.of("ip", "-n", ctr.name(), "link", "set", "eth0", "down"));
                CniShim.Run down = CniShim.run(call("CHECK", id, netns, "K8S_POD_NAME=web-a"), withPrev);
                assertThat(down.code()).isEqualTo(111);
                assertThat(down.details()).isEqualTo(netns + ": eth0 is down; no route to 169.254.1.1 on eth0; "
                        + "no default route via 169.254.1.1 on eth0");
                Witness.run(List.of("ip", "-n", ctr.name(), "link", "set", "eth0", "up"));
                Witness.run(List.of("ip", "-n", ctr.name(), "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link"));
                Witness.run(List.of("ip", "-n", ctr.name(), "route", "add", "default", "via", "169.254.1.1", "dev", "eth0"));
                CniShim.run(call("CHECK", id, netns, "K8S_POD_NAME=web-a"), withPrev).ok();
                CniShim.Run otherAddress = CniShim.run(call("CHECK", id, netns, "K8S_POD_NAME=web-a"),
                        withPrev.replace(pod.ip() + "/32", "10.244.12.200/32"));
                assertThat(otherAddress.code()).isEqualTo(111);
                assertThat(otherAddress.details()).isEqualTo("prevResult does not give eth0 the pod's address " + pod.ip() + "/32");
                CniShim.Run unknown = CniShim.run(call("CHECK", "someone-else", netns, ""), withPrev);
                assertThat(unknown.code()).isEqualTo(111);
                assertThat(unknown.details()).isEqualTo("no attachment someone-else/eth0 on node " + config.node());

                // VERSION and STATUS through the agent's socket.
                assertThat(CniShim.run(env("CNI_COMMAND", "VERSION"), "{\"cniVersion\":\"1.0.0\"}").ok().out())
                        .isEqualTo("{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"0.4.0\",\"1.0.0\",\"1.1.0\"]}");
                assertThat(CniShim.run(env("CNI_COMMAND", "STATUS", "CNI_PATH", "/usr/lib/cni"), config("1.1.0", "")).ok().out()).isEmpty();
                assertThat(CniShim.run(env("CNI_COMMAND", "STATUS"), config("1.0.0", "")).code()).isEqualTo(1);

                // The API by hand (curl-style): a config given as an object; a body that is not the API's is error 6.
                assertThat(post("{\"env\":{\"CNI_COMMAND\":\"STATUS\"},\"config\":" + config("1.1.0", "") + "}"))
                        .isEqualTo("HTTP/1.1 200 OK\n");
                assertThat(post("{\"CNI_COMMAND\":\"STATUS\"}")).isEqualTo("HTTP/1.1 400 Bad Request\n{\"cniVersion\":\"1.1.0\",\"code\":6,"
                        + "\"msg\":\"cannot decode the request to the agent\",\"details\":\"the body must be {\\\"env\\\": {...}, \\\"config\\\": ...}\"}");

                // DEL removes the interface, the veth and the address; DEL again, or without a namespace, is still fine.
                CniShim.run(call("DEL", id, netns, "K8S_POD_NAME=web-a"), config("1.1.0", ",\"prevResult\":" + add.out())).ok();
                assertThat(agent.pods()).isEmpty();
                assertThat(Witness.ip(ctr.name(), "link").toString()).doesNotContain("eth0");
                assertThat(Witness.ip(nodeNs.name(), "link").toString()).doesNotContain(pod.hostVeth());
                assertThat(ipamOwners()).isEmpty();
                assertThat(agent.fastPath().portIdOf("web-a")).isNegative();
                CniShim.run(call("DEL", id, netns, "K8S_POD_NAME=web-a"), config("1.1.0", "")).ok();
                CniShim.run(call("DEL", id, null, "K8S_POD_NAME=web-a"), config("1.1.0", "")).ok();
            } finally {
                stop(agent);
            }
        }
    }

    @Test
    void podsMadeThroughCniAndByTheAgentAreTheSameToServicesAndSurviveARestart() throws Exception {
        AgentConfig config = agentConfig("10.244.13.0/24");
        Process holder = null;
        try (ScratchNamespace nodeNs = ScratchNamespace.create("node"); ScratchNamespace b = ScratchNamespace.create("ctr");
             ScratchNamespace c = ScratchNamespace.create("ctr")) {
            Agent agent = nodeNs.namespace().call(() -> Agent.start(config));
            try {
                // The client's namespace is known by /proc/PID/ns/net only, as runc hands it over.
                holder = holdNamespace(c);
                String clientNs = "/proc/" + holder.pid() + "/ns/net";
                c.namespace().delete();
                String idB = "b".repeat(64);
                String idClient = "c".repeat(64);
                String labelled = config("0.4.0", ",\"args\":{\"cni\":{\"labels\":[{\"key\":\"app\",\"value\":\"web\"}]}}");
                JsonNode addB = CniShim.run(call("ADD", idB, b.namespace().path().toString(), null), labelled).ok().json();
                assertThat(addB.get("ips").get(0).get("version").asText()).as("0.4.0 results carry the IP version").isEqualTo("4");
                assertThat(addB.has("routes")).isTrue();
                PodRecord web = agent.addPod("web-c", Map.of("app", "web"));
                CniShim.run(call("ADD", idClient, clientNs, "K8S_POD_NAME=client;SHUNT_LABELS=role:client"), config("1.0.0", "")).ok();
                PodRecord client = agent.pods().get("client");
                PodRecord podB = agent.pods().get("c-bbbbbbbbbbbb");
                assertThat(podB).as("a pod named from its container id").isNotNull();
                assertThat(podB.labels()).isEqualTo(Map.of("app", "web"));

                JsonNode pods = JSON.readTree(shunt("pod", "list", "--json", "--socket", sock).out());
                Set<String> names = new TreeSet<>();
                pods.forEach(p -> names.add(p.get("name").asText() + " " + p.get("labels")));
                assertThat(names).containsExactly("c-bbbbbbbbbbbb {\"app\":\"web\"}", "client {\"role\":\"client\"}", "web-c {\"app\":\"web\"}");

                // Pod to pod through the fast path: ping, and the counters move.
                long before = agent.counters().forwarded();
                String ping = Witness.run(List.of("nsenter", "--net=" + clientNs, "ping", "-c", "2", "-W", "2", "-q", podB.ip()));
                assertThat(ping).contains("2 packets transmitted, 2 received");
                Witness.run(List.of("nsenter", "--net=" + clientNs, "ping", "-c", "2", "-W", "2", "-q", web.ip()));
                assertThat(agent.counters().forwarded() - before).isGreaterThanOrEqualTo(8);

                // One Service over both kinds of pods: connections reach each.
                Result service = shunt("service", "add", "web", "--port", "80/tcp:8080", "--selector", "app=web", "--socket", sock);
                assertThat(service.exit()).as(service.err()).isZero();
                String vip = service.out().strip();
                serve(podB);
                serve(web);
                assertThat(backends(client, vip, 30)).containsExactlyInAnyOrder("c-bbbbbbbbbbbb", "web-c");

                // New labels (as shunt apply gives them) keep the pod's attachment: GC below still finds it.
                agent.relabelPod("client", Map.of("role", "client", "tier", "front"));
                assertThat(agent.pods().get("client").attachment()).isEqualTo(client.attachment());

                // A restarted agent adopts the CNI pods (namespaces by path included) and they keep working.
                agent.close();
                agent = nodeNs.namespace().call(() -> Agent.start(config));
                assertThat(agent.pods()).containsOnlyKeys("c-bbbbbbbbbbbb", "client", "web-c");
                assertThat(agent.pods().get("client").attachment().containerId()).isEqualTo(idClient);
                assertThat(backends(client, vip, 10)).isNotEmpty().isSubsetOf("c-bbbbbbbbbbbb", "web-c");

                // GC keeps the valid attachment and the agent's own pod, removes the rest: veth and address.
                String gc = config("1.1.0", ",\"cni.dev/valid-attachments\":[{\"containerID\":\"" + idB + "\",\"ifname\":\"eth0\"}]");
                CniShim.run(env("CNI_COMMAND", "GC", "CNI_PATH", "/usr/lib/cni"), gc).ok();
                assertThat(agent.pods()).containsOnlyKeys("c-bbbbbbbbbbbb", "web-c");
                assertThat(Witness.ip(nodeNs.name(), "link").toString()).doesNotContain(client.hostVeth()).contains(podB.hostVeth());
                assertThat(ipamOwners()).containsExactlyInAnyOrder(idB + "/eth0 " + podB.ip(), "web-c/eth0 " + web.ip());
                assertThat(Witness.runAllowingFailure(List.of("nsenter", "--net=" + clientNs, "ip", "-j", "link")))
                        .doesNotContain("eth0");
                assertThat(JSON.readTree(shunt("service", "list", "--json", "--socket", sock).out()).get(0).get("endpoints"))
                        .hasSize(2);
            } finally {
                stop(agent);
                if (holder != null) {
                    holder.destroyForcibly().waitFor();
                }
            }
        }
    }

    /** POSTs {@code body} to /v1/cni; returns the status line and the body, one per line. */
    private String post(String body) throws IOException {
        try (SocketChannel c = SocketChannel.open(java.net.UnixDomainSocketAddress.of(sock))) {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            c.write(ByteBuffer.wrap(("POST /v1/cni HTTP/1.1\r\nHost: x\r\nContent-Length: " + bytes.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII)));
            c.write(ByteBuffer.wrap(bytes));
            String answer = new String(java.nio.channels.Channels.newInputStream(c).readAllBytes(), StandardCharsets.UTF_8);
            return answer.substring(0, answer.indexOf("\r\n")) + "\n" + answer.substring(answer.indexOf("\r\n\r\n") + 4);
        }
    }

    /**
     * A process that holds {@code ns} (nsenter + sleep), returned once it is inside: until then its
     * /proc/PID/ns/net is still the caller's namespace, which must never be handed to an ADD.
     */
    static Process holdNamespace(ScratchNamespace ns) throws Exception {
        Process p = new ProcessBuilder("nsenter", "--net=" + ns.namespace().path(), "sleep", "300").start();
        Object want = Files.getAttribute(ns.namespace().path(), "unix:ino");
        Path held = Path.of("/proc/" + p.pid() + "/ns/net");
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (Files.exists(held) && want.equals(Files.getAttribute(held, "unix:ino"))) {
                return p;
            }
            Thread.sleep(5);
        }
        p.destroyForcibly();
        throw new AssertionError("nsenter did not enter " + ns.name());
    }

    /** "CONTAINER/IFNAME IP" for each address the agent's IPAM store holds, as {@code shunt ipam show} reads it. */
    private List<String> ipamOwners() throws IOException {
        Result show = shunt("ipam", "show", "--json", "--store", dir.resolve("state").resolve("ipam").toString());
        assertThat(show.exit()).as(show.err()).isZero();
        List<String> out = new ArrayList<>();
        for (JsonNode pool : JSON.readTree(show.out()).get("pools")) {
            for (JsonNode a : pool.get("allocations")) {
                out.add(a.get("owner").asText() + "/" + a.get("ifname").asText() + " " + a.get("ip").asText().replace("/32", ""));
            }
        }
        return out;
    }

    private void stop(Agent agent) {
        AgentTeardown.stop(closeables, agent);
    }

    private void serve(PodRecord pod) {
        AgentTeardown.serveName(pod, closeables);
    }

    /** The backends that answered {@code count} connections from the pod to {@code ip}:80. */
    private static Set<String> backends(PodRecord from, String ip, int count) {
        NetworkNamespace ns = from.namespace();
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < count; i++) {
            seen.add(ns.call(() -> {
                try (SocketChannel s = SocketChannel.open()) {
                    s.socket().setSoTimeout(3000);
                    s.socket().connect(new InetSocketAddress(ip, 80), 3000);
                    StringBuilder line = new StringBuilder();
                    var in = s.socket().getInputStream();
                    int ch;
                    while ((ch = in.read()) >= 0 && ch != '\n') {
                        line.append((char) ch);
                    }
                    return line.toString();
                }
            }));
        }
        return seen;
    }
}
