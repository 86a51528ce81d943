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
 * nodes ({@code overlay}; null on a node alone).
 */
public record AgentConfig(String node, Cidr podCidr, Path stateDir, Path socket, int mtu, boolean offloads,
                          Overlay overlay) {
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

    public AgentConfig withOverlay(Overlay newOverlay) {
        return new AgentConfig(node, podCidr, stateDir, socket, mtu, offloads, newOverlay);
    }

    public AgentConfig {
        if (node == null || !NODE.matcher(node).matches()) {
            throw new IllegalArgumentException("invalid node name '" + node
                    + "': 1 to 16 lower-case letters, digits and '-', starting and ending with a letter or digit");
        }
        if (!podCidr.isIpv4()) {
            throw new IllegalArgumentException("the pod CIDR must be IPv4 for now, not " + podCidr);
        }
        if (mtu < 576 || mtu > 65535) {
            throw new IllegalArgumentException("MTU " + mtu + " is outside 576-65535");
        }
    }
}
