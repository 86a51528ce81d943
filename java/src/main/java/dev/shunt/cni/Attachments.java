package dev.shunt.cni;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The node's side of CNI: what makes, finds and removes pods for attachments. The agent implements
 * it, so that a pod made through CNI is a pod like any other (same plumbing, fast path and
 * Services); {@link CniPlugin} speaks the protocol around it.
 */
public interface Attachments {
    /**
     * An attachment to make.
     *
     * @param network the network's name (GC works per network)
     * @param podName the Shunt pod it becomes ({@link CniRequest#podName()})
     * @param address the pod's address as a delegated IPAM plugin chose it, or null to take one from Shunt's IPAM
     * @param ipam    {@link NetworkConfig#SHUNT_IPAM} or the delegated plugin's type
     */
    record Request(AttachmentKey key, String network, String podName, Map<String, String> labels, Path netns,
                   InetAddress address, String ipam) {}

    /**
     * What an attachment is: the host end of its veth and the pod's interface.
     *
     * @param address the pod's address with its prefix length (a /32)
     * @param gateway the pod's default gateway
     */
    record Made(String podName, String hostInterface, String hostMac, String podMac, String address, String gateway, int mtu) {}

    /** An attachment GC removed, with the IPAM that gave its address. */
    record Removed(AttachmentKey key, String ipam) {}

    /** Makes the attachment (veth, address, routes, fast path, Services): all of it, or nothing. */
    Made add(Request request);

    /**
     * Removes what exists of an attachment: its pod, found by key; without one, a left-over veth of
     * {@code podName} and any address the attachment holds in Shunt's IPAM. Nothing there is fine.
     */
    void delete(AttachmentKey key, String podName);

    /**
     * The attachment as the node holds it (its pod, in {@code netns}, with its veth up, on the fast
     * path, its Shunt IPAM address reserved), or error 111 saying what is missing.
     */
    Made check(AttachmentKey key, Path netns);

    /**
     * GC: removes the attachments of {@code network} that are not in {@code valid}, then every Shunt
     * pod interface and Shunt IPAM address that no attachment or pod holds. Returns what it removed.
     */
    List<Removed> collect(String network, Set<AttachmentKey> valid);

    /** STATUS: why an ADD could not be serviced now (e.g. the pod CIDR is full), or empty. */
    Optional<String> unavailable();
}
