package dev.shunt.state;

import java.util.ArrayList;
import java.util.List;

/**
 * The errors and warnings found while reading one manifest text, each as one line naming the
 * object and the field: {@code services/web: spec.ports[1].port: 70000 is not a port number
 * (1-65535)}. The object is named by kind and name once both are known, by its place in the
 * file ({@code document 2}, {@code document 1 items[3]}) before.
 */
final class Problems {
    /** A file with more errors than this says how many more there are instead of listing them. */
    static final int MAX_LISTED = 50;

    private final List<String> errors = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();
    private int unlisted;
    private String subject = "";

    /** Messages from here on are about {@code subject} ({@code services/web} or {@code document 2}). */
    void about(String subject) {
        this.subject = subject;
    }

    String subject() {
        return subject;
    }

    void error(String path, String message) {
        if (errors.size() >= MAX_LISTED) {
            unlisted++;
            return;
        }
        errors.add(line(path, message));
    }

    void warn(String path, String message) {
        if (warnings.size() < MAX_LISTED) {
            warnings.add(line(path, message));
        }
    }

    private String line(String path, String message) {
        return subject + (path.isEmpty() ? "" : ": " + path) + ": " + message;
    }

    int errorCount() {
        return errors.size() + unlisted;
    }

    List<String> errors() {
        List<String> out = new ArrayList<>(errors);
        if (unlisted > 0) {
            out.add("... and " + unlisted + " more");
        }
        return out;
    }

    List<String> warnings() {
        return List.copyOf(warnings);
    }
}
