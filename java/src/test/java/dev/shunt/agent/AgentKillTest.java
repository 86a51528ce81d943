package dev.shunt.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.cli.CliTest.Result;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.netns.NetworkNamespace;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static dev.shunt.cli.CliTest.shunt;
import static org.assertj.core.api.Assertions.assertThat;

/** An agent process killed with SIGKILL comes back with the same Services: same ClusterIPs, same node ports. */
class AgentKillTest {
    @TempDir
    Path dir;

    @Test
    void servicesSurviveKillNineAndARestart() throws Exception {
        String node = "t-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        String sock = dir.resolve("s.sock").toString();
        try (ScratchNamespace nodeNs = ScratchNamespace.create("node")) {
            List<String> command = List.of("nsenter", "--net=/run/netns/" + nodeNs.name(),
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:TieredStopAtLevel=1",
                    "-cp", System.getProperty("java.class.path"), "dev.shunt.cli.Main", "agent", "--node", node,
                    "--pod-cidr", "10.244.3.0/24", "--state", dir.resolve("state").toString(), "--socket", sock);
            Process agent = start(command, sock);
            try {
                assertThat(shunt("pod", "add", "web-1", "--label", "app=web", "--socket", sock).out()).isEqualTo("10.244.3.1\n");
                assertThat(shunt("service", "add", "web", "--port", "80/tcp:8080", "--selector", "app=web", "--socket", sock).out())
                        .isEqualTo("10.96.0.2\n");
                assertThat(shunt("service", "add", "np", "--type", "NodePort", "--port", "81", "--port", "53/udp",
                        "--selector", "app=web", "--socket", sock).out()).isEqualTo("10.96.0.3 30000 30001\n");
                assertThat(shunt("pod", "del", "web-1", "--grace", "600", "--socket", sock).exit()).isZero();
                String before = shunt("service", "list", "--json", "--socket", sock).out();

                agent.toHandle().destroyForcibly();
                assertThat(agent.waitFor(10, TimeUnit.SECONDS)).isTrue();
                agent = start(command, sock);

                String after = shunt("service", "list", "--json", "--socket", sock).out();
                ObjectMapper json = new ObjectMapper();
                assertThat(json.readTree(after)).isEqualTo(json.readTree(before));
                assertThat(after).contains("\"clusterIp\" : \"10.96.0.2\"", "\"clusterIp\" : \"10.96.0.3\"", "\"nodePort\" : 30001",
                        "\"terminating\" : true");
                assertThat(shunt("pod", "list", "--socket", sock).out()).contains("Terminating");
            } finally {
                shunt("pod", "del", "web-1", "--socket", sock);
                agent.destroy(); // SIGTERM: the agent removes its node plumbing
                if (!agent.waitFor(10, TimeUnit.SECONDS)) {
                    agent.toHandle().destroyForcibly();
                }
                String podNs = "shunt-" + node + "-web-1";
                if (NetworkNamespace.exists(podNs)) {
                    NetworkNamespace.named(podNs).delete();
                }
            }
        }
    }

    /** Starts the agent and waits (15 s at most) until its API answers. */
    private static Process start(List<String> command, String sock) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (System.nanoTime() < deadline && p.isAlive()) {
            Result r = shunt("pod", "list", "--socket", sock);
            if (r.exit() == 0) {
                return p;
            }
            Thread.sleep(100);
        }
        p.destroyForcibly();
        throw new AssertionError("the agent did not answer within 15 s (alive: " + p.isAlive() + ")");
    }
}
