package dev.shunt.agent;

import java.util.List;
import java.util.Map;

/**
 * A Service as the API takes it and the state directory keeps it: what the user asked for plus
 * what the agent allocated (ClusterIP, node ports). Endpoints are not part of it: they follow from
 * the selector and the pods of the moment. Names and values are Kubernetes' spellings ("ClusterIP",
 * "NodePort", "Cluster", "Local", "TCP"), so the JSON reads like a Service manifest's spec.
 *
 * @param clusterIp             null or empty in a request: allocate one
 * @param type                  "ClusterIP" (default) or "NodePort"
 * @param affinitySeconds       0: no session affinity; otherwise ClientIP affinity for this long
 * @param externalTrafficPolicy "Cluster" (default) or "Local"
 * @param internalTrafficPolicy "Cluster" (default) or "Local"
 */
public record ServiceSpec(String name, String clusterIp, String type, List<Port> ports, Map<String, String> selector,
                          int affinitySeconds, String externalTrafficPolicy, String internalTrafficPolicy,
                          long createdAtMillis) {
    public static final String CLUSTER_IP = "ClusterIP";
    public static final String NODE_PORT = "NodePort";
    public static final String CLUSTER = "Cluster";
    public static final String LOCAL = "Local";

    /**
     * One Service port.
     *
     * @param protocol   "TCP" or "UDP"
     * @param targetPort 0 in a request: the same as {@code port}
     * @param nodePort   0 in a request of a NodePort Service: allocate one; always 0 for ClusterIP
     */
    public record Port(String name, String protocol, int port, int targetPort, int nodePort) {
        public Port {
            name = name == null ? "" : name;
        }
    }

    public ServiceSpec {
        ports = ports == null ? List.of() : List.copyOf(ports);
        selector = selector == null ? Map.of() : Map.copyOf(selector);
    }
}
