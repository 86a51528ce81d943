package dev.shunt.netlink;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * The offload features of one device, by kernel feature name (e.g. {@code tx-checksum-ip-generic},
 * {@code rx-gro}), in feature-bit order. What {@code ethtool -k DEV} prints, without ethtool's
 * legacy group names (tx-checksumming, tcp-segmentation-offload, ...).
 *
 * @param device     the device asked about
 * @param active     every feature the kernel knows, mapped to whether it is in effect on the device
 * @param changeable the features user space may turn on and off; every other one is "[fixed]"
 * @param requested  the features user space asked for; one that is requested but not active is
 *                   held back by a feature it depends on ("[requested on]" in ethtool -k)
 */
public record Features(String device, Map<String, Boolean> active, Set<String> changeable, Set<String> requested) {
    public Features {
        active = Collections.unmodifiableMap(new LinkedHashMap<>(active));
        changeable = Collections.unmodifiableSet(new LinkedHashSet<>(changeable));
        requested = Collections.unmodifiableSet(new LinkedHashSet<>(requested));
    }

    /** Whether {@code name} is in effect; throws for a name the kernel does not know. */
    public boolean isActive(String name) {
        Boolean on = active.get(name);
        if (on == null) {
            throw new IllegalArgumentException("no feature named '" + name + "' on " + device);
        }
        return on;
    }

    /** Whether {@code name} is a known feature the device does not let user space change. */
    public boolean isFixed(String name) {
        return active.containsKey(name) && !changeable.contains(name);
    }
}
