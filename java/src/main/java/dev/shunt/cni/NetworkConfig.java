package dev.shunt.cni;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The network configuration a runtime streams on stdin (spec 1.1.0, section 1 and section 3
 * "Deriving request configuration"), checked as far as Shunt uses it. Other keys are allowed and
 * ignored; {@code socket} and {@code timeoutSeconds} are the shim's (docs/cni.md).
 * <ul>
 *   <li>{@code ipam}: absent or {@code {"type": "shunt"}} means Shunt's own IPAM; any other type is a
 *       plugin to exec from CNI_PATH (a delegated IPAM plugin, section 4).</li>
 *   <li>{@code args.cni.labels}: the pod's labels, {@code [{"key": K, "value": V}, ...]} (the CNI
 *       conventions' "labels" argument).</li>
 *   <li>{@code cni.dev/valid-attachments} (what libcni sends) and {@code cni.dev/attachments} (what
 *       the spec text names): GC's still-valid attachments; both are read.</li>
 * </ul>
 */
public final class NetworkConfig {
    /** The {@code ipam.type} that means Shunt's own IPAM, as does no {@code ipam} section. */
    public static final String SHUNT_IPAM = "shunt";

    static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    /** A file name: no path separators, no control characters (NUL included). */
    private static final Pattern PLUGIN_FILE = Pattern.compile("[^/\\\\\\x00-\\x1f]{1,255}");
    private static final Pattern NETWORK_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.\\-]*");

    private final byte[] bytes;
    private final CniVersion cniVersion;
    private final String name;
    private final String type;
    private final String ipamType;
    private final ObjectNode dns;
    private final ObjectNode prevResult;
    private final Map<String, String> labels;
    private final List<AttachmentKey> validAttachments;

    private NetworkConfig(byte[] bytes, CniVersion cniVersion, String name, String type, String ipamType, ObjectNode dns,
                          ObjectNode prevResult, Map<String, String> labels, List<AttachmentKey> validAttachments) {
        this.bytes = bytes;
        this.cniVersion = cniVersion;
        this.name = name;
        this.type = type;
        this.ipamType = ipamType;
        this.dns = dns;
        this.prevResult = prevResult;
        this.labels = labels;
        this.validAttachments = validAttachments;
    }

    /** Parses and checks a configuration: error 6 if it is not one JSON object, 1 for its version, 7 for its content. */
    public static NetworkConfig parse(byte[] stdin) {
        JsonNode root = decode(stdin);
        CniVersion version = CniVersion.negotiate(root.path("cniVersion").isTextual() ? root.get("cniVersion").asText()
                : root.has("cniVersion") ? root.get("cniVersion").toString() : null);
        String name = text(root, "name", true);
        if (!NETWORK_NAME.matcher(name).matches()) {
            throw invalid("\"name\" '" + CniVersion.abbreviate(name) + "' must start with a letter or digit, then letters, digits, '_', '.', '-'");
        }
        String type = text(root, "type", true);
        String ipamType = SHUNT_IPAM;
        JsonNode ipam = root.get("ipam");
        if (ipam != null && !ipam.isNull()) {
            if (!ipam.isObject()) {
                throw invalid("\"ipam\" must be an object");
            }
            ipamType = text(ipam, "type", true);
            if (!PLUGIN_FILE.matcher(ipamType).matches() || ipamType.equals(".") || ipamType.equals("..")) {
                throw invalid("\"ipam.type\" '" + CniVersion.abbreviate(ipamType) + "' is not a plugin's file name");
            }
        }
        return new NetworkConfig(stdin, version, name, type, ipamType, object(root, "dns"), object(root, "prevResult"),
                labels(root), attachments(root));
    }

    /** The version to write an answer in, even for a configuration that does not parse. */
    public static CniVersion replyVersion(byte[] stdin) {
        try {
            JsonNode root = JSON.readTree(stdin);
            return CniVersion.forReply(root != null && root.path("cniVersion").isTextual() ? root.get("cniVersion").asText() : null);
        } catch (IOException | RuntimeException e) {
            return CniVersion.LATEST;
        }
    }

    static JsonNode decode(byte[] stdin) {
        if (stdin == null || stdin.length == 0) {
            throw new CniError(CniError.DECODING_FAILURE, "cannot decode the network configuration", "stdin is empty");
        }
        JsonNode root;
        try {
            root = JSON.readTree(stdin);
        } catch (JsonProcessingException e) {
            throw new CniError(CniError.DECODING_FAILURE, "cannot decode the network configuration", e.getOriginalMessage());
        } catch (IOException e) {
            throw new CniError(CniError.IO_FAILURE, "cannot read the network configuration", e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new CniError(CniError.DECODING_FAILURE, "cannot decode the network configuration", "stdin is not one JSON object");
        }
        return root;
    }

    private static String text(JsonNode node, String key, boolean required) {
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            if (required) {
                throw invalid("\"" + key + "\" is missing");
            }
            return null;
        }
        if (!value.isTextual()) {
            throw invalid("\"" + key + "\" must be a string, not " + CniVersion.abbreviate(value.toString()));
        }
        return value.asText();
    }

    private static ObjectNode object(JsonNode root, String key) {
        JsonNode value = root.get(key);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isObject()) {
            throw invalid("\"" + key + "\" must be an object");
        }
        return (ObjectNode) value;
    }

    private static Map<String, String> labels(JsonNode root) {
        Map<String, String> out = new LinkedHashMap<>();
        JsonNode args = root.get("args");
        if (args == null || args.isNull()) {
            return out;
        }
        if (!args.isObject() || (args.has("cni") && !args.get("cni").isObject())) {
            throw invalid("\"args\" and \"args.cni\" must be objects");
        }
        JsonNode list = args.path("cni").get("labels");
        if (list == null || list.isNull()) {
            return out;
        }
        if (!list.isArray()) {
            throw invalid("\"args.cni.labels\" must be a list of {\"key\": ..., \"value\": ...}");
        }
        for (JsonNode label : list) {
            if (!label.isObject() || !label.path("key").isTextual() || !label.path("value").isTextual()) {
                throw invalid("\"args.cni.labels\" must be a list of {\"key\": ..., \"value\": ...}, not "
                        + CniVersion.abbreviate(label.toString()));
            }
            String key = label.get("key").asText();
            String value = label.get("value").asText();
            Labels.check(key, value, CniError.INVALID_CONFIG, "args.cni.labels");
            out.put(key, value);
        }
        return out;
    }

    private static List<AttachmentKey> attachments(JsonNode root) {
        List<AttachmentKey> out = new ArrayList<>();
        for (String key : List.of("cni.dev/valid-attachments", "cni.dev/attachments")) {
            JsonNode list = root.get(key);
            if (list == null || list.isNull()) {
                continue;
            }
            if (!list.isArray()) {
                throw invalid("\"" + key + "\" must be a list of {\"containerID\": ..., \"ifname\": ...}");
            }
            for (JsonNode a : list) {
                if (!a.isObject() || !a.path("containerID").isTextual() || !a.path("ifname").isTextual()) {
                    throw invalid("\"" + key + "\" must be a list of {\"containerID\": ..., \"ifname\": ...}, not "
                            + CniVersion.abbreviate(a.toString()));
                }
                out.add(new AttachmentKey(a.get("containerID").asText(), a.get("ifname").asText()));
            }
        }
        return List.copyOf(out);
    }

    static CniError invalid(String details) {
        return new CniError(CniError.INVALID_CONFIG, "invalid network configuration", details);
    }

    /** The bytes as the runtime sent them: what a delegated plugin gets on its stdin. */
    public byte[] bytes() {
        return bytes.clone();
    }

    public CniVersion cniVersion() {
        return cniVersion;
    }

    /** The network's name: attachments of one network are GC'd together. */
    public String name() {
        return name;
    }

    public String type() {
        return type;
    }

    /** {@link #SHUNT_IPAM} or the delegated IPAM plugin's type. */
    public String ipamType() {
        return ipamType;
    }

    public boolean delegatesIpam() {
        return !ipamType.equals(SHUNT_IPAM);
    }

    /** The {@code dns} section, or null. */
    public ObjectNode dns() {
        return dns;
    }

    /** The {@code prevResult}, or null. */
    public ObjectNode prevResult() {
        return prevResult;
    }

    public Map<String, String> labels() {
        return Map.copyOf(labels);
    }

    public List<AttachmentKey> validAttachments() {
        return validAttachments;
    }
}
