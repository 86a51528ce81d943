package dev.shunt.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.cli.CliTest.Result;
import dev.shunt.ipam.Cidr;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static dev.shunt.agent.CniShim.env;
import static dev.shunt.cli.CliTest.shunt;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * shunt-cni when things go wrong: no agent, a silent or confused one, an ADD that fails half way
 * (nothing may be left: no veth, no address, no route, in Shunt's IPAM or a delegated one), and a
 * seeded fuzz of malformed calls through the binary.
 */
class CniFailureTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static String config(String version, Path socket, String extra) {
        return "{\"cniVersion\":\"" + version + "\",\"name\":\"shunt-test\",\"type\":\"shunt-cni\",\"socket\":\"" + socket + "\"" + extra + "}";
    }

    private static Map<String, String> call(String command, String containerId, String netns, String args) {
        return env("CNI_COMMAND", command, "CNI_CONTAINERID", containerId, "CNI_NETNS", netns, "CNI_IFNAME", "eth0",
                "CNI_ARGS", args, "CNI_PATH", "/usr/lib/cni");
    }

    @Test
    void withTheAgentDownEveryCallButVersionFailsAtOnceWithErrorEleven() throws Exception {
        Path socket = dir.resolve("nobody.sock");
        CniShim.Run missing = CniShim.run(call("ADD", "abc", "/run/netns/x", null), config("1.0.0", socket, ""));
        assertThat(missing.code()).isEqualTo(11);
        assertThat(missing.json().get("cniVersion").asText()).isEqualTo("1.0.0");
        assertThat(missing.json().get("msg").asText()).isEqualTo("the shunt agent is not running");
        assertThat(missing.details()).startsWith("connect(" + socket + "): No such file or directory");
        assertThat(CniShim.run(call("DEL", "abc", null, null), config("0.4.0", socket, "")).code()).isEqualTo(11);

        // A socket file left by a killed agent: refused at once too.
        try (ServerSocketChannel stale = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            stale.bind(UnixDomainSocketAddress.of(socket));
        }
        assertThat(Files.exists(socket)).isTrue();
        CniShim.Run refused = CniShim.run(call("DEL", "abc", null, null), config("1.1.0", socket, ""));
        assertThat(refused.code()).isEqualTo(11);
        assertThat(refused.details()).startsWith("connect(" + socket + "): Connection refused");

        // VERSION needs no agent.
        CniShim.Run version = CniShim.run(env("CNI_COMMAND", "VERSION"), "{\"cniVersion\":\"0.4.0\"}").ok();
        assertThat(version.out()).isEqualTo("{\"cniVersion\":\"0.4.0\",\"supportedVersions\":[\"0.4.0\",\"1.0.0\",\"1.1.0\"]}");
        assertThat(CniShim.run(env("CNI_COMMAND", "VERSION"), "").ok().json().get("cniVersion").asText()).isEqualTo("1.1.0");

        // The default socket is the agent's default.
        assertThat(CniShim.run(call("DEL", "abc", null, null), "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"shunt-cni\"}")
                .details()).startsWith("connect(" + AgentConfig.DEFAULT_SOCKET + "): ");
    }

    @Test
    void anAgentThatAcceptsButNeverAnswersTimesOutAfterTimeoutSeconds() throws Exception {
        Path socket = dir.resolve("silent.sock");
        try (ServerSocketChannel silent = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            silent.bind(UnixDomainSocketAddress.of(socket)); // never accepts: the kernel queues the connection
            CniShim.Run run = CniShim.run(call("DEL", "abc", null, null), config("1.1.0", socket, ",\"timeoutSeconds\":1"));
            assertThat(run.code()).isEqualTo(11);
            assertThat(run.json().get("msg").asText()).isEqualTo("the shunt agent did not answer in time");
            assertThat(run.details()).isEqualTo(socket + ": no answer within 1 s (\"timeoutSeconds\" in the network configuration)");
            // Bounded by the documented timeouts (2 s to connect, here 1 s to answer), not the default 30 s.
            assertThat(run.millis()).isLessThan(10_000);
        }
        CniShim.Run bad = CniShim.run(call("DEL", "abc", null, null), config("1.1.0", socket, ",\"timeoutSeconds\":601"));
        assertThat(bad.code()).isEqualTo(7);
        assertThat(bad.details()).isEqualTo("\"timeoutSeconds\" must be a whole number from 1 to 600");
    }

    @Test
    void theShimSendsTheEnvironmentAndStdinByteForByteAndRejectsAnswersThatAreNotCni() throws Exception {
        Path socket = dir.resolve("fake.sock");
        byte[] odd = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"socket\":\"SOCK\",\"x\":\"é \\\" \\\\ \\n\"}"
                .replace("SOCK", socket.toString()).getBytes(StandardCharsets.UTF_8);
        try (ServerSocketChannel fake = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            fake.bind(UnixDomainSocketAddress.of(socket));
            CompletableFuture<String> request = answerOnce(fake, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
            Map<String, String> env = call("ADD", "abc", "/run/netns/x", "K8S_POD_NAME=a;X=\"quoted\" tab\tnewline\nend é");
            env.put("UNRELATED", "not relayed");
            CniShim.Run run = CniShim.run(env, odd).ok();
            assertThat(run.out()).isEqualTo("{}");
            String http = request.get(10, TimeUnit.SECONDS);
            assertThat(http).startsWith("POST /v1/cni HTTP/1.1\r\n");
            JsonNode body = JSON.readTree(http.substring(http.indexOf("\r\n\r\n") + 4));
            JsonNode sentEnv = body.get("env");
            assertThat(sentEnv.size()).isEqualTo(6);
            assertThat(utf8(sentEnv.get("CNI_ARGS").asText())).isEqualTo(env.get("CNI_ARGS"));
            assertThat(sentEnv.get("CNI_NETNS").asText()).isEqualTo("/run/netns/x");
            assertThat(body.get("config").asText().getBytes(StandardCharsets.ISO_8859_1)).isEqualTo(odd);

            answerOnce(fake, "HTTP/1.1 404 Not Found\r\nContent-Length: 29\r\n\r\n{\"error\":\"no such API: POST\"}");
            CniShim.Run old = CniShim.run(call("DEL", "abc", null, null), odd);
            assertThat(old.code()).isEqualTo(120);
            assertThat(old.details()).isEqualTo(socket + ": HTTP 404: {\"error\":\"no such API: POST\"}");
            answerOnce(fake, "SSH-2.0-OpenSSH\r\n");
            assertThat(CniShim.run(call("DEL", "abc", null, null), odd).code()).isEqualTo(120);
            answerOnce(fake, "HTTP/1.1 409 Conflict\r\n\r\n{\"cniVersion\":\"1.0.0\",\"code\":110,\"msg\":\"attachment exists\"}");
            CniShim.Run passed = CniShim.run(call("DEL", "abc", null, null), odd);
            assertThat(passed.code()).isEqualTo(110);
            assertThat(passed.out()).isEqualTo("{\"cniVersion\":\"1.0.0\",\"code\":110,\"msg\":\"attachment exists\"}");
        }
    }

    private static String utf8(String oneCharPerByte) {
        return new String(oneCharPerByte.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
    }

    /** Accepts one connection, reads the request (up to its Content-Length), writes {@code answer}, closes; yields the request. */
    private static CompletableFuture<String> answerOnce(ServerSocketChannel server, String answer) {
        CompletableFuture<String> request = new CompletableFuture<>();
        Thread.ofPlatform().daemon().start(() -> {
            try (SocketChannel c = server.accept()) {
                ByteArrayOutputStream in = new ByteArrayOutputStream();
                ByteBuffer buf = ByteBuffer.allocate(65536);
                while (!complete(in.toString(StandardCharsets.ISO_8859_1)) && c.read(buf) > 0) {
                    in.write(buf.array(), 0, buf.position());
                    buf.clear();
                }
                c.write(ByteBuffer.wrap(answer.getBytes(StandardCharsets.UTF_8)));
                request.complete(in.toString(StandardCharsets.ISO_8859_1));
            } catch (IOException e) {
                request.completeExceptionally(e);
            }
        });
        return request;
    }

    private static boolean complete(String http) {
        int end = http.indexOf("\r\n\r\n");
        if (end < 0) {
            return false;
        }
        int at = http.indexOf("Content-Length: ");
        int length = Integer.parseInt(http.substring(at + 16, http.indexOf("\r\n", at)));
        return http.length() >= end + 4 + length;
    }

    @Test
    void anAddThatFailsHalfWayLeavesNothingBehindWithEitherIpam() throws Exception {
        String node = "t-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        AgentConfig config = new AgentConfig(node, Cidr.parse("10.244.14.0/24"), dir.resolve("state"), dir.resolve("s.sock"), 1450);
        Path hostLocal = dir.resolve("host-local");
        String delegated = ",\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"" + hostLocal
                + "\",\"ranges\":[[{\"subnet\":\"10.244.14.0/24\",\"rangeStart\":\"10.244.14.200\",\"rangeEnd\":\"10.244.14.209\"}]]}";
        try (ScratchNamespace nodeNs = ScratchNamespace.create("node"); ScratchNamespace ctr = ScratchNamespace.create("ctr")) {
            Agent agent = nodeNs.namespace().call(() -> Agent.start(config));
            String netns = ctr.namespace().path().toString();
            String id = "half0123456789";
            // IgnoreUnknown=1, as runtimes send it: the reference plugins refuse CNI_ARGS they do not know otherwise.
            Map<String, String> add = call("ADD", id, netns, "IgnoreUnknown=1;K8S_POD_NAME=half;SHUNT_LABELS=app:web");
            try {
                // The failure injected at the last step of the ADD: the pod's record cannot be written
                // (a directory sits where its file goes), after the veth, address, routes and fast-path port.
                Path record = config.stateDir().resolve("pods").resolve("half.json");
                Files.createDirectories(record);
                String linksBefore = links(nodeNs.name());
                for (String ipam : List.of("", delegated)) {
                    CniShim.Run failed = CniShim.run(add, config("1.0.0", config.socket(), ipam));
                    assertThat(failed.code()).as(failed.out()).isEqualTo(999);
                    assertThat(failed.details()).contains("half.json");
                    assertNothingLeft(agent, nodeNs, ctr, linksBefore, hostLocal);
                }
                // A delegated IPAM that cannot speak the configuration's version: its own error, nothing made.
                CniShim.Run tooNew = CniShim.run(add, config("1.1.0", config.socket(), delegated));
                assertThat(tooNew.code()).isEqualTo(1);
                assertThat(tooNew.json().get("msg").asText()).isEqualTo("incompatible CNI versions");
                assertThat(tooNew.details()).startsWith("host-local ADD: ");
                assertNothingLeft(agent, nodeNs, ctr, linksBefore, hostLocal);

                // Without the injected failure the same ADD works, with the delegated plugin's address.
                Files.delete(record);
                CniShim.Run ok = CniShim.run(add, config("1.0.0", config.socket(), delegated)).ok();
                PodRecord pod = agent.pods().get("half");
                assertThat(pod.ip()).as("from host-local's range").matches("10\\.244\\.14\\.20[0-9]");
                assertThat(ok.json().get("ips").get(0).get("address").asText()).isEqualTo(pod.ip() + "/32");
                assertThat(Witness.ip(ctr.name(), "addr", "show", "dev", "eth0").toString()).contains("\"local\":\"" + pod.ip() + "\"");
                assertThat(Files.readString(hostLocal.resolve("shunt-test").resolve(pod.ip()))).startsWith(id);
                assertThat(ipamOwners(config)).as("Shunt's IPAM is not used").isEmpty();
                CniShim.run(call("CHECK", id, netns, "IgnoreUnknown=1;K8S_POD_NAME=half"), config("1.0.0", config.socket(), delegated
                        + ",\"prevResult\":" + ok.out())).ok();

                // A delegated address that a Shunt pod holds is refused, and given back.
                PodRecord web = agent.addPod("web-1", Map.of());
                String clash = delegated.replace("10.244.14.200", web.ip()).replace("10.244.14.209", web.ip());
                try (ScratchNamespace other = ScratchNamespace.create("ctr")) {
                    CniShim.Run taken = CniShim.run(call("ADD", "other1", other.namespace().path().toString(), null),
                            config("1.0.0", config.socket(), clash));
                    assertThat(taken.code()).isEqualTo(110);
                    assertThat(taken.details()).isEqualTo("host-local gave " + web.ip() + ", the address of pod web-1 "
                            + "(give it a range Shunt's IPAM does not serve)");
                    assertThat(hostLocal.resolve("shunt-test").resolve(web.ip())).doesNotExist();
                }

                // GC of an attachment whose IPAM (host-local 1.1.1) knows no GC: a DEL per attachment releases it.
                CniShim.run(env("CNI_COMMAND", "GC", "CNI_PATH", "/usr/lib/cni"),
                        config("1.1.0", config.socket(), delegated + ",\"cni.dev/valid-attachments\":[]")).ok();
                assertThat(agent.pods()).containsOnlyKeys("web-1");
                assertThat(hostLocal.resolve("shunt-test").resolve(pod.ip())).doesNotExist();
                assertThat(links(ctr.name())).doesNotContain("eth0");
                assertThat(ipamOwners(config)).containsExactly("web-1/eth0");
            } finally {
                for (String pod : agent.pods().keySet()) {
                    agent.deletePod(pod);
                }
                agent.close();
            }
        }
    }

    @Test
    void whatAnAddCutShortLeftIsRemovedByItsDelAndByGc() throws Exception {
        String node = "t-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        AgentConfig config = new AgentConfig(node, Cidr.parse("10.244.16.0/24"), dir.resolve("state"), dir.resolve("s.sock"), 1450);
        String store = config.stateDir().resolve("ipam").toString();
        try (ScratchNamespace nodeNs = ScratchNamespace.create("node"); ScratchNamespace ctr = ScratchNamespace.create("ctr")) {
            Agent agent = nodeNs.namespace().call(() -> Agent.start(config));
            try {
                // As a kill -9 between the veth and the pod record leaves them: a veth, an address, no pod.
                for (String pod : List.of("orphan-1", "orphan-2")) {
                    String veth = agent.podNetwork().hostVethOf(pod);
                    Witness.run(List.of("ip", "-n", nodeNs.name(), "link", "add", veth, "type", "veth", "peer", "name", pod, "netns", ctr.name()));
                    assertThat(shunt("ipam", "allocate", "--store", store, "--pool", "10.244.16.0/24", "--owner", "id-" + pod, "--ifname", "eth0")
                            .exit()).isZero();
                }
                PodRecord kept = agent.addPod("kept", Map.of());
                assertThat(links(ctr.name())).isEqualTo("[lo, orphan-1, orphan-2]");

                CniShim.run(call("DEL", "id-orphan-1", null, "IgnoreUnknown=1;K8S_POD_NAME=orphan-1"), config("1.0.0", config.socket(), "")).ok();
                assertThat(links(nodeNs.name())).doesNotContain(agent.podNetwork().hostVethOf("orphan-1"))
                        .contains(agent.podNetwork().hostVethOf("orphan-2"), kept.hostVeth());
                assertThat(links(ctr.name())).isEqualTo("[lo, orphan-2]");
                assertThat(ipamOwners(config)).containsExactlyInAnyOrder("id-orphan-2/eth0", "kept/eth0");

                CniShim.run(env("CNI_COMMAND", "GC", "CNI_PATH", "/usr/lib/cni"), config("1.1.0", config.socket(), "")).ok();
                assertThat(links(nodeNs.name())).doesNotContain(agent.podNetwork().hostVethOf("orphan-2")).contains(kept.hostVeth());
                assertThat(links(ctr.name())).isEqualTo("[lo]");
                assertThat(ipamOwners(config)).containsExactly("kept/eth0");
                assertThat(agent.pods()).containsOnlyKeys("kept");
            } finally {
                for (String pod : agent.pods().keySet()) {
                    agent.deletePod(pod);
                }
                agent.close();
            }
        }
    }

    private void assertNothingLeft(Agent agent, ScratchNamespace nodeNs, ScratchNamespace ctr, String linksBefore, Path hostLocal)
            throws IOException {
        assertThat(agent.pods()).isEmpty();
        assertThat(agent.fastPath().portIdOf("half")).isNegative();
        assertThat(links(nodeNs.name())).as("the node's links").isEqualTo(linksBefore);
        assertThat(links(ctr.name())).as("the container's links").isEqualTo("[lo]");
        assertThat(Witness.ip(ctr.name(), "-4", "addr").toString()).doesNotContain("10.244.");
        assertThat(Witness.ip(ctr.name(), "route").size()).as("routes in the container").isZero();
        assertThat(ipamOwners(agent.config())).isEmpty();
        if (Files.isDirectory(hostLocal.resolve("shunt-test"))) {
            try (Stream<Path> files = Files.list(hostLocal.resolve("shunt-test"))) {
                assertThat(files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("10.")).toList())
                        .as("addresses host-local holds").isEmpty();
            }
        }
    }

    private static String links(String ns) {
        List<String> names = new ArrayList<>();
        Witness.ip(ns, "link").forEach(l -> names.add(l.get("ifname").asText()));
        return names.stream().sorted().toList().toString();
    }

    private static List<String> ipamOwners(AgentConfig config) throws IOException {
        Result show = shunt("ipam", "show", "--json", "--store", config.stateDir().resolve("ipam").toString());
        assertThat(show.exit()).as(show.err()).isZero();
        List<String> out = new ArrayList<>();
        for (JsonNode pool : JSON.readTree(show.out()).get("pools")) {
            for (JsonNode a : pool.get("allocations")) {
                out.add(a.get("owner").asText() + "/" + a.get("ifname").asText());
            }
        }
        return out;
    }

    @Test
    void malformedCallsThroughTheBinaryAlwaysEndInOneJsonAnswer() throws Exception {
        String node = "t-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        AgentConfig config = new AgentConfig(node, Cidr.parse("10.244.15.0/24"), dir.resolve("state"), dir.resolve("s.sock"), 1450);
        String[] commands = {"ADD", "DEL", "CHECK", "STATUS", "GC", "VERSION", "", "del"};
        List<byte[]> seeds = List.of(
                config("1.1.0", config.socket(), "").getBytes(StandardCharsets.UTF_8),
                config("0.4.0", config.socket(), ",\"args\":{\"cni\":{\"labels\":[{\"key\":\"a\",\"value\":\"b\"}]}}").getBytes(StandardCharsets.UTF_8),
                config("1.1.0", config.socket(), ",\"cni.dev/valid-attachments\":[{\"containerID\":\"x\",\"ifname\":\"eth0\"}]")
                        .getBytes(StandardCharsets.UTF_8));
        try (ScratchNamespace nodeNs = ScratchNamespace.create("node")) {
            Agent agent = nodeNs.namespace().call(() -> Agent.start(config));
            try {
                Random random = new Random(0x5C1);
                int ok = 0;
                java.util.Set<Integer> codes = new java.util.TreeSet<>();
                for (int i = 0; i < 300; i++) {
                    byte[] stdin = seeds.get(random.nextInt(seeds.size())).clone();
                    int kind = random.nextInt(6); // 0, 4, 5: unchanged
                    if (kind == 1) {
                        stdin[random.nextInt(stdin.length)] = (byte) random.nextInt(256);
                    } else if (kind == 2) {
                        stdin = java.util.Arrays.copyOf(stdin, random.nextInt(stdin.length));
                    } else if (kind == 3) {
                        stdin = new String(stdin, StandardCharsets.ISO_8859_1).replace("\"shunt-test\"", random.nextBoolean() ? "7" : "\"\\u00ff\\\"\"")
                                .getBytes(StandardCharsets.ISO_8859_1);
                    }
                    // ADD and CHECK name a namespace that is not there; no delegated plugin is ever found.
                    Map<String, String> env = env("CNI_COMMAND", commands[random.nextInt(commands.length)], "CNI_CONTAINERID",
                            random.nextInt(6) == 0 ? "-bad" : "c" + i, "CNI_NETNS", "/nonexistent/" + i, "CNI_IFNAME",
                            random.nextInt(8) == 0 ? "this-is-too-long0" : "eth0", "CNI_PATH", "/nonexistent",
                            "CNI_ARGS", random.nextInt(8) == 0 ? "K8S_POD_NAME" : "K8S_POD_NAME=p" + i);
                    CniShim.Run run = CniShim.run(env, stdin);
                    String what = "call " + i + " " + env + " " + new String(stdin, StandardCharsets.ISO_8859_1) + " -> " + run.out();
                    assertThat(run.exit()).as(what).isIn(0, 1);
                    assertThat(run.err()).as(what).doesNotContain("Segmentation", "core dumped");
                    if (run.exit() == 0) {
                        ok++;
                        assertThat(run.out().isEmpty() || run.json().isObject()).as(what).isTrue();
                    } else {
                        int code = run.code();
                        // 11: a mutation hit the socket path.
                        assertThat(code).as(what).isIn(1, 4, 6, 7, 11, 110, 111, 112);
                        codes.add(code);
                    }
                }
                System.out.println("shunt-cni fuzz: 300 calls, " + ok + " succeeded, error codes " + codes);
                assertThat(ok).isGreaterThan(20);
                assertThat(codes).contains(1, 4, 6, 7);
                assertThat(agent.pods()).isEmpty();
            } finally {
                agent.close();
            }
        }
    }
}
