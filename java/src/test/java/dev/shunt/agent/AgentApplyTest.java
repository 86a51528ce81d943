package dev.shunt.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.cli.CliTest.Result;
import dev.shunt.cli.Main;
import dev.shunt.ipam.Cidr;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import dev.shunt.netns.NetworkNamespace;
import dev.shunt.state.ClusterState;
import dev.shunt.state.Pod;
import dev.shunt.state.StateChange;
import dev.shunt.state.StateListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

import static dev.shunt.cli.CliTest.shunt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code shunt apply -f}, {@code delete -f} and {@code get} against a real agent in a throwaway
 * node namespace: pods made from a manifest, a Service from a manifest reached through its ClusterIP
 * by real sockets, applied again unchanged, changed in place, refused as a whole when the file is
 * wrong, and deleted.
 */
class AgentApplyTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private final List<AutoCloseable> closeables = new ArrayList<>();

    static final String PODS = """
            # two web pods and a client on this node, one pod recorded on another node
            apiVersion: shunt.dev/v1
            kind: Pod
            metadata:
              name: web-1
              labels: {app: web}
            ---
            apiVersion: shunt.dev/v1
            kind: Pod
            metadata:
              name: web-2
              labels: {app: web}
            ---
            apiVersion: shunt.dev/v1
            kind: Pod
            metadata: {name: client, labels: {role: client}}
            ---
            apiVersion: shunt.dev/v1
            kind: Node
            metadata: {name: n2}
            spec: {podCIDR: 10.244.9.0/24, underlayIP: 198.18.0.2, vtepMAC: "02:5e:00:00:00:02"}
            ---
            apiVersion: shunt.dev/v1
            kind: Pod
            metadata: {name: far, labels: {app: web}}
            spec: {node: n2, ip: 10.244.9.5}
            """;

    static final String WEB = """
            apiVersion: v1
            kind: Service
            metadata:
              name: web
              annotations: {owner: shop}
            spec:
              selector:
                app: web
              ports:
              - name: http
                port: 80
                targetPort: 8080
            """;

    @Test
    void aServiceFromAManifestIsReachableAppliesAgainUnchangedChangesInPlaceAndDeletes() throws Exception {
        String node = "t-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        AgentConfig config = new AgentConfig(node, Cidr.parse("10.244.8.0/24"), dir.resolve("state"), dir.resolve("s.sock"), 1450);
        String sock = config.socket().toString();
        Path file = dir.resolve("web.yaml");
        Files.writeString(file, PODS + "---\n" + WEB);
        try (ScratchNamespace nodeNs = ScratchNamespace.create("node")) {
            Agent agent = nodeNs.namespace().call(() -> Agent.start(config));
            try {
                Replica followed = new Replica();
                AutoCloseable following = agent.desiredState().subscribe(followed);
                closeables.add(following);

                Result apply = shunt("apply", "-f", file.toString(), "--socket", sock);
                assertThat(apply.exit()).as(apply.err()).isZero();
                assertThat(apply.out()).isEqualTo("pod/web-1 created\npod/web-2 created\npod/client created\nnode/n2 created\n"
                        + "pod/far created\nservice/web created\n");
                assertThat(apply.err()).isEmpty();
                // This node's pods are plumbed (their namespaces exist), the other node's only recorded.
                for (String pod : List.of("web-1", "web-2", "client")) {
                    assertThat(Witness.run(List.of("ip", "netns", "list"))).contains("shunt-" + node + "-" + pod);
                }
                assertThat(agent.pods()).containsOnlyKeys("web-1", "web-2", "client");
                assertThat(NetworkNamespace.exists("shunt-" + node + "-far")).isFalse();
                serve(agent.pods().get("web-1"));
                serve(agent.pods().get("web-2"));
                PodRecord client = agent.pods().get("client");

                JsonNode web = only(get(sock, "services"));
                String clusterIp = web.path("spec").path("clusterIP").asText();
                assertThat(clusterIp).isEqualTo("10.96.0.2");
                assertThat(web.path("status").path("endpoints").findValuesAsText("pod")).containsExactly("web-1", "web-2");
                Set<String> seen = new HashSet<>();
                for (int i = 0; i < 20; i++) {
                    try (Connection c = connect(client, clusterIp, 80)) {
                        seen.add(c.backend());
                    }
                }
                assertThat(seen).as("20 connections through the ClusterIP").containsExactlyInAnyOrder("web-1", "web-2");

                // The state followed the apply: this node's pods, the recorded node and pod, the Service.
                ClusterState state = followed.state;
                assertThat(state.nodes()).containsOnlyKeys("n2");
                assertThat(state.pods()).containsOnlyKeys("web-1", "web-2", "client", "far");
                assertThat(state.pods().get("far")).isEqualTo(new Pod("far", "n2", Map.of("app", "web"), "10.244.9.5", false));
                assertThat(state.pods().get("web-1").node()).isEqualTo(node);
                assertThat(state.services().get("web").clusterIp()).isEqualTo(clusterIp);
                long revision = followed.revision;

                // Again: nothing changes, nothing is published.
                String before = get(sock, "services").toString();
                Result again = shunt("apply", "-f", file.toString(), "--socket", sock);
                assertThat(again.out()).isEqualTo("pod/web-1 unchanged\npod/web-2 unchanged\npod/client unchanged\nnode/n2 unchanged\n"
                        + "pod/far unchanged\nservice/web unchanged\n");
                assertThat(get(sock, "services").toString()).isEqualTo(before);
                assertThat(followed.revision).isEqualTo(revision);

                // A changed port: configured in place, same ClusterIP; the old port is refused, the new one serves.
                Files.writeString(file, PODS + "---\n" + WEB.replace("port: 80\n", "port: 81\n"));
                Result changed = shunt("apply", "-f", file.toString(), "--socket", sock);
                assertThat(changed.exit()).as(changed.err()).isZero();
                assertThat(changed.out()).contains("pod/web-1 unchanged\n", "service/web configured\n");
                assertThat(only(get(sock, "services")).path("spec").path("clusterIP").asText()).isEqualTo(clusterIp);
                try (Connection c = connect(client, clusterIp, 81)) {
                    assertThat(c.backend()).startsWith("web-");
                }
                assertThatThrownBy(() -> connect(client, clusterIp, 80)).hasStackTraceContaining("Connection refused");
                assertThat(followed.changes).last().isEqualTo(List.of(new StateChange.Put(StateApi.service(serviceSpec(agent, "web")))));

                // Labels of a pod changed in place: it leaves the Service's endpoints.
                Result relabel = apply(sock, PODS.replace("name: web-2\n  labels: {app: web}", "name: web-2\n  labels: {app: other}"));
                assertThat(relabel.out()).contains("pod/web-2 configured\n");
                assertThat(only(get(sock, "services")).path("status").path("endpoints").findValuesAsText("pod")).containsExactly("web-1");
                for (int i = 0; i < 5; i++) {
                    try (Connection c = connect(client, clusterIp, 81)) {
                        assertThat(c.backend()).isEqualTo("web-1");
                    }
                }
                assertThat(apply(sock, PODS).out()).contains("pod/web-2 configured\n");

                // A file with a problem applies nothing: not its new pod, not its change to web, not its new Service.
                String invalid = PODS + """
                        ---
                        apiVersion: shunt.dev/v1
                        kind: Pod
                        metadata: {name: web-3, labels: {app: web}}
                        ---
                        """ + WEB.replace("port: 80\n", "port: 82\n") + """
                        ---
                        apiVersion: v1
                        kind: Service
                        metadata: {name: api}
                        spec:
                          selector: {app: api}
                          ports:
                          - port: 443
                          - port: 70000
                        """;
                String stateBefore = JSON.writeValueAsString(List.of(get(sock, "services"), get(sock, "pods"), get(sock, "nodes")));
                Result refused = apply(sock, invalid);
                assertThat(refused.exit()).isEqualTo(Main.EXIT_FAILURE);
                assertThat(refused.out()).isEmpty();
                assertThat(refused.err()).isEqualTo("shunt: error: services/api: spec.ports[1].port: 70000 is not a port number (1-65535)\n"
                        + "shunt: error: nothing applied (1 problem in standard input)\n");
                assertThat(JSON.writeValueAsString(List.of(get(sock, "services"), get(sock, "pods"), get(sock, "nodes"))))
                        .isEqualTo(stateBefore);
                assertThat(NetworkNamespace.exists("shunt-" + node + "-web-3")).isFalse();
                // Problems only the agent can see (addresses taken, this node's facts) refuse the file the same way.
                Result conflicts = apply(sock, """
                        apiVersion: v1
                        kind: Service
                        metadata: {name: api}
                        spec: {clusterIP: %s, selector: {app: api}, ports: [{port: 443}]}
                        ---
                        apiVersion: shunt.dev/v1
                        kind: Node
                        metadata: {name: n3}
                        spec: {podCIDR: 10.244.8.0/25, underlayIP: 198.18.0.2}
                        ---
                        apiVersion: shunt.dev/v1
                        kind: Pod
                        metadata: {name: web-1}
                        spec: {node: n2}
                        """.formatted(clusterIp));
                assertThat(conflicts.err()).isEqualTo(
                        "shunt: error: nodes/n3: spec.underlayIP: 198.18.0.2 is node n2's too\n"
                        + "shunt: error: nodes/n3: spec.podCIDR: 10.244.8.0/25 overlaps node " + node + "'s 10.244.8.0/24\n"
                        + "shunt: error: pods/web-1: spec.node: the pod runs on this node (" + node
                        + "); a pod cannot move to another node (delete it first)\n"
                        + "shunt: error: services/api: ClusterIP 10.96.0.2 is taken by Service 'web'\n"
                        + "shunt: error: nothing applied (4 problems in standard input)\n");
                assertThat(get(sock, "services").path("items")).hasSize(1);

                // get: tables, and JSON that applies back unchanged (from standard input).
                assertThat(shunt("get", "svc", "--socket", sock).out()).containsPattern(
                        "web +ClusterIP +10\\.96\\.0\\.2 +81/TCP +app=web +2 ready");
                assertThat(shunt("get", "pods", "--socket", sock).out())
                        .containsPattern("web-1 +" + node + " +10\\.244\\.8\\.\\d+ +Running +app=web")
                        .containsPattern("far +n2 +10\\.244\\.9\\.5 +- +app=web");
                assertThat(shunt("get", "nodes", "--socket", sock).out())
                        .containsPattern("n2 +10\\.244\\.9\\.0/24 +198\\.18\\.0\\.2 +02:5e:00:00:00:02");
                for (String kind : List.of("services", "pods", "nodes")) {
                    Result json = shunt("get", kind, "-o", "json", "--socket", sock);
                    Result back = apply(sock, json.out());
                    assertThat(back.exit()).as(back.err()).isZero();
                    assertThat(back.out().lines()).isNotEmpty().allMatch(l -> l.endsWith(" unchanged"));
                    Result yaml = shunt("get", kind, "-o", "yaml", "--socket", sock);
                    assertThat(apply(sock, yaml.out()).out().lines()).isNotEmpty().allMatch(l -> l.endsWith(" unchanged"));
                }

                // Recorded nodes and pods of other nodes come back after a restart.
                String recorded = JSON.writeValueAsString(List.of(get(sock, "nodes"), get(sock, "pods")));
                closeables.remove(following);
                following.close();
                agent.close();
                agent = nodeNs.namespace().call(() -> Agent.start(config));
                assertThat(JSON.writeValueAsString(List.of(get(sock, "nodes"), get(sock, "pods")))).isEqualTo(recorded);

                // delete -f: what the file names goes; the Service's ClusterIP no longer answers.
                Result delete = shunt("delete", "-f", file.toString(), "--socket", sock);
                assertThat(delete.exit()).as(delete.err()).isZero();
                assertThat(delete.out()).isEqualTo("pod/web-1 deleted\npod/web-2 deleted\npod/client deleted\nnode/n2 deleted\n"
                        + "pod/far deleted\nservice/web deleted\n");
                assertThat(get(sock, "services").path("items")).isEmpty();
                assertThat(get(sock, "pods").path("items")).isEmpty();
                assertThat(get(sock, "nodes").path("items")).isEmpty();
                assertThat(Witness.run(List.of("ip", "netns", "list"))).doesNotContain("shunt-" + node + "-");
                Result twice = shunt("delete", "-f", file.toString(), "--socket", sock);
                assertThat(twice.exit()).isEqualTo(Main.EXIT_FAILURE);
                assertThat(twice.err()).contains("shunt: error: service/web not found\n");
                assertThat(shunt("delete", "-f", file.toString(), "--ignore-not-found", "--socket", sock).exit()).isZero();
            } finally {
                stop(agent);
            }
        }
    }

    @Test
    void applyReadsStandardInputAndReportsWarningsAndUnreadableFiles() throws Exception {
        String node = "t-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        AgentConfig config = new AgentConfig(node, Cidr.parse("10.244.6.0/24"), dir.resolve("state"), dir.resolve("s.sock"), 1450);
        String sock = config.socket().toString();
        try (ScratchNamespace nodeNs = ScratchNamespace.create("node")) {
            Agent agent = nodeNs.namespace().call(() -> Agent.start(config));
            try {
                Result warned = apply(sock, WEB.replace("  selector:", "  externalIPs: [198.18.0.9]\n  selector:")
                        .replace("kind: Service", "kind: Service\nstatus: {}\nextra: 1"));
                assertThat(warned.exit()).as(warned.err()).isZero();
                assertThat(warned.out()).isEqualTo("service/web created\n");
                assertThat(warned.err()).isEqualTo("shunt: warning: services/web: spec.externalIPs: not supported by Shunt, ignored\n"
                        + "shunt: warning: services/web: extra: unknown field, ignored\n");
                assertThat(apply(sock, "apiVersion: v1\nkind: Service\nmetadata: {name: web\n").err())
                        .startsWith("shunt: error: line 4, column 1: not valid YAML: ").endsWith("nothing applied (1 problem in standard input)\n");
                Result missing = shunt("apply", "-f", dir.resolve("nope.yaml").toString(), "--socket", sock);
                assertThat(missing.exit()).isEqualTo(Main.EXIT_FAILURE);
                assertThat(missing.err()).isEqualTo("shunt: error: no file " + dir.resolve("nope.yaml") + "\n");
                Path latin1 = dir.resolve("latin1.yaml");
                Files.write(latin1, "metadata: {name: caf\u00e9}\n".getBytes(StandardCharsets.ISO_8859_1));
                assertThat(shunt("apply", "-f", latin1.toString(), "--socket", sock).err())
                        .isEqualTo("shunt: error: " + latin1 + " is not UTF-8 text\n");
                Path big = dir.resolve("big.yaml");
                Files.writeString(big, "# " + "x".repeat(ApiServer.MAX_BODY) + "\n");
                assertThat(shunt("apply", "-f", big.toString(), "--socket", sock).err()).startsWith("shunt: error: " + big
                        + " is too large for the agent: ");
                assertThat(shunt("get", "deployments", "--socket", sock).err())
                        .startsWith("shunt: unknown kind 'deployments': nodes, pods or services\n");
            } finally {
                stop(agent);
            }
        }
    }

    @Test
    void aStepThatFailsHalfWayIsUndoneWithWhatWentBefore() throws Exception {
        String node = "t-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        AgentConfig config = new AgentConfig(node, Cidr.parse("10.244.5.0/24"), dir.resolve("state"), dir.resolve("s.sock"), 1450);
        String sock = config.socket().toString();
        try (ScratchNamespace nodeNs = ScratchNamespace.create("node")) {
            Agent agent = nodeNs.namespace().call(() -> Agent.start(config));
            try {
                assertThat(apply(sock, WEB).out()).isEqualTo("service/web created\n");
                // The link web-2's plumbing needs is taken: its creation fails after web-1's succeeded.
                String blocked = new PodNetwork(node, config.podCidr(), 1450, null, null).hostVethOf("web-2");
                nodeNs.netlink().links().add(dev.shunt.netlink.VethSpec.of(blocked, "shunt-tblk"));
                String before = JSON.writeValueAsString(List.of(get(sock, "services"), get(sock, "pods"), get(sock, "nodes")));
                Result failed = apply(sock, PODS + "---\n" + WEB.replace("port: 80\n", "port: 81\n"));
                assertThat(failed.exit()).isEqualTo(Main.EXIT_FAILURE);
                assertThat(failed.err()).isEqualTo("shunt: error: pods/web-2: pod 'web-2' exists already (link " + blocked
                        + " is there); nothing applied\n");
                assertThat(JSON.writeValueAsString(List.of(get(sock, "services"), get(sock, "pods"), get(sock, "nodes"))))
                        .isEqualTo(before);
                assertThat(agent.pods()).isEmpty();
                assertThat(Witness.run(List.of("ip", "netns", "list"))).doesNotContain("shunt-" + node + "-");
                // No pod veth is left on the node but the one that blocked web-2.
                assertThat(Witness.run(List.of("ip", "-n", nodeNs.name(), "-o", "link", "show")).lines()
                        .filter(l -> l.contains(": shp"))).singleElement().asString().contains(blocked + "@shunt-tblk");
            } finally {
                stop(agent);
            }
        }
    }

    private static Result apply(String sock, String text) {
        InputStream stdin = System.in;
        System.setIn(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
        try {
            return shunt("apply", "-f", "-", "--socket", sock);
        } finally {
            System.setIn(stdin);
        }
    }

    private static JsonNode get(String sock, String kind) throws IOException {
        Result r = shunt("get", kind, "-o", "json", "--socket", sock);
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode list = JSON.readTree(r.out());
        assertThat(list.path("kind").asText()).isEqualTo("List");
        return list;
    }

    private static JsonNode only(JsonNode list) {
        assertThat(list.path("items")).hasSize(1);
        return list.path("items").get(0);
    }

    private static ServiceSpec serviceSpec(Agent agent, String name) {
        return agent.services().stream().filter(v -> v.name().equals(name))
                .map(v -> new ServiceSpec(v.name(), v.clusterIp(), v.type(), v.ports(), v.selector(), v.sessionAffinityTimeoutSeconds(),
                        v.externalTrafficPolicy(), v.internalTrafficPolicy(), v.createdAtMillis()))
                .findFirst().orElseThrow();
    }

    /** What a follower of the agent's desired state holds: its snapshot with every change applied. */
    static final class Replica implements StateListener {
        ClusterState state;
        long revision;
        final List<List<StateChange>> changes = new ArrayList<>();

        @Override
        public void snapshot(long revision, ClusterState state) {
            this.revision = revision;
            this.state = state;
        }

        @Override
        public void changes(long revision, List<StateChange> changes) {
            assertThat(revision).isGreaterThan(this.revision);
            this.revision = revision;
            this.state = state.apply(changes);
            this.changes.add(changes);
        }
    }

    private void stop(Agent agent) {
        AgentTeardown.stop(closeables, agent);
    }

    private void serve(PodRecord pod) {
        AgentTeardown.serveName(pod, closeables);
    }

    private static Connection connect(PodRecord from, String ip, int port) throws IOException {
        SocketChannel c = NetworkNamespace.named(from.netns()).call(() -> {
            SocketChannel s = SocketChannel.open();
            s.socket().setSoTimeout(3000);
            try {
                s.socket().connect(new InetSocketAddress(ip, port), 3000);
            } catch (IOException e) {
                s.close();
                throw e;
            }
            return s;
        });
        StringBuilder line = new StringBuilder();
        InputStream in = c.socket().getInputStream();
        int b;
        while ((b = in.read()) >= 0 && b != '\n') {
            line.append((char) b);
        }
        return new Connection(c, line.toString());
    }

    private record Connection(SocketChannel channel, String backend) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            channel.close();
        }
    }
}
