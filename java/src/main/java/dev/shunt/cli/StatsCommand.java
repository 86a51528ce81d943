package dev.shunt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.agent.AgentConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;

/** {@code shunt stats}: the fast path's counters, from the agent. */
@Command(name = "stats", mixinStandardHelpOptions = true, description = "Show the fast path's counters.")
final class StatsCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Option(names = "--socket", paramLabel = "PATH", description = "The agent's API socket (default: ${DEFAULT-VALUE}).")
    Path socket = AgentConfig.DEFAULT_SOCKET;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override
    public void run() {
        JsonNode stats = new AgentClient(socket).json("GET", "/v1/stats", null);
        try {
            ObjectMapper mapper = new ObjectMapper();
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(mapper.writerWithDefaultPrettyPrinter().writeValueAsString(stats));
                return;
            }
            for (String key : new String[] {"received", "forwarded", "establishedPath", "answered", "dropped", "newFlows",
                    "natTranslations", "serviceRejects", "flowsPurged", "fragmentsSent"}) {
                out.printf("%-16s %d%n", key, stats.path(key).asLong());
            }
            stats.path("drops").properties().forEach(e -> out.printf("  drop %-22s %d%n", e.getKey(), e.getValue().asLong()));
            JsonNode offloads = stats.path("offloads");
            if (!offloads.isMissingNode()) {
                out.printf("%-16s %s (pods' TX checksum/TSO/GSO %s; virtio-net header %s; %d-byte ring slots)%n", "offloads",
                        offloads.path("state").asText(), offloads.path("podTso").asBoolean() ? "on" : "off",
                        offloads.path("vnetHeader").asBoolean() ? "on" : "off", offloads.path("slotBytes").asInt());
            }
            out.printf("%-30s %10s %10s %10s %10s%n", "PORT", "RX", "TX", "RX-DROP", "TX-DROP");
            stats.path("ports").properties().forEach(e -> {
                out.printf("%-30s %10d %10d %10d %10d%n", e.getKey(),
                        e.getValue().path("rxPackets").asLong(), e.getValue().path("txPackets").asLong(),
                        e.getValue().path("rxDropped").asLong(), e.getValue().path("txDropped").asLong());
                e.getValue().path("drops").properties().forEach(d -> out.printf("  drop %-22s %d%n", d.getKey(), d.getValue().asLong()));
            });
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot print the agent's answer: " + e.getMessage(), e);
        }
    }
}
