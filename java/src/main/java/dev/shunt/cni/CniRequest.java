package dev.shunt.cni;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One CNI call: the verb, its environment and its configuration, checked in the order the
 * reference plugins' library checks them: the environment (error 4), then the configuration (6,
 * 1, 7), then whether the configuration's version has the verb (1).
 *
 * @param env the CNI_* variables as given, for delegated plugins (which get the same environment)
 */
public record CniRequest(CniCommand command, String containerId, Path netns, String ifname, CniArgs args, List<Path> cniPath,
                         NetworkConfig config, Map<String, String> env) {
    private static final Pattern CONTAINER_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.\\-]{0,254}");
    /** Linux's rules (under 16 bytes, no '/', ':' or blanks) narrowed to what IPAM owners may hold. */
    private static final Pattern IFNAME = Pattern.compile("[A-Za-z0-9_.\\-@]{1,15}");
    private static final Pattern POD_NAME_CHARS = Pattern.compile("[^a-z0-9-]");
    private static final int POD_NAME_MAX = 53;

    public CniRequest {
        env = Map.copyOf(env);
        cniPath = List.copyOf(cniPath);
    }

    /** Checks a call; VERSION needs neither environment nor configuration (and gets no config here). */
    public static CniRequest parse(Map<String, String> env, byte[] stdin) {
        CniCommand command = CniCommand.of(env.get("CNI_COMMAND"));
        List<String> missing = new ArrayList<>();
        for (String name : command.required()) {
            String value = env.get(name);
            if (value == null || value.isEmpty()) {
                missing.add(name);
            }
        }
        if (!missing.isEmpty()) {
            throw environment(String.join(", ", missing) + (missing.size() == 1 ? " is" : " are") + " not set, and " + command + " needs "
                    + (missing.size() == 1 ? "it" : "them"));
        }
        String containerId = nonEmpty(env.get("CNI_CONTAINERID"));
        if (containerId != null && !CONTAINER_ID.matcher(containerId).matches()) {
            throw environment("CNI_CONTAINERID '" + CniVersion.abbreviate(containerId)
                    + "' must start with a letter or digit, then letters, digits, '_', '.', '-' (at most 255)");
        }
        String ifname = nonEmpty(env.get("CNI_IFNAME"));
        if (ifname != null && (!IFNAME.matcher(ifname).matches() || ifname.equals(".") || ifname.equals(".."))) {
            throw environment("CNI_IFNAME '" + CniVersion.abbreviate(ifname)
                    + "' must be 1 to 15 of A-Z a-z 0-9 _ . - @ (and not '.' or '..')");
        }
        String netnsText = nonEmpty(env.get("CNI_NETNS"));
        Path netns = null;
        if (netnsText != null) {
            if (!netnsText.startsWith("/") || netnsText.indexOf('\0') >= 0) {
                throw environment("CNI_NETNS '" + CniVersion.abbreviate(netnsText) + "' must be an absolute path");
            }
            netns = Path.of(netnsText);
        }
        CniArgs args = CniArgs.parse(env.get("CNI_ARGS"));
        List<Path> cniPath = new ArrayList<>();
        String pathText = env.get("CNI_PATH");
        if (pathText != null) {
            for (String dir : pathText.split(":")) {
                if (!dir.isEmpty() && dir.indexOf('\0') < 0) {
                    cniPath.add(Path.of(dir));
                }
            }
        }
        Map<String, String> relayed = new LinkedHashMap<>();
        env.forEach((k, v) -> {
            if (k.startsWith("CNI_") && v != null) {
                relayed.put(k, v);
            }
        });
        if (command == CniCommand.VERSION) {
            return new CniRequest(command, containerId, netns, ifname, args, cniPath, null, relayed);
        }
        NetworkConfig config = NetworkConfig.parse(stdin);
        if (!config.cniVersion().atLeast(command.since())) {
            throw new CniError(CniError.INCOMPATIBLE_VERSION, "incompatible CNI version",
                    "configuration version " + config.cniVersion() + " does not allow " + command + " (it needs " + command.since() + ")");
        }
        args.labels(); // SHUNT_LABELS checked with the rest of the call
        return new CniRequest(command, containerId, netns, ifname, args, cniPath, config, relayed);
    }

    private static String nonEmpty(String value) {
        return value == null || value.isEmpty() ? null : value;
    }

    private static CniError environment(String details) {
        return new CniError(CniError.INVALID_ENVIRONMENT, "invalid environment", details);
    }

    public AttachmentKey key() {
        return new AttachmentKey(containerId, ifname);
    }

    /**
     * The Shunt pod this attachment is: K8S_POD_NAME from CNI_ARGS, else {@code c-} and the first
     * 12 characters of the container id; lower-cased, other characters than a-z 0-9 '-' made '-';
     * an interface other than eth0 adds {@code -IFNAME}; at most 53 characters.
     */
    public String podName() {
        String base = sanitized(args.get("K8S_POD_NAME"));
        if (base.isEmpty()) {
            base = "c-" + sanitized(containerId.substring(0, Math.min(12, containerId.length())));
        }
        if (!ifname.equals("eth0")) {
            base = base + "-" + sanitized(ifname);
        }
        if (base.length() > POD_NAME_MAX) {
            base = base.substring(0, POD_NAME_MAX);
        }
        return trimDashes(base);
    }

    private static String sanitized(String text) {
        if (text == null) {
            return "";
        }
        return trimDashes(POD_NAME_CHARS.matcher(text.toLowerCase(Locale.ROOT)).replaceAll("-"));
    }

    private static String trimDashes(String text) {
        int start = 0;
        int end = text.length();
        while (start < end && text.charAt(start) == '-') {
            start++;
        }
        while (end > start && text.charAt(end - 1) == '-') {
            end--;
        }
        return text.substring(start, end);
    }

    /** The pod's labels: the configuration's {@code args.cni.labels}, then SHUNT_LABELS from CNI_ARGS (which wins). */
    public Map<String, String> labels() {
        Map<String, String> out = new LinkedHashMap<>(config.labels());
        out.putAll(args.labels());
        return out;
    }
}
