package dev.shunt.state;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The fields of one mapping in a manifest, read with their path ({@code spec.ports[1]}): typed
 * getters that report a value of the wrong type to {@link Problems} (and return empty, so reading
 * goes on and finds the next problem too), and at the end a warning for every field nobody asked
 * for. A field given as {@code null} counts as left out, as in Kubernetes.
 */
final class Fields {
    private final JsonNode node;
    private final String path;
    private final Problems problems;
    private final Set<String> read = new HashSet<>();

    /** {@code node} must be a mapping; see {@link #of}. */
    private Fields(JsonNode node, String path, Problems problems) {
        this.node = node;
        this.path = path;
        this.problems = problems;
    }

    /** The mapping {@code node} at {@code path}, or empty (and an error) if it is something else. */
    static Optional<Fields> of(JsonNode node, String path, Problems problems) {
        if (!node.isObject()) {
            problems.error(path, "expected a mapping (field: value, ...), not " + describe(node));
            return Optional.empty();
        }
        return Optional.of(new Fields(node, path, problems));
    }

    String path() {
        return path;
    }

    /** The path of {@code field} in this mapping. */
    String pathOf(String field) {
        return path.isEmpty() ? field : path + "." + field;
    }

    Problems problems() {
        return problems;
    }

    boolean has(String field) {
        JsonNode value = node.get(field);
        return value != null && !value.isNull();
    }

    /** The value, marked as read; empty if absent or null. */
    Optional<JsonNode> raw(String field) {
        read.add(field);
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? Optional.empty() : Optional.of(value);
    }

    Optional<String> string(String field) {
        Optional<JsonNode> value = raw(field);
        if (value.isPresent() && !value.get().isTextual()) {
            problems.error(pathOf(field), "expected a string, not " + describe(value.get()));
            return Optional.empty();
        }
        return value.map(JsonNode::textValue);
    }

    /** A string that must be there (an error names it if it is not). */
    Optional<String> requiredString(String field) {
        if (!has(field)) {
            read.add(field);
            problems.error(pathOf(field), "missing");
            return Optional.empty();
        }
        return string(field);
    }

    /** A whole number (as a number, not a string) in {@code min..max}, else an error saying {@code "X " + outOfRange}. */
    OptionalInt integer(String field, int min, int max, String outOfRange) {
        Optional<JsonNode> value = raw(field);
        if (value.isEmpty()) {
            return OptionalInt.empty();
        }
        JsonNode v = value.get();
        if (!v.isIntegralNumber()) {
            problems.error(pathOf(field), "expected a whole number, not " + describe(v)
                    + (v.isTextual() && v.textValue().strip().matches("-?[0-9]{1,10}") ? " (write it without quotes)" : ""));
            return OptionalInt.empty();
        }
        if (!v.canConvertToInt() || v.intValue() < min || v.intValue() > max) {
            problems.error(pathOf(field), v.asText() + " " + outOfRange);
            return OptionalInt.empty();
        }
        return OptionalInt.of(v.intValue());
    }

    /** One of {@code allowed} (exactly as spelled there); absent gives empty. */
    Optional<String> oneOf(String field, String... allowed) {
        Optional<String> value = string(field);
        if (value.isPresent() && !List.of(allowed).contains(value.get())) {
            problems.error(pathOf(field), quote(value.get()) + " is not one of " + String.join(", ", allowed));
            return Optional.empty();
        }
        return value;
    }

    Optional<Fields> object(String field) {
        return raw(field).flatMap(v -> of(v, pathOf(field), problems));
    }

    Optional<Fields> requiredObject(String field) {
        if (!has(field)) {
            read.add(field);
            problems.error(pathOf(field), "missing");
            return Optional.empty();
        }
        return object(field);
    }

    /** The elements of a list, each with its path ({@code spec.ports[2]}); empty (and an error) if not a list. */
    Optional<List<Element>> list(String field) {
        Optional<JsonNode> value = raw(field);
        if (value.isEmpty()) {
            return Optional.of(List.of());
        }
        if (!value.get().isArray()) {
            problems.error(pathOf(field), "expected a list, not " + describe(value.get()));
            return Optional.empty();
        }
        List<Element> out = new ArrayList<>();
        for (int i = 0; i < value.get().size(); i++) {
            out.add(new Element(value.get().get(i), pathOf(field) + "[" + i + "]"));
        }
        return Optional.of(out);
    }

    /** One element of a list with its path. */
    record Element(JsonNode value, String path) {}

    /**
     * A mapping of strings to strings (labels, a selector), in the file's order; a value that is
     * not a string (YAML reads {@code 1}, {@code true} and {@code yes} unquoted as a number or a
     * boolean) is an error that says to quote it, as Kubernetes refuses it too.
     */
    Optional<Map<String, String>> stringMap(String field) {
        Optional<Fields> map = object(field);
        if (map.isEmpty()) {
            return has(field) ? Optional.empty() : Optional.of(Map.of());
        }
        Map<String, String> out = new LinkedHashMap<>();
        boolean ok = true;
        for (Map.Entry<String, JsonNode> e : map.get().node.properties()) {
            String at = map.get().pathOf(e.getKey());
            if (e.getValue().isTextual()) {
                out.put(e.getKey(), e.getValue().textValue());
            } else {
                ok = false;
                problems.error(at, "expected a string, not " + describe(e.getValue())
                        + (e.getValue().isValueNode() && !e.getValue().isNull() ? " (quote it: \"" + e.getValue().asText() + "\")" : ""));
            }
        }
        return ok ? Optional.of(out) : Optional.empty();
    }

    /** Marks fields as known and without effect: they are neither read nor warned about. */
    void ignore(String... fields) {
        read.addAll(List.of(fields));
    }

    /**
     * Warns about every field nobody read: {@code notSupported} names fields Kubernetes has that
     * Shunt does not implement; the rest are unknown (a typo, or a newer API).
     */
    void finish(Set<String> notSupported) {
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!read.contains(e.getKey())) {
                problems.warn(pathOf(e.getKey()), notSupported.contains(e.getKey())
                        ? "not supported by Shunt, ignored" : "unknown field, ignored");
            }
        }
    }

    void finish() {
        finish(Set.of());
    }

    /** A value as a message shows it: strings quoted and cut short, other kinds by name. */
    static String describe(JsonNode value) {
        if (value == null || value.isNull()) {
            return "null";
        }
        if (value.isTextual()) {
            return quote(value.textValue());
        }
        if (value.isBoolean()) {
            return "the boolean " + value.asText();
        }
        if (value.isNumber()) {
            String text = value.asText();
            return "the number " + (text.length() > 24 ? text.substring(0, 24) + "..." : text);
        }
        if (value.isArray()) {
            return "a list";
        }
        if (value.isObject()) {
            return "a mapping";
        }
        return "a " + value.getNodeType().name().toLowerCase(java.util.Locale.ROOT) + " value";
    }

    /** {@code "text"} on one line: control characters escaped, at most 64 characters shown. */
    static String quote(String text) {
        StringBuilder out = new StringBuilder("\"");
        int shown = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (shown == 64) {
                out.append("...");
                break;
            }
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20 || c == 0x7f || Character.isSurrogate(c)) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
            shown++;
        }
        return out.append('"').toString();
    }
}
