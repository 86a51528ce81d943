package dev.shunt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** {@code shunt apply -f FILE}: the objects of a manifest file, created or changed in place by the agent. */
@Command(name = "apply", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Create or change the objects of a manifest file: Kubernetes v1 Services, Shunt's Node and Pod "
                + "(apiVersion shunt.dev/v1), and v1 Lists of them; YAML (documents separated by ---) or JSON.",
                "All or nothing: the agent checks the whole file first and applies none of it if anything is wrong, "
                        + "naming each problem with its object and field. Fields Shunt does not use are ignored with a warning.",
                "Prints one line per object: created, configured or unchanged (applying a file twice changes nothing)."})
final class ApplyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    AgentSocket agent;

    @Option(names = {"-f", "--filename"}, required = true, paramLabel = "FILE", description = "The manifest file; - reads standard input.")
    String file;

    @Override
    public Integer call() {
        String text = ManifestRequest.read(file, System.in);
        JsonNode answer = ManifestRequest.post(agent.client(), "apply", file, text, spec.commandLine().getErr());
        if (answer == null) {
            return Main.EXIT_FAILURE;
        }
        PrintWriter out = spec.commandLine().getOut();
        answer.path("results").forEach(r -> out.println(r.get("object").asText() + " " + r.get("outcome").asText()));
        return 0;
    }
}
