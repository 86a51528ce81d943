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

    @Command(name = "del", aliases = "delete", mixinStandardHelpOptions = true, description = "Delete a pod and release its IP.")
    void del(@Parameters(paramLabel = "NAME") String name) throws Exception {
        call("DELETE", "/v1/pods/" + name, null);
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List pods.")
    void list(@Option(names = "--json", description = "Print JSON.") boolean json) throws Exception {
        JsonNode pods = call("GET", "/v1/pods", null);
        PrintWriter out = out();
        if (json) {
            out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(pods));
            return;
        }
        out.printf("%-24s %-15s %-12s %s%n", "NAME", "IP", "VETH", "LABELS");
        for (JsonNode p : pods) {
            out.printf("%-24s %-15s %-12s %s%n", p.get("name").asText(), p.get("ip").asText(), p.get("hostVeth").asText(),
                    p.get("labels").toString());
        }
    }

    private JsonNode call(String method, String path, String body) throws Exception {
        AgentClient.Reply reply = new AgentClient(socket).call(method, path, body);
        JsonNode json = JSON.readTree(reply.body());
        if (reply.status() != 200) {
            throw new IllegalStateException(json != null && json.has("error") ? json.get("error").asText() : reply.body());
        }
        return json;
    }

    private PrintWriter out() {
        return spec.commandLine().getOut();
    }
}
