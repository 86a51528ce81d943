package dev.shunt.state;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.error.MarkedYAMLException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A manifest file's text as documents: YAML (several documents separated by {@code ---}) or JSON
 * (one or more objects one after the other), told apart as kubectl does: text whose first
 * character is '{' or '[' is JSON (YAML's parser would refuse the tabs JSON is often indented
 * with), unless it only parses as YAML.
 *
 * <p>Refused with the line and column: text that is not well-formed, a field given twice in one
 * mapping (YAML and JSON parsers would otherwise silently keep the last), and YAML aliases
 * ({@code *name}), which Jackson's YAML parser does not resolve: it would hand over the alias's
 * name as if it were the value. Nesting is limited to {@value #MAX_DEPTH} levels (a manifest needs
 * 6), so hostile text cannot exhaust the stack.
 */
final class ManifestText {
    static final int MAX_DEPTH = 64;
    private static final JsonFactory JSON = JsonFactory.builder().build();
    private static final YAMLFactory YAML = YAMLFactory.builder().loaderOptions(loaderOptions()).build();

    /** One document of the text; {@code number} counts from 1, empty documents included. */
    record Document(int number, JsonNode root) {}

    private ManifestText() {}

    private static LoaderOptions loaderOptions() {
        LoaderOptions options = new LoaderOptions();
        options.setNestingDepthLimit(MAX_DEPTH);
        return options;
    }

    /** The documents, or a {@link ManifestException} with one line saying where the text goes wrong. */
    static List<Document> parse(String text) {
        String body = text.startsWith("\uFEFF") ? text.substring(1) : text;
        String start = body.stripLeading();
        if (start.startsWith("{") || start.startsWith("[")) {
            try {
                return documents(JSON, body);
            } catch (SyntaxError json) {
                try {
                    return documents(YAML, body);
                } catch (SyntaxError yaml) {
                    throw new ManifestException(List.of(json.getMessage()), List.of());
                }
            }
        }
        try {
            return documents(YAML, body);
        } catch (SyntaxError e) {
            throw new ManifestException(List.of(e.getMessage()), List.of());
        }
    }

    private static List<Document> documents(JsonFactory factory, String text) throws SyntaxError {
        List<Document> out = new ArrayList<>();
        try (JsonParser parser = factory.createParser(text)) {
            while (parser.nextToken() != null) {
                out.add(new Document(out.size() + 1, value(parser, 1)));
            }
        } catch (SyntaxError e) {
            throw e;
        } catch (JsonProcessingException e) {
            if (e.getCause() instanceof MarkedYAMLException yaml) {
                var mark = yaml.getProblemMark() != null ? yaml.getProblemMark() : yaml.getContextMark();
                String where = mark == null ? "" : "line " + (mark.getLine() + 1) + ", column " + (mark.getColumn() + 1) + ": ";
                String context = yaml.getContext() == null ? "" : " (" + oneLine(yaml.getContext()) + ")";
                throw new SyntaxError(where + "not valid YAML: " + oneLine(String.valueOf(yaml.getProblem())) + context);
            }
            throw new SyntaxError(at(e.getLocation()) + "not valid " + (factory == YAML ? "YAML" : "JSON") + ": "
                    + oneLine(String.valueOf(e.getOriginalMessage())));
        } catch (IOException e) {
            throw new SyntaxError("cannot read the manifest: " + oneLine(String.valueOf(e.getMessage())));
        }
        return out;
    }

    private static JsonNode value(JsonParser p, int depth) throws IOException {
        JsonNodeFactory f = JsonNodeFactory.instance;
        if (p instanceof YAMLParser yaml && yaml.isCurrentAlias()) {
            throw new SyntaxError(at(p.currentTokenLocation()) + "YAML aliases (*" + p.getText()
                    + ") are not supported: write the value out");
        }
        JsonToken token = p.currentToken();
        switch (token) {
            case START_OBJECT -> {
                deeper(p, depth);
                ObjectNode object = f.objectNode();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    JsonLocation where = p.currentTokenLocation();
                    p.nextToken();
                    JsonNode v = value(p, depth + 1);
                    if (object.has(name)) {
                        throw new SyntaxError(at(where) + "field " + Fields.quote(name) + " is given twice");
                    }
                    object.set(name, v);
                }
                return object;
            }
            case START_ARRAY -> {
                deeper(p, depth);
                ArrayNode array = f.arrayNode();
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    array.add(value(p, depth + 1));
                }
                return array;
            }
            case VALUE_STRING -> {
                return f.textNode(p.getText());
            }
            case VALUE_NUMBER_INT -> {
                return switch (p.getNumberType()) {
                    case INT -> f.numberNode(p.getIntValue());
                    case LONG -> f.numberNode(p.getLongValue());
                    default -> f.numberNode(p.getBigIntegerValue());
                };
            }
            case VALUE_NUMBER_FLOAT -> {
                return f.numberNode(p.getDoubleValue());
            }
            case VALUE_TRUE, VALUE_FALSE -> {
                return f.booleanNode(token == JsonToken.VALUE_TRUE);
            }
            case VALUE_NULL -> {
                return f.nullNode();
            }
            default -> throw new SyntaxError(at(p.currentTokenLocation()) + "a value of a kind manifests do not hold ("
                    + token + ")");
        }
    }

    private static void deeper(JsonParser p, int depth) throws SyntaxError {
        if (depth > MAX_DEPTH) {
            throw new SyntaxError(at(p.currentTokenLocation()) + "nested more than " + MAX_DEPTH + " levels deep");
        }
    }

    private static String at(JsonLocation location) {
        if (location == null || location.getLineNr() < 1) {
            return "";
        }
        return "line " + location.getLineNr() + ", column " + location.getColumnNr() + ": ";
    }

    /** A parser's message on one line, cut short: they can quote whole lines of the input. */
    private static String oneLine(String message) {
        // Jackson quotes where a token began as "[Source: ...; line: 3, column: 21]": the line and column are enough.
        String line = message.replaceAll("\\s+", " ").replaceAll("\\[Source: [^;\\]]*; ", "[").strip();
        return line.length() > 200 ? line.substring(0, 200) + "..." : line;
    }

    /** Text that is not well-formed; the message says where. */
    private static final class SyntaxError extends IOException {
        SyntaxError(String message) {
            super(message);
        }
    }
}
