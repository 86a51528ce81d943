package dev.shunt.service;

import java.net.Inet4Address;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A Kubernetes-style Service with its current endpoints. IPv4 (the lab cluster is single-stack
 * IPv4: Services in 10.96.0.0/12).
 *
 * @param affinityTimeoutSeconds 0 for no session affinity; otherwise ClientIP affinity for this long
 * @param externalPolicy         externalTrafficPolicy: LOCAL keeps NodePort traffic on this node's
 *                               endpoints and the client's source address
 * @param internalPolicy         internalTrafficPolicy: LOCAL keeps ClusterIP traffic from pods on
 *                               their own node's endpoints
 */
public record Service(String name, Inet4Address clusterIp, Type type, List<ServicePort> ports,
                      int affinityTimeoutSeconds, TrafficPolicy externalPolicy, TrafficPolicy internalPolicy,
                      List<Endpoint> endpoints) {
    /** Kubernetes' default ClientIP affinity timeout (3 hours). */
    public static final int DEFAULT_AFFINITY_SECONDS = 10800;
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z]([-a-z0-9]{0,61}[a-z0-9])?");

    public enum Type { CLUSTER_IP, NODE_PORT }

    public enum TrafficPolicy { CLUSTER, LOCAL }

    public Service {
        if (name == null || !DNS_LABEL.matcher(name).matches()) {
            throw new IllegalArgumentException("invalid Service name '" + name
                    + "': a DNS label (lower-case letters, digits and '-', starting with a letter, at most 63)");
        }
        if (clusterIp == null) {
            throw new IllegalArgumentException("Service " + name + " has no ClusterIP");
        }
        if (ports == null || ports.isEmpty()) {
            throw new IllegalArgumentException("Service " + name + " has no ports");
        }
        Set<String> seen = new HashSet<>();
        for (ServicePort p : ports) {
            if (!seen.add(p.protocol() + "/" + p.port())) {
                throw new IllegalArgumentException("Service " + name + " lists port " + p.port() + "/" + p.protocol() + " twice");
            }
            if (type == Type.CLUSTER_IP && p.nodePort() != 0) {
                throw new IllegalArgumentException("Service " + name + " is ClusterIP but port " + p + " has a nodePort");
            }
        }
        if (affinityTimeoutSeconds < 0 || affinityTimeoutSeconds > 86400) {
            throw new IllegalArgumentException("session affinity timeout " + affinityTimeoutSeconds + " s is outside 0-86400");
        }
        type = type == null ? Type.CLUSTER_IP : type;
        externalPolicy = externalPolicy == null ? TrafficPolicy.CLUSTER : externalPolicy;
        internalPolicy = internalPolicy == null ? TrafficPolicy.CLUSTER : internalPolicy;
        ports = List.copyOf(ports);
        endpoints = endpoints == null ? List.of() : List.copyOf(endpoints);
    }

    /** A ClusterIP Service with defaults (no affinity, Cluster policies). */
    public static Service clusterIp(String name, Inet4Address clusterIp, List<ServicePort> ports, List<Endpoint> endpoints) {
        return new Service(name, clusterIp, Type.CLUSTER_IP, ports, 0, TrafficPolicy.CLUSTER, TrafficPolicy.CLUSTER, endpoints);
    }

    public Service withEndpoints(List<Endpoint> newEndpoints) {
        return new Service(name, clusterIp, type, ports, affinityTimeoutSeconds, externalPolicy, internalPolicy, newEndpoints);
    }

    public boolean hasAffinity() {
        return affinityTimeoutSeconds > 0;
    }
}
