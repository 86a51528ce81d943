package dev.shunt.cni;

import java.util.List;

/**
 * The CNI verbs (CNI_COMMAND) with the environment each one requires (spec 1.1.0, section 2) and
 * the oldest configuration version that has it (the reference plugins' library refuses GC and
 * STATUS below 1.1.0 with error 1; so does Shunt).
 */
public enum CniCommand {
    ADD(List.of("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"), CniVersion.V0_4_0),
    DEL(List.of("CNI_CONTAINERID", "CNI_IFNAME"), CniVersion.V0_4_0),
    CHECK(List.of("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"), CniVersion.V0_4_0),
    STATUS(List.of(), CniVersion.V1_1_0),
    GC(List.of("CNI_PATH"), CniVersion.V1_1_0),
    VERSION(List.of(), CniVersion.V0_4_0);

    private final List<String> required;
    private final CniVersion since;

    CniCommand(List<String> required, CniVersion since) {
        this.required = required;
        this.since = since;
    }

    /** CNI_COMMAND's value, or error 4. */
    public static CniCommand of(String name) {
        if (name == null || name.isEmpty()) {
            throw new CniError(CniError.INVALID_ENVIRONMENT, "invalid environment", "CNI_COMMAND is not set");
        }
        for (CniCommand c : values()) {
            if (c.name().equals(name)) {
                return c;
            }
        }
        throw new CniError(CniError.INVALID_ENVIRONMENT, "invalid environment",
                "CNI_COMMAND '" + CniVersion.abbreviate(name) + "' is none of ADD, DEL, CHECK, STATUS, GC, VERSION");
    }

    /** The environment variables this verb cannot do without (an empty value counts as missing). */
    public List<String> required() {
        return required;
    }

    /** The oldest cniVersion whose configurations may ask for this verb. */
    public CniVersion since() {
        return since;
    }
}
