package dev.shunt.cni;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * CNI_ARGS: {@code KEY=VALUE} pairs separated by semicolons ("IgnoreUnknown=1;K8S_POD_NAME=web-1").
 * Keys Shunt does not know are ignored, whatever IgnoreUnknown says; a pair without '=' is error 4.
 * Shunt reads K8S_POD_NAME (the pod's name) and SHUNT_LABELS ({@code key:value,key:value}, the
 * pod's labels; ':' and ',' because the reference plugins' parser refuses a second '=' in a pair).
 */
public record CniArgs(Map<String, String> values) {
    public CniArgs {
        values = Map.copyOf(values);
    }

    public static CniArgs parse(String text) {
        Map<String, String> out = new LinkedHashMap<>();
        if (text != null && !text.isEmpty()) {
            for (String pair : text.split(";", -1)) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                if (eq <= 0) {
                    throw new CniError(CniError.INVALID_ENVIRONMENT, "invalid environment",
                            "CNI_ARGS: '" + CniVersion.abbreviate(pair) + "' is not KEY=VALUE");
                }
                out.put(pair.substring(0, eq), pair.substring(eq + 1));
            }
        }
        return new CniArgs(out);
    }

    public String get(String key) {
        return values.get(key);
    }

    /** SHUNT_LABELS as a map, each label checked ({@link Labels}); absent: empty. */
    public Map<String, String> labels() {
        Map<String, String> out = new LinkedHashMap<>();
        String text = values.get("SHUNT_LABELS");
        if (text == null || text.isEmpty()) {
            return out;
        }
        for (String pair : text.split(",", -1)) {
            int colon = pair.indexOf(':');
            if (colon < 0) {
                throw new CniError(CniError.INVALID_ENVIRONMENT, "invalid environment",
                        "CNI_ARGS: SHUNT_LABELS needs key:value pairs separated by ',', not '" + CniVersion.abbreviate(pair) + "'");
            }
            String key = pair.substring(0, colon);
            String value = pair.substring(colon + 1);
            Labels.check(key, value, CniError.INVALID_ENVIRONMENT, "CNI_ARGS: SHUNT_LABELS");
            out.put(key, value);
        }
        return out;
    }
}
