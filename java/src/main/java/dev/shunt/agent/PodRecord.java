package dev.shunt.agent;

import java.util.Map;

/**
 * A pod as the agent made it, persisted in the state directory so a restarted agent can adopt it.
 *
 * @param netns     the pod's network namespace under /run/netns
 * @param hostVeth  the node-side end of its veth pair (the fast path's port)
 * @param podMac    the MAC of the pod's eth0, for the forwarding table
 * @param createdAtMillis wall-clock creation time
 * @param setupMicros how long creating the pod took in the agent (plumbing, fast path, record),
 *                    for the p50/p99 figures
 */
public record PodRecord(String name, Map<String, String> labels, String ip, String netns, String hostVeth, String podMac,
                        long createdAtMillis, long setupMicros) {
    public PodRecord {
        labels = labels == null ? Map.of() : Map.copyOf(labels);
    }
}
