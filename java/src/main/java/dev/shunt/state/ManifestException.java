package dev.shunt.state;

import java.util.List;

/**
 * A manifest that is refused as a whole: every problem found, one line each with the object and
 * the field ({@code services/web: spec.ports[1].port: 70000 is not a port number (1-65535)}), and
 * the warnings found on the way. An {@link IllegalArgumentException}, so the agent's API answers
 * it as bad input (400).
 */
public final class ManifestException extends IllegalArgumentException {
    private final List<String> problems;
    private final List<String> warnings;

    public ManifestException(List<String> problems, List<String> warnings) {
        super(summary(problems));
        this.problems = List.copyOf(problems);
        this.warnings = List.copyOf(warnings);
    }

    public List<String> problems() {
        return problems;
    }

    public List<String> warnings() {
        return warnings;
    }

    private static String summary(List<String> problems) {
        if (problems.size() == 1) {
            return problems.getFirst();
        }
        return problems.size() + " problems:\n  " + String.join("\n  ", problems);
    }
}
