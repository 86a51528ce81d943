package dev.shunt.state;

import java.util.Map;
import java.util.TreeMap;

/**
 * A pod: where it runs, its labels (which Services select it by) and, once it has one, its
 * address.
 *
 * @param node        the node it runs on; empty in a manifest that leaves it to the node whose
 *                    agent applies it
 * @param ip          its address; empty while it has none (a pod of this node gets one from the
 *                    node's pod CIDR when it is created)
 * @param terminating it is being deleted with a grace period: its endpoints stop taking new
 *                    connections while established ones drain. Set by the agent that runs it, never
 *                    by a manifest.
 */
public record Pod(String name, String node, Map<String, String> labels, String ip, boolean terminating) implements StateObject {
    public Pod {
        node = node == null ? "" : node;
        labels = labels == null ? Map.of() : java.util.Collections.unmodifiableSortedMap(new TreeMap<>(labels));
        ip = ip == null ? "" : ip;
    }

    @Override
    public Kind kind() {
        return Kind.POD;
    }
}
