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
 * @param terminatingUntilMillis 0 for a running pod; for a pod deleted with a grace period, the
 *                    wall-clock time at which it is removed for real. Until then it stays on the
 *                    fast path and its Service endpoints are terminating (not ready, still
 *                    serving), so its established flows drain while new flows avoid it.
 */
public record PodRecord(String name, Map<String, String> labels, String ip, String netns, String hostVeth, String podMac,
                        long createdAtMillis, long setupMicros, long terminatingUntilMillis) {
    public PodRecord {
        labels = labels == null ? Map.of() : Map.copyOf(labels);
    }

    /** The same pod, terminating until {@code untilMillis}. */
    public PodRecord terminatingUntil(long untilMillis) {
        return new PodRecord(name, labels, ip, netns, hostVeth, podMac, createdAtMillis, setupMicros, untilMillis);
    }

    boolean terminating() {
        return terminatingUntilMillis != 0;
    }
}
