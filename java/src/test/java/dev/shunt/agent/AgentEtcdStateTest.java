package dev.shunt.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.cli.CliTest.Result;
import dev.shunt.lab.LabEtcd;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.netns.NetworkNamespace;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static dev.shunt.cli.CliTest.shunt;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two agents (processes of their own in node namespaces on an underlay bridge, etcd on the bridge's
 * namespace) share Services and pods through etcd: a Service applied on A is on B with the same
 * ClusterIP, and a pod on B is its backend for clients on both nodes (real TCP connections); the
 * same file applied on both nodes at once ends as one Service with one ClusterIP (etcdctl the
 * witness); a put's revision is reached by {@code appliedRevision}; A, stopped and restarted,
 * resumes its watch from the revision it saved and applies exactly the changes made while it was
 * down, adopts its pod and removes a stale key of its own; with etcd stopped an apply is refused
 * naming etcd and nothing changes, while established Service traffic keeps working.
 */
class AgentEtcdStateTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ETCD_IP = "198.18.4.254";

    @TempDir
    Path dir;

    private final List<Process> processes = new ArrayList<>();

    private static String service(String name, String app) {
        return """
                apiVersion: v1
                kind: Service
                metadata: {name: %s}
                spec:
                  selector: {app: %s}
                  ports:
                  - port: 80
                    targetPort: 8080
                """.formatted(name, app);
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void servicesAndPodsAreSharedThroughEtcdAndSurviveARestart() throws Exception {
        String suffix = Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        String prefix = "/s-" + suffix + "/";
        String a = "sa-" + suffix;
        String b = "sb-" + suffix;
        String[] underlay = {"198.18.4.11", "198.18.4.12"};
        List<String> podNamespaces = List.of("shunt-" + a + "-ca", "shunt-" + b + "-wb", "shunt-" + b + "-cb");
        try (ScratchNamespace br = ScratchNamespace.create("sbr"); ScratchNamespace na = ScratchNamespace.create("sa");
             ScratchNamespace nb = ScratchNamespace.create("sb")) {
            ScratchNamespace[] nodes = {na, nb};
            TestUnderlay.build(br, ETCD_IP, nodes, underlay, "shunt-s" + suffix + "-");
            try (LabEtcd etcd = LabEtcd.startOnUnderlay(br, ETCD_IP, Files.createDirectories(dir.resolve("etcd")))) {
                try {
                    Path sockA = dir.resolve("a.sock");
                    Path sockB = dir.resolve("b.sock");
                    Process agentA = startAgent(na, a, underlay[0], etcd.endpoint(), prefix, sockA);
                    startAgent(nb, b, underlay[1], etcd.endpoint(), prefix, sockB);
                    awaitStatus(sockA, st -> st.path("overlay").path("peers").size() == 1, "A knows B");
                    awaitStatus(sockB, st -> st.path("overlay").path("peers").size() == 1, "B knows A");

                    String wb = addPod(sockB, "wb", "app=web");
                    String cb = addPod(sockB, "cb", "role=client");
                    String ca = addPod(sockA, "ca", "role=client");
                    assertThat(etcd.etcdctl("get", prefix + "pods/" + b + "/wb", "--print-value-only"))
                            .as("B's pod in etcd").contains("\"ip\":\"" + wb + "\"", "\"node\":\"" + b + "\"", "\"app\":\"web\"");
                    awaitStatus(sockA, st -> st.path("etcd").path("remotePods").asInt() == 2, "A has B's two pods");

                    // A Service applied on A: in etcd with its claim, on B with the same ClusterIP.
                    Result applied = apply(sockA, "web.yaml", service("web", "web"));
                    assertThat(applied.exit()).as(applied.err()).isZero();
                    assertThat(applied.out()).isEqualTo("service/web created\n");
                    String clusterIp = clusterIp(sockA, "web");
                    assertThat(etcd.etcdctl("get", prefix + "services/web", "--print-value-only"))
                            .contains("\"clusterIp\":\"" + clusterIp + "\"");
                    assertThat(etcd.etcdctl("get", prefix + "clusterips/" + clusterIp, "--print-value-only").strip()).isEqualTo("web");
                    awaitTrue(() -> clusterIp.equals(clusterIpOrNull(sockB, "web")), "B has web with A's ClusterIP " + clusterIp);

                    // Real connections to the ClusterIP: from B's client to B's pod, and from A's client to B's pod (an endpoint on A).
                    assertThat(tcpRoundTrip("shunt-" + b + "-cb", "shunt-" + b + "-wb", wb, clusterIp)).isEqualTo("hello from " + cb);
                    assertThat(tcpRoundTrip("shunt-" + a + "-ca", "shunt-" + b + "-wb", wb, clusterIp)).isEqualTo("hello from " + ca);

                    // appliedRevision reaches the revision of a put, also of a key no table holds.
                    long put = JSON.readTree(etcd.etcdctl("put", prefix + "marker", "x", "-w", "json")).path("header").path("revision").asLong();
                    for (Path sock : List.of(sockA, sockB)) {
                        awaitStatus(sock, st -> st.path("etcd").path("appliedRevision").asLong() >= put, "applied revision " + put);
                    }

                    // The same file on both nodes at once: one Service, one ClusterIP, one "created".
                    for (int round = 0; round < 3; round++) {
                        String name = "twin" + round;
                        String text = service(name, "web");
                        CyclicBarrier start = new CyclicBarrier(2);
                        // Two threads of their own: the common pool may have one on a 2-core machine.
                        java.util.concurrent.ExecutorService both = java.util.concurrent.Executors.newFixedThreadPool(2);
                        Result ra;
                        Result rb;
                        try {
                            CompletableFuture<Result> onA = CompletableFuture.supplyAsync(
                                    () -> awaitThen(start, () -> apply(sockA, name + "-a.yaml", text)), both);
                            CompletableFuture<Result> onB = CompletableFuture.supplyAsync(
                                    () -> awaitThen(start, () -> apply(sockB, name + "-b.yaml", text)), both);
                            ra = onA.get(30, TimeUnit.SECONDS);
                            rb = onB.get(30, TimeUnit.SECONDS);
                        } finally {
                            both.shutdownNow();
                        }
                        assertThat(ra.exit()).as(ra.err()).isZero();
                        assertThat(rb.exit()).as(rb.err()).isZero();
                        assertThat(List.of(ra.out(), rb.out())).containsExactlyInAnyOrder("service/" + name + " created\n",
                                "service/" + name + " unchanged\n");
                        String claims = etcd.etcdctl("get", "--prefix", prefix + "clusterips/");
                        assertThat(claims.lines().filter(l -> l.equals(name)).count()).as("one claim for " + name + ":\n" + claims).isEqualTo(1);
                        String ip = clusterIp(sockA, name);
                        assertThat(claims).contains(prefix + "clusterips/" + ip + "\n" + name);
                        assertThat(etcd.etcdctl("get", prefix + "services/" + name, "--print-value-only")).contains("\"clusterIp\":\"" + ip + "\"");
                        awaitTrue(() -> ip.equals(clusterIpOrNull(sockB, name)), "B has " + name + " at " + ip);
                    }

                    long races = 0;
                    for (String node : List.of(a, b)) {
                        races += Files.readString(log(node)).lines().filter(l -> l.contains("changed the same Services first")).count();
                    }
                    System.out.printf("AgentEtcdStateTest: 3 concurrent applies of one file, %d lost transaction(s) planned again%n", races);

                    // A stops; while it is down B applies a Service and deletes one, and a stale key of A's appears.
                    long settled = JSON.readTree(etcd.etcdctl("put", prefix + "marker", "z", "-w", "json")).path("header").path("revision").asLong();
                    JsonNode before = awaitStatus(sockA, st -> st.path("etcd").path("appliedRevision").asLong() >= settled,
                            "A has applied everything before it stops");
                    agentA.destroy();
                    assertThat(agentA.waitFor(20, TimeUnit.SECONDS)).isTrue();
                    JsonNode copy = JSON.readTree(dir.resolve("state-" + a).resolve("etcd-state.json").toFile());
                    long saved = copy.path("revision").asLong();
                    assertThat(copy.path("services")).as("the saved copy: web and the three twins").hasSize(4);
                    assertThat(copy.path("pods")).as("the saved copy: B's pods").hasSize(2);
                    assertThat(saved).isGreaterThanOrEqualTo(before.path("etcd").path("appliedRevision").asLong());
                    Result whileDown = apply(sockB, "down.yaml", service("down", "web"));
                    assertThat(whileDown.exit()).as(whileDown.err()).isZero();
                    Result deleted = shunt("delete", "-f", write("twin0-b.yaml", service("twin0", "web")).toString(), "--socket", sockB.toString());
                    assertThat(deleted.exit()).as(deleted.err()).isZero();
                    etcd.etcdctl("put", prefix + "pods/" + a + "/ghost", "{\"name\":\"ghost\",\"node\":\"" + a + "\",\"ip\":\"10.244.200.9\"}");
                    long last = JSON.readTree(etcd.etcdctl("put", prefix + "marker", "y", "-w", "json")).path("header").path("revision").asLong();
                    String downIp = clusterIp(sockB, "down");

                    agentA = startAgent(na, a, underlay[0], etcd.endpoint(), prefix, sockA);
                    JsonNode after = awaitStatus(sockA, st -> st.path("etcd").path("appliedRevision").asLong() >= last, "A catches up to " + last);
                    assertThat(after.path("etcd").path("resumedFromRevision").asLong()).as("resumed from the saved revision").isEqualTo(saved);
                    assertThat(after.path("etcd").path("changesApplied").asLong())
                            .as("exactly the two Service changes made while A was down (its own pod keys and subnet are its own)")
                            .isEqualTo(2);
                    assertThat(after.path("etcd").path("relists").asInt()).isZero();
                    assertThat(clusterIp(sockA, "down")).isEqualTo(downIp);
                    assertThat(clusterIpOrNull(sockA, "twin0")).isNull();
                    assertThat(after.path("pods").asInt()).as("A's pod adopted").isEqualTo(1);
                    awaitTrue(() -> etcd.etcdctl("get", "--prefix", prefix + "pods/" + a + "/", "--keys-only").strip()
                            .equals(prefix + "pods/" + a + "/ca"), "A's stale pod key removed, its own kept");
                    assertThat(shunt("status", "--socket", sockA.toString()).out())
                            .containsPattern("state   4 Services, 2 pods of other nodes; applied revision [0-9]+ \\(resumed after " + saved + "\\)");
                    assertThat(tcpRoundTrip("shunt-" + a + "-ca", "shunt-" + b + "-wb", wb, clusterIp)).isEqualTo("hello from " + ca);

                    // A pod that goes on B leaves A's endpoints (etcd's delete reaches A).
                    String wb2 = addPod(sockB, "wb2", "app=other");
                    awaitStatus(sockA, st -> st.path("etcd").path("remotePods").asInt() == 3, "A has wb2");
                    assertThat(shunt("pod", "del", "wb2", "--socket", sockB.toString()).exit()).isZero();
                    awaitStatus(sockA, st -> st.path("etcd").path("remotePods").asInt() == 2, "A drops wb2 (" + wb2 + ")");

                    // A delete on one node removes the Service everywhere, its claim with it.
                    Result gone = shunt("delete", "-f", write("down-a.yaml", service("down", "web")).toString(), "--socket", sockA.toString());
                    assertThat(gone.exit()).as(gone.err()).isZero();
                    assertThat(gone.out()).isEqualTo("service/down deleted\n");
                    assertThat(clusterIpOrNull(sockA, "down")).isNull();
                    awaitTrue(() -> clusterIpOrNull(sockB, "down") == null, "B drops Service down");
                    assertThat(etcd.etcdctl("get", "--prefix", prefix + "clusterips/")).doesNotContain(downIp);

                    // etcd stops: apply and delete are refused naming etcd, nothing changes, Service traffic goes on.
                    etcd.kill();
                    awaitStatus(sockA, st -> !st.path("etcd").path("connected").asBoolean(true), "A notices etcd is gone");
                    Result refused = apply(sockA, "late.yaml", service("late", "web"));
                    assertThat(refused.exit()).isNotZero();
                    assertThat(refused.err()).contains("nothing applied", "etcd unreachable at " + etcd.endpoint());
                    Result notDeleted = shunt("delete", "-f", write("web.yaml", service("web", "web")).toString(), "--socket", sockA.toString());
                    assertThat(notDeleted.exit()).isNotZero();
                    assertThat(notDeleted.err()).contains("nothing deleted", "etcd unreachable");
                    assertThat(clusterIpOrNull(sockA, "late")).isNull();
                    assertThat(clusterIp(sockA, "web")).isEqualTo(clusterIp);
                    assertThat(tcpRoundTrip("shunt-" + a + "-ca", "shunt-" + b + "-wb", wb, clusterIp)).as("forwarding without etcd")
                            .isEqualTo("hello from " + ca);
                    etcd.startOn(LabEtcd.CLIENT_PORT);
                    awaitStatus(sockA, st -> st.path("etcd").path("connected").asBoolean(), "A reconnects");
                    for (String pod : List.of("ca")) {
                        shunt("pod", "del", pod, "--socket", sockA.toString());
                    }
                    for (String pod : List.of("wb", "cb")) {
                        shunt("pod", "del", pod, "--socket", sockB.toString());
                    }
                } finally {
                    stopAll();
                    for (String ns : podNamespaces) {
                        if (NetworkNamespace.exists(ns)) {
                            NetworkNamespace.named(ns).delete();
                        }
                    }
                    for (String name : List.of(a, b)) {
                        Files.deleteIfExists(Path.of("/dev/shm", "shunt-" + name + "-conntrack"));
                    }
                }
            }
        }
    }

    private interface Call<T> {
        T call() throws Exception;
    }

    private static <T> T awaitThen(CyclicBarrier barrier, Call<T> call) {
        try {
            barrier.await(10, TimeUnit.SECONDS);
            return call.call();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private Path write(String name, String text) throws Exception {
        return Files.writeString(dir.resolve(name), text);
    }

    private Result apply(Path sock, String name, String text) throws Exception {
        return shunt("apply", "-f", write(name, text).toString(), "--socket", sock.toString());
    }

    private static String clusterIp(Path sock, String service) throws Exception {
        String ip = clusterIpOrNull(sock, service);
        assertThat(ip).as("Service " + service + " on " + sock).isNotNull();
        return ip;
    }

    private static String clusterIpOrNull(Path sock, String service) throws Exception {
        Result r = shunt("get", "services", "-o", "json", "--socket", sock.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        for (JsonNode item : JSON.readTree(r.out()).path("items")) {
            if (item.path("metadata").path("name").asText().equals(service)) {
                return item.path("spec").path("clusterIP").asText();
            }
        }
        return null;
    }

    /** A server on 8080 in {@code serverNs} answers a client in {@code clientNs} connecting to {@code clusterIp}:80. */
    private static String tcpRoundTrip(String clientNs, String serverNs, String serverIp, String clusterIp) throws Exception {
        return PodTcp.roundTrip(clientNs, serverNs, serverIp, 8080, clusterIp, 80);
    }

    private Path log(String node) {
        return dir.resolve(node + ".log");
    }

    /** Starts an agent (lease TTL 30 s, so that a restart keeps the subnet) and waits (60 s at most) until its API answers. */
    private Process startAgent(ScratchNamespace ns, String node, String underlayIp, String etcd, String prefix, Path sock)
            throws Exception {
        List<String> command = new ArrayList<>(List.of("nsenter", "--net=/run/netns/" + ns.name(),
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:TieredStopAtLevel=1",
                "--sun-misc-unsafe-memory-access=allow",
                "-cp", System.getProperty("java.class.path"), "dev.shunt.cli.Main", "agent", "--node", node,
                "--underlay-ip", underlayIp, "--etcd", etcd, "--etcd-prefix", prefix, "--lease-ttl", "30",
                "--state", dir.resolve("state-" + node).toString(), "--socket", sock.toString()));
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log(node).toFile())).start();
        processes.add(p);
        // Generous: a liveness bound on a loaded 2-core machine (etcd's first commits, a JVM start), not a timing.
        return AgentStatusPoll.awaitApi(p, node, sock, 60, log(node));
    }

    private static JsonNode status(Path sock) throws Exception {
        Result r = shunt("status", "--json", "--socket", sock.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        return JSON.readTree(r.out());
    }

    private static JsonNode awaitStatus(Path sock, Predicate<JsonNode> ok, String what) throws Exception {
        return AgentStatusPoll.await(sock, 30, ok, what);
    }

    private static void awaitTrue(Call<Boolean> ok, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (ok.call()) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("not within 30 s: " + what);
    }

    private static String addPod(Path sock, String name, String label) {
        Result r = shunt("pod", "add", name, "--label", label, "--socket", sock.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        return r.out().trim();
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
