package dev.shunt.agent;

import dev.shunt.ipam.Cidr;

import java.net.Inet4Address;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * How one agent runs: its node name, the node's pod CIDR, where it keeps state, where it serves
 * its API, the pod MTU (underlay MTU - 50 once the VXLAN overlay exists), and whether pods and
 * shunt0 keep their TX checksum, TSO and GSO offloads ({@code offloads}: on unless switched off,
 * and only if the kernel takes PACKET_VNET_HDR; docs/afpacket.md), and the VXLAN overlay to other
 * nodes ({@code overlay}; null on a node alone), and the etcd the node shares the cluster's state
 * through ({@code etcd}; null without one). With etcd the pod CIDR may be null: the agent claims
 * a /24 of {@link #CLUSTER_CIDR} when it starts ({@link Agent#start}).
 */
public record AgentConfig(String node, Cidr podCidr, Path stateDir, Path socket, int mtu, boolean offloads,
                          Overlay overlay, EtcdSettings etcd) {
    /**
     * Where the cluster's etcd is ({@code endpoint}, e.g. {@code http://198.18.1.254:2379}), the
     * key prefix, and the TTL of the lease that holds this node's subnet (docs/etcd.md).
     */
    public record EtcdSettings(String endpoint, String prefix, long leaseTtlSeconds) {
        public static final long DEFAULT_LEASE_TTL_SECONDS = 10;

        public EtcdSettings {
            if (endpoint == null || endpoint.isBlank()) {
                throw new IllegalArgumentException("the etcd endpoint is missing (e.g. http://198.18.1.254:2379)");
            }
            if (prefix == null || !prefix.startsWith("/") || !prefix.endsWith("/")) {
                throw new IllegalArgumentException("etcd prefix '" + prefix + "' must start and end with '/', e.g. /shunt/");
            }
            if (leaseTtlSeconds < 1 || leaseTtlSeconds > 3600) {
                throw new IllegalArgumentException("lease TTL " + leaseTtlSeconds + " s is outside 1-3600");
            }
        }
    }

    /**
     * The node's end of the overlay: its address on the underlay (the outer source of its VXLAN
     * packets, and the interface it sits on decides the underlay MTU), the VNI and the UDP port.
     */
    public record Overlay(Inet4Address underlayIp, int vni, int port) {
        public static final int DEFAULT_VNI = 1;
        public static final int DEFAULT_PORT = 4789;

        public Overlay {
            if (underlayIp == null) {
                throw new IllegalArgumentException("the overlay needs this node's underlay IP");
            }
            if (vni < 0 || vni > 0xFFFFFF) {
                throw new IllegalArgumentException("VNI " + vni + " is outside 0-16777215 (24 bits)");
            }
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("VXLAN port " + port + " is outside 1-65535");
            }
        }
    }

    public static final Path DEFAULT_STATE = Path.of("/var/lib/shunt");
    public static final Path DEFAULT_SOCKET = Path.of("/run/shunt/shunt.sock");
    public static final int DEFAULT_MTU = 1450;
    /** Every node's pod CIDR lies in it (a /24 per node); routed to the fast path on every node. */
    public static final Cidr CLUSTER_CIDR = Cidr.parse("10.244.0.0/16");
    /** ClusterIPs come from it; routed to the fast path so the node itself can reach Services. */
    public static final Cidr SERVICE_CIDR = Cidr.parse("10.96.0.0/12");
    /**
     * Node-port traffic is DNATed to this address of the Service CIDR by the node's one NodePort
     * rule ({@link NodeRules}) so that it is routed into the fast path: no Service may have it as
     * its ClusterIP (the allocator must skip it).
     */
    public static final String NODE_PORT_ADDRESS = "10.111.255.254";
    private static final Pattern NODE = Pattern.compile("[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?");

    /** Offloads on (if the kernel takes PACKET_VNET_HDR); {@code shunt agent --offloads off} turns them off. */
    public AgentConfig(String node, Cidr podCidr, Path stateDir, Path socket, int mtu) {
        this(node, podCidr, stateDir, socket, mtu, true);
    }

    /** A node alone: no overlay. */
    public AgentConfig(String node, Cidr podCidr, Path stateDir, Path socket, int mtu, boolean offloads) {
        this(node, podCidr, stateDir, socket, mtu, offloads, null);
    }

    /** No etcd: nodes come from manifests ({@code shunt apply}). */
    public AgentConfig(String node, Cidr podCidr, Path stateDir, Path socket, int mtu, boolean offloads, Overlay overlay) {
        this(node, podCidr, stateDir, socket, mtu, offloads, overlay, null);
    }

    public AgentConfig withOverlay(Overlay newOverlay) {
        return new AgentConfig(node, podCidr, stateDir, socket, mtu, offloads, newOverlay, etcd);
    }

    public AgentConfig withEtcd(EtcdSettings newEtcd) {
        return new AgentConfig(node, podCidr, stateDir, socket, mtu, offloads, overlay, newEtcd);
    }

    public AgentConfig withPodCidr(Cidr newPodCidr) {
        return new AgentConfig(node, newPodCidr, stateDir, socket, mtu, offloads, overlay, etcd);
    }

    public AgentConfig {
        if (node == null || !NODE.matcher(node).matches()) {
            throw new IllegalArgumentException("invalid node name '" + node
                    + "': 1 to 16 lower-case letters, digits and '-', starting and ending with a letter or digit");
        }
        if (podCidr == null && etcd == null) {
            throw new IllegalArgumentException("a node without etcd needs its pod CIDR (--pod-cidr)");
        }
        if (etcd != null && overlay == null) {
            throw new IllegalArgumentException("etcd needs the overlay: give the node's underlay IP (--underlay-ip), "
                    + "which the other nodes reach it at");
        }
        if (podCidr != null && !podCidr.isIpv4()) {
            throw new IllegalArgumentException("the pod CIDR must be IPv4 for now, not " + podCidr);
        }
        if (mtu < 576 || mtu > 65535) {
            throw new IllegalArgumentException("MTU " + mtu + " is outside 576-65535");
        }
    }
}
