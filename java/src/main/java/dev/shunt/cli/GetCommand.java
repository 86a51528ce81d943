package dev.shunt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** {@code shunt get nodes|pods|services}: the node's desired state, as a table or as manifests. */
@Command(name = "get", mixinStandardHelpOptions = true,
        description = {"List the nodes, pods or Services the agent holds.",
                "-o json and -o yaml print them as a v1 List of manifests, which shunt apply -f takes back unchanged "
                        + "(what the agent adds, such as endpoints, is under status, which apply ignores)."})
final class GetCommand implements Runnable {
    @Spec
    CommandSpec spec;
    @Mixin
    AgentSocket agent;

    @Parameters(paramLabel = "KIND", description = "nodes (node, no), pods (pod, po) or services (service, svc).")
    String kind;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "json or yaml (default: a table).")
    String output;

    @Override
    public void run() {
        String plural = switch (kind.toLowerCase(Locale.ROOT)) {
            case "nodes", "node", "no" -> "nodes";
            case "pods", "pod", "po" -> "pods";
            case "services", "service", "svc" -> "services";
            default -> throw new ParameterException(spec.commandLine(), "unknown kind '" + kind + "': nodes, pods or services");
        };
        if (output != null && !output.equals("json") && !output.equals("yaml")) {
            throw new ParameterException(spec.commandLine(), "-o " + output + ": json or yaml");
        }
        JsonNode list = agent.client().json("GET", "/v1/state/" + plural, null);
        PrintWriter out = spec.commandLine().getOut();
        if ("json".equals(output)) {
            out.println(ServiceCommand.pretty(list));
            return;
        }
        if ("yaml".equals(output)) {
            try {
                out.print(new YAMLMapper().enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
                        .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS).writeValueAsString(list));
                out.flush();
            } catch (IOException e) {
                throw new IllegalStateException("cannot write YAML: " + e.getMessage(), e);
            }
            return;
        }
        JsonNode items = list.path("items");
        switch (plural) {
            case "nodes" -> {
                String row = "%-16s %-18s %-15s %s%n";
                out.printf(row, "NAME", "POD-CIDR", "UNDERLAY-IP", "VTEP-MAC");
                items.forEach(n -> out.printf(row, name(n), n.path("spec").path("podCIDR").asText(),
                        n.path("spec").path("underlayIP").asText(), n.path("spec").path("vtepMAC").asText("-")));
            }
            case "pods" -> {
                String self = agent.client().json("GET", "/v1/status", null).path("node").asText();
                String row = "%-24s %-16s %-15s %-12s %s%n";
                out.printf(row, "NAME", "NODE", "IP", "STATUS", "LABELS");
                items.forEach(p -> {
                    String node = p.path("spec").path("node").asText();
                    // This agent runs its own node's pods; the others it only records.
                    String status = !node.equals(self) ? "-" : p.path("status").path("terminating").asBoolean() ? "Terminating" : "Running";
                    out.printf(row, name(p), node, p.path("spec").path("ip").asText("-"), status,
                            PodCommand.labels(p.path("metadata").path("labels")));
                });
            }
            default -> {
                String row = "%-20s %-10s %-15s %-24s %-20s %s%n";
                out.printf(row, "NAME", "TYPE", "CLUSTER-IP", "PORT(S)", "SELECTOR", "ENDPOINTS");
                items.forEach(s -> {
                    JsonNode spec = s.path("spec");
                    List<String> ports = new ArrayList<>();
                    spec.path("ports").forEach(p -> ports.add(p.path("port").asInt()
                            + (p.path("nodePort").asInt() != 0 ? ":" + p.path("nodePort").asInt() : "") + "/" + p.path("protocol").asText()));
                    int ready = 0;
                    int endpoints = 0;
                    for (JsonNode e : s.path("status").path("endpoints")) {
                        endpoints++;
                        ready += e.path("ready").asBoolean() ? 1 : 0;
                    }
                    out.printf(row, name(s), spec.path("type").asText(), spec.path("clusterIP").asText(), String.join(",", ports),
                            PodCommand.labels(spec.path("selector")), ready + " ready" + (endpoints > ready ? " of " + endpoints : ""));
                });
            }
        }
    }

    private static String name(JsonNode object) {
        return object.path("metadata").path("name").asText();
    }
}
