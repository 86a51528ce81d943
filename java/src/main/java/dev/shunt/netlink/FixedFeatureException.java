package dev.shunt.netlink;

import java.util.List;

/**
 * A feature change was asked of a device that does not let it change (the feature is "[fixed]" in
 * {@code ethtool -k DEV}). The kernel itself would ignore such a request without an error; Shunt
 * refuses it instead, so that a requested state which cannot hold is never mistaken for done.
 */
public class FixedFeatureException extends IllegalStateException {
    private final String device;
    private final List<String> features;

    public FixedFeatureException(String request, String device, List<String> features) {
        super(request + ": " + String.join(", ", features) + (features.size() == 1 ? " is" : " are")
                + " fixed on " + device + " (the driver does not let " + (features.size() == 1 ? "it" : "them")
                + " change; ethtool -k " + device + " shows [fixed])");
        this.device = device;
        this.features = List.copyOf(features);
    }

    public String device() {
        return device;
    }

    /** The kernel names of the fixed features that would have had to change. */
    public List<String> features() {
        return features;
    }
}
