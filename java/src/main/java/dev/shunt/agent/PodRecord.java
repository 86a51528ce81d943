package dev.shunt.agent;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.shunt.netns.NetworkNamespace;

import java.nio.file.Path;
import java.util.Map;

/**
 * A pod as the agent made it, persisted in the state directory so a restarted agent can adopt it.
 *
 * @param netns     the pod's network namespace: a name under /run/netns for a pod the agent made, the
 *                  runtime's path (CNI_NETNS) for a pod made through CNI
 * @param hostVeth  the node-side end of its veth pair (the fast path's port)
 * @param podMac    the MAC of the pod's interface, for the forwarding table
 * @param createdAtMillis wall-clock creation time
 * @param setupMicros how long creating the pod took in the agent (plumbing, fast path, record),
 *                    for the p50/p99 figures
 * @param terminatingUntilMillis 0 for a running pod; for a pod deleted with a grace period, the
 *                    wall-clock time at which it is removed for real. Until then it stays on the
 *                    fast path and its Service endpoints are terminating (not ready, still
 *                    serving), so its established flows drain while new flows avoid it.
 * @param attachment the CNI attachment that made it, or null for a pod made by {@code shunt pod add}
 */
public record PodRecord(String name, Map<String, String> labels, String ip, String netns, String hostVeth, String podMac,
                        long createdAtMillis, long setupMicros, long terminatingUntilMillis,
                        @JsonInclude(JsonInclude.Include.NON_NULL) ContainerAttachment attachment) {
    public PodRecord {
        labels = labels == null ? Map.of() : Map.copyOf(labels);
    }

    /** A pod the agent made itself (no CNI attachment). */
    public PodRecord(String name, Map<String, String> labels, String ip, String netns, String hostVeth, String podMac,
                     long createdAtMillis, long setupMicros, long terminatingUntilMillis) {
        this(name, labels, ip, netns, hostVeth, podMac, createdAtMillis, setupMicros, terminatingUntilMillis, null);
    }

    /** The same pod, terminating until {@code untilMillis}. */
    public PodRecord terminatingUntil(long untilMillis) {
        return new PodRecord(name, labels, ip, netns, hostVeth, podMac, createdAtMillis, setupMicros, untilMillis, attachment);
    }

    /** The same pod with other labels (its CNI attachment, if any, kept). */
    PodRecord withLabels(Map<String, String> newLabels) {
        return new PodRecord(name, newLabels, ip, netns, hostVeth, podMac, createdAtMillis, setupMicros, terminatingUntilMillis, attachment);
    }

    /** The same pod with its setup time. */
    PodRecord withSetupMicros(long micros) {
        return new PodRecord(name, labels, ip, netns, hostVeth, podMac, createdAtMillis, micros, terminatingUntilMillis, attachment);
    }

    boolean terminating() {
        return terminatingUntilMillis != 0;
    }

    /** The pod's interface inside its namespace. */
    public String ifname() {
        return attachment == null ? PodNetwork.POD_IFNAME : attachment.ifname();
    }

    /** Its namespace, by name or (CNI) by path. */
    public NetworkNamespace namespace() {
        return netns.startsWith("/") ? NetworkNamespace.at(Path.of(netns)) : NetworkNamespace.named(netns);
    }

    /** Whether its namespace is still there. */
    boolean namespaceExists() {
        return netns.startsWith("/") ? java.nio.file.Files.exists(Path.of(netns)) : NetworkNamespace.exists(netns);
    }
}
