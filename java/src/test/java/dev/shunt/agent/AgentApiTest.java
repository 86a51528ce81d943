package dev.shunt.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.cli.CliTest.Result;
import dev.shunt.cli.Main;
import dev.shunt.ipam.Cidr;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.netns.NetworkNamespace;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.ThreadLocalRandom;

import static dev.shunt.cli.CliTest.shunt;
import static org.assertj.core.api.Assertions.assertThat;

class AgentApiTest {
    @TempDir
    Path dir;

    @Test
    void podsThroughTheApiSurviveAnAgentRestart() throws Exception {
        String node = "t-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        Path socket = dir.resolve("shunt.sock");
        AgentConfig config = new AgentConfig(node, Cidr.parse("10.244.8.0/24"), dir.resolve("state"), socket, 1450);
        try (ScratchNamespace nodeNs = ScratchNamespace.create("node")) {
            Agent agent = nodeNs.namespace().call(() -> Agent.start(config));
            String sock = socket.toString();
            try {
                assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-------");
                Result add = shunt("pod", "add", "web-1", "--label", "app=web", "--socket", sock);
                assertThat(add.exit()).as(add.err()).isZero();
                assertThat(add.out()).isEqualTo("10.244.8.1\n");
                assertThat(shunt("pod", "add", "web-2", "--socket", sock).out()).isEqualTo("10.244.8.2\n");

                Result dup = shunt("pod", "add", "web-1", "--socket", sock);
                assertThat(dup.exit()).isEqualTo(Main.EXIT_FAILURE);
                assertThat(dup.err()).isEqualTo("shunt: error: pod 'web-1' exists already\n");
                Result bad = shunt("pod", "add", "Web_1", "--socket", sock);
                assertThat(bad.err()).startsWith("shunt: error: invalid pod name 'Web_1'");

                JsonNode pods = new ObjectMapper().readTree(shunt("pod", "list", "--json", "--socket", sock).out());
                assertThat(pods).hasSize(2);
                assertThat(pods.get(0).get("name").asText()).isEqualTo("web-1");
                assertThat(pods.get(0).get("labels").get("app").asText()).isEqualTo("web");
                assertThat(NetworkNamespace.exists("shunt-" + node + "-web-1")).isTrue();

                // A restart adopts what the previous agent made.
                agent.close();
                agent = nodeNs.namespace().call(() -> Agent.start(config));
                assertThat(agent.pods()).containsKeys("web-1", "web-2");
                assertThat(shunt("pod", "list", "--socket", sock).out()).contains("web-1", "10.244.8.1", "web-2");

                assertThat(shunt("pod", "del", "web-1", "--socket", sock).exit()).isZero();
                assertThat(NetworkNamespace.exists("shunt-" + node + "-web-1")).isFalse();
                Result gone = shunt("pod", "del", "web-1", "--socket", sock);
                assertThat(gone.err()).isEqualTo("shunt: error: no pod 'web-1'\n");
                // The freed address is not handed out again at once (host-local order).
                assertThat(shunt("pod", "add", "web-3", "--socket", sock).out()).isEqualTo("10.244.8.3\n");
            } finally {
                for (String pod : agent.pods().keySet()) {
                    agent.deletePod(pod);
                }
                agent.close();
            }
            assertThat(Files.exists(socket)).isFalse();
            Result down = shunt("pod", "list", "--socket", sock);
            assertThat(down.exit()).isEqualTo(Main.EXIT_FAILURE);
            assertThat(down.err()).contains("no agent socket at " + sock);
        }
    }
}
