package dev.shunt.state;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A Service as declared (a Kubernetes {@code v1} Service's spec, the part Shunt acts on). It is not
 * the data plane's {@link dev.shunt.service.Service}: that one has its ClusterIP and node ports
 * settled and its endpoints resolved; the agent builds it from this. Spellings are Kubernetes'
 * ("ClusterIP", "NodePort", "Cluster", "Local", "TCP"), as in the agent's Service records.
 *
 * @param type                   {@value #CLUSTER_IP} or {@value #NODE_PORT}
 * @param clusterIp              the ClusterIP; empty: the agent allocates one
 * @param selector               the labels a pod must carry (all of them) to be an endpoint
 * @param affinityTimeoutSeconds 0: no session affinity; otherwise ClientIP affinity for this long
 *                               (Kubernetes' sessionAffinity ClientIP + its timeoutSeconds)
 * @param externalTrafficPolicy  {@value #CLUSTER} or {@value #LOCAL}: node-port traffic to any
 *                               endpoint, or to this node's only (keeping the client's address)
 * @param internalTrafficPolicy  {@value #CLUSTER} or {@value #LOCAL}: pods' ClusterIP traffic to any
 *                               endpoint, or to their own node's only
 */
public record Service(String name, String type, String clusterIp, List<Port> ports, Map<String, String> selector,
                      int affinityTimeoutSeconds, String externalTrafficPolicy, String internalTrafficPolicy)
        implements StateObject {
    public static final String CLUSTER_IP = "ClusterIP";
    public static final String NODE_PORT = "NodePort";
    public static final String CLUSTER = "Cluster";
    public static final String LOCAL = "Local";
    /** Kubernetes' ClientIP affinity timeout when a manifest gives none (3 hours). */
    public static final int DEFAULT_AFFINITY_SECONDS = 10800;

    /**
     * One port (a Kubernetes ServicePort).
     *
     * @param name       empty when unnamed
     * @param protocol   "TCP" or "UDP"
     * @param targetPort the pods' port (a manifest that leaves it out means {@code port})
     * @param nodePort   0: none (ClusterIP), or allocated by the agent (NodePort)
     */
    public record Port(String name, String protocol, int port, int targetPort, int nodePort) {
        public Port {
            name = name == null ? "" : name;
        }
    }

    public Service {
        type = type == null ? CLUSTER_IP : type;
        clusterIp = clusterIp == null ? "" : clusterIp;
        ports = ports == null ? List.of() : List.copyOf(ports);
        selector = selector == null ? Map.of() : java.util.Collections.unmodifiableSortedMap(new TreeMap<>(selector));
        externalTrafficPolicy = externalTrafficPolicy == null ? CLUSTER : externalTrafficPolicy;
        internalTrafficPolicy = internalTrafficPolicy == null ? CLUSTER : internalTrafficPolicy;
    }

    @Override
    public Kind kind() {
        return Kind.SERVICE;
    }

    /** Whether a pod with {@code labels} is one of this Service's endpoints: it carries every selector label. */
    public boolean selects(Map<String, String> labels) {
        return !selector.isEmpty() && selector.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
    }
}
