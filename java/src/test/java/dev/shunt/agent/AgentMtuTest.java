package dev.shunt.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.cli.CliTest;
import dev.shunt.ipam.Cidr;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Path MTU discovery through the fast path, with real kernels at both ends: a pod whose link is
 * larger than its peer's (1500 against the agent's 1400) sends a 1500-byte ping with DF and its
 * own ping reports the fragmentation-needed Shunt sent, with the peer port's MTU; without DF the
 * same ping is answered, because the fast path sent it on as fragments the peer reassembled.
 */
class AgentMtuTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void dfPacketsTooBigForTheNextPortGetFragmentationNeededOthersAreFragmented() throws Exception {
        String node = "t-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        AgentConfig config = new AgentConfig(node, Cidr.parse("10.244.9.0/24"), dir.resolve("state"), dir.resolve("s.sock"),
                1400, true);
        String sock = config.socket().toString();
        try (ScratchNamespace nodeNs = ScratchNamespace.create("node")) {
            Agent agent = nodeNs.namespace().call(() -> Agent.start(config));
            try {
                PodRecord big = agent.addPod("big", Map.of());
                PodRecord small = agent.addPod("small", Map.of());
                // The "big" pod's link claims 1500 on both ends; the fast path's port for "small" keeps 1400.
                Witness.run(List.of("ip", "-n", nodeNs.name(), "link", "set", big.hostVeth(), "mtu", "1500"));
                Witness.run(List.of("ip", "-n", big.netns(), "link", "set", "eth0", "mtu", "1500"));

                // Without DF first: once the pod has learnt the path MTU, its own kernel would fragment.
                String fragmented = Witness.run(List.of("ip", "netns", "exec", big.netns(),
                        "ping", "-n", "-c", "2", "-W", "2", "-M", "dont", "-s", "1472", small.ip()));
                assertThat(fragmented).contains("2 received");

                String df = Witness.runAllowingFailure(List.of("ip", "netns", "exec", big.netns(),
                        "ping", "-n", "-c", "1", "-W", "2", "-M", "do", "-s", "1472", small.ip()));
                assertThat(df).as("ping with DF").contains("Frag needed and DF set (mtu = 1400)");

                CliTest.Result r = CliTest.shunt("stats", "--json", "--socket", sock);
                assertThat(r.exit()).as(r.err()).isZero();
                JsonNode stats = JSON.readTree(r.out());
                assertThat(stats.path("drops").path("FRAGMENTATION_NEEDED").asLong()).isEqualTo(1);
                assertThat(stats.path("fragmentsSent").asLong()).as("two 1500-byte requests, two fragments each").isEqualTo(4);
            } finally {
                for (String pod : agent.pods().keySet()) {
                    agent.deletePod(pod);
                }
                agent.close();
            }
        }
    }
}
