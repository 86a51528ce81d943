package dev.shunt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shunt.agent.AgentConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;

/** {@code shunt pod add|del|list}: pods through the agent's API. */
@Command(name = "pod", mixinStandardHelpOptions = true, description = "Create, delete and list pods (through the agent).")
final class PodCommand implements Runnable {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Option(names = "--socket", paramLabel = "PATH", scope = picocli.CommandLine.ScopeType.INHERIT,
            description = "The agent's API socket (default: ${DEFAULT-VALUE}).")
    Path socket = AgentConfig.DEFAULT_SOCKET;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing subcommand: add, del or list");
    }

    @Command(name = "add", mixinStandardHelpOptions = true, description = "Create a pod; prints its IP.")
    void add(@Parameters(paramLabel = "NAME") String name,
             @Option(names = "--label", paramLabel = "KEY=VALUE", description = "A label (repeatable).") Map<String, String> labels)
            throws Exception {
        ObjectNode body = JSON.createObjectNode().put("name", name);
        ObjectNode l = body.putObject("labels");
        if (labels != null) {
            labels.forEach(l::put);
        }
        JsonNode pod = call("POST", "/v1/pods", body.toString());
        out().println(pod.get("ip").asText());
    }

    @Command(name = "del", aliases = "delete", mixinStandardHelpOptions = true,
            description = {"Delete a pod and release its IP.",
                    "With --grace the pod is terminating first: its Service endpoints stop taking new connections "
                            + "but keep serving established ones until the grace period ends, then it is deleted."})
    void del(@Parameters(paramLabel = "NAME") String name,
             @Option(names = "--grace", paramLabel = "SECONDS", description = "Grace period (default: 0, delete at once).")
             Integer grace) throws Exception {
        if (grace != null && (grace < 0 || grace > 86400)) {
            throw new ParameterException(spec.commandLine().getSubcommands().get("del"), "--grace " + grace + " is outside 0-86400");
        }
        JsonNode answer = call("DELETE", "/v1/pods/" + name + (grace == null || grace == 0 ? "" : "?grace=" + grace), null);
        if (answer.path("terminatingUntilMillis").asLong() != 0) {
            out().println("pod " + name + " terminating, deleted in " + grace + " s");
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List pods.")
    void list(@Option(names = "--json", description = "Print JSON.") boolean json) throws Exception {
        JsonNode pods = call("GET", "/v1/pods", null);
        PrintWriter out = out();
        if (json) {
            out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(pods));
            return;
        }
        out.printf("%-24s %-15s %-12s %-16s %s%n", "NAME", "IP", "VETH", "STATUS", "LABELS");
        long now = System.currentTimeMillis();
        for (JsonNode p : pods) {
            long until = p.path("terminatingUntilMillis").asLong();
            String status = until == 0 ? "Running" : "Terminating(" + Math.max(0, (until - now + 999) / 1000) + "s)";
            out.printf("%-24s %-15s %-12s %-16s %s%n", p.get("name").asText(), p.get("ip").asText(), p.get("hostVeth").asText(),
                    status, labels(p.get("labels")));
        }
    }

    /** {@code k=v,k2=v2} (sorted as the agent keeps them), or {@code -}. */
    static String labels(JsonNode labels) {
        StringBuilder out = new StringBuilder();
        labels.properties().forEach(e -> out.append(out.isEmpty() ? "" : ",").append(e.getKey()).append('=').append(e.getValue().asText()));
        return out.isEmpty() ? "-" : out.toString();
    }

    private JsonNode call(String method, String path, String body) {
        return new AgentClient(socket).json(method, path, body);
    }

    private PrintWriter out() {
        return spec.commandLine().getOut();
    }
}
