package dev.shunt.cni;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shunt.ipam.IpamException;

/**
 * A CNI error result: {@code {"cniVersion", "code", "msg", "details"}}. Codes below 100 are the
 * spec's (1.1.0, section 5 "Error"; 50 and 51 are STATUS's), 100 and above Shunt's; docs/cni.md
 * lists them all. {@code msg} is short and fixed per cause, {@code details} says what exactly.
 */
public final class CniError extends RuntimeException {
    public static final int INCOMPATIBLE_VERSION = 1;
    public static final int UNSUPPORTED_FIELD = 2;
    public static final int UNKNOWN_CONTAINER = 3;
    public static final int INVALID_ENVIRONMENT = 4;
    public static final int IO_FAILURE = 5;
    public static final int DECODING_FAILURE = 6;
    public static final int INVALID_CONFIG = 7;
    public static final int TRY_AGAIN_LATER = 11;
    /** STATUS: the plugin cannot service ADD requests. */
    public static final int NOT_AVAILABLE = 50;

    /** Shunt: the interface or the attachment exists already, or the pod name is taken. */
    public static final int ATTACHMENT_EXISTS = 110;
    /** Shunt: CHECK found the attachment missing or not as its ADD left it. */
    public static final int ATTACHMENT_BROKEN = 111;
    /** Shunt: a delegated plugin (IPAM) could not be found, crashed, timed out or answered no CNI JSON. */
    public static final int DELEGATED_PLUGIN_FAILED = 112;
    /** Shunt (as the reference plugins' library): an unexpected failure in the agent. */
    public static final int INTERNAL = 999;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final int code;
    private final String details;

    public CniError(int code, String msg, String details) {
        super(msg);
        this.code = code;
        this.details = details == null ? "" : details;
    }

    /** The IPAM failure with its own CNI code ({@link IpamException#cniCode()}). */
    public static CniError of(IpamException e) {
        String msg = switch (e.code()) {
            case IO_FAILURE -> "IPAM I/O failure";
            case INVALID_CONFIG -> "invalid IPAM configuration";
            case TRY_AGAIN_LATER -> "IPAM store busy";
            case POOL_EXHAUSTED -> "no address left in the pod CIDR";
            case OWNER_CONFLICT -> "the attachment holds an address from another pool";
            case STORE_CORRUPT -> "IPAM store corrupt";
        };
        return new CniError(e.cniCode(), msg, e.getMessage());
    }

    public int code() {
        return code;
    }

    public String msg() {
        return getMessage();
    }

    public String details() {
        return details;
    }

    /** The error result as the spec writes it, for {@code version}. */
    public String toJson(CniVersion version) {
        ObjectNode out = JSON.createObjectNode();
        out.put("cniVersion", version.toString());
        out.put("code", code);
        out.put("msg", getMessage());
        if (!details.isEmpty()) {
            out.put("details", details);
        }
        return out.toString();
    }

    /** A delegated plugin's error result, kept as it is (its code, msg and details). */
    static CniError parse(JsonNode error, String plugin) {
        String details = error.path("details").asText("");
        return new CniError(error.path("code").asInt(INTERNAL), error.path("msg").asText(plugin + " failed"),
                details.isEmpty() ? plugin : plugin + ": " + details);
    }

    @Override
    public String toString() {
        return "CNI error " + code + ": " + getMessage() + (details.isEmpty() ? "" : " (" + details + ")");
    }
}
