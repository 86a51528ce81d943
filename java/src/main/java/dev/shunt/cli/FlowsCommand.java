package dev.shunt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/** {@code shunt flows}: the fast path's connection table, from the agent. */
@Command(name = "flows", mixinStandardHelpOptions = true,
        description = {"Show the connection table: each flow's original and reply tuples, NAT, state, age, Service and backend pod.",
                "Read while the fast path runs: a flow's counters and state may be a few packets apart (never two flows mixed)."})
final class FlowsCommand implements Runnable {
    @Spec
    CommandSpec spec;
    @Mixin
    AgentSocket agent;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Option(names = "--service", paramLabel = "NAME", description = "Only this Service's flows.")
    String service;

    @Override
    public void run() {
        String path = "/v1/flows" + (service == null ? "" : "?service=" + URLEncoder.encode(service, StandardCharsets.UTF_8));
        JsonNode answer = agent.client().json("GET", path, null);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(ServiceCommand.pretty(answer));
            return;
        }
        String row = "%-5s %-12s %-44s %-44s %-9s %-16s %-16s %8s%n";
        out.printf(row, "PROTO", "STATE", "ORIGINAL", "REPLY", "NAT", "SERVICE", "BACKEND", "AGE");
        for (JsonNode f : answer.get("flows")) {
            out.printf(row, f.get("protocol").asText(), f.get("state").asText(), tuple(f.get("original")), tuple(f.get("reply")),
                    f.get("nat").asText(), text(f.get("service")), text(f.get("backendPod")),
                    String.format("%.1fs", f.get("ageSeconds").asDouble()));
        }
        out.printf("%d flows%s%n", answer.get("flows").size(), answer.path("truncated").asBoolean() ? " (truncated)" : "");
    }

    private static String tuple(JsonNode t) {
        return t.get("src").asText() + ":" + t.get("srcPort").asInt() + " -> " + t.get("dst").asText() + ":" + t.get("dstPort").asInt();
    }

    private static String text(JsonNode value) {
        return value == null || value.isNull() ? "-" : value.asText();
    }
}
