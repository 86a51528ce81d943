package dev.shunt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** {@code shunt delete -f FILE}: the objects a manifest file names, deleted by the agent. */
@Command(name = "delete", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Delete the objects a manifest file names (by kind and name; the rest of each manifest is not read, "
                + "so a file that no longer applies still deletes what it made).",
                "Prints one line per object deleted; one that does not exist is an error (exit 1) unless --ignore-not-found, "
                        + "and the others are deleted all the same, as kubectl does."})
final class DeleteCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    AgentSocket agent;

    @Option(names = {"-f", "--filename"}, required = true, paramLabel = "FILE", description = "The manifest file; - reads standard input.")
    String file;

    @Option(names = "--ignore-not-found", description = "An object that does not exist is not an error.")
    boolean ignoreNotFound;

    @Override
    public Integer call() {
        String text = ManifestRequest.read(file, System.in);
        PrintWriter err = spec.commandLine().getErr();
        JsonNode answer = ManifestRequest.post(agent.client(), "delete", file, text, err);
        if (answer == null) {
            return Main.EXIT_FAILURE;
        }
        PrintWriter out = spec.commandLine().getOut();
        int missing = 0;
        for (JsonNode r : answer.path("results")) {
            if (r.get("outcome").asText().equals("deleted")) {
                out.println(r.get("object").asText() + " deleted");
            } else if (!ignoreNotFound) {
                missing++;
                err.println("shunt: error: " + r.get("object").asText() + " not found");
            }
        }
        return missing == 0 ? 0 : Main.EXIT_FAILURE;
    }
}
