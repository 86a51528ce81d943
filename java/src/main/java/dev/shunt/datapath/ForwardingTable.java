package dev.shunt.datapath;

import java.util.Map;

/**
 * Where an IPv4 destination goes, as an immutable snapshot swapped in by the control plane: a
 * local pod (its port and MAC), another node's pod CIDR (the overlay port), or anything else (the
 * host port, i.e. the node's own stack, which routes to the world with its masquerade rule).
 *
 * <p>Pods see one gateway, {@link #GATEWAY_IP} with MAC {@link #GATEWAY_MAC}, answered by proxy
 * ARP: every hop is an L3 decision here. Remote pod CIDRs share one prefix length (a /24 per node
 * by default), so a remote lookup is one hash probe of {@code dst & mask}. Lookups allocate nothing.
 */
public final class ForwardingTable {
    /** The link-local gateway every pod routes through (Calico's choice). */
    public static final int GATEWAY_IP = (169 << 24) | (254 << 16) | (1 << 8) | 1;
    /** A locally administered MAC no real NIC has: ee:ee:ee:ee:ee:ee. */
    public static final long GATEWAY_MAC = 0xeeeeeeeeeeeeL;

    public static final int NO_PORT = -1;

    private final int hostPort;
    private final long hostMac;
    private final int overlayPort;
    private final long[] remoteMacs;
    private final int nodeCidrPrefixLength;
    private final int remoteMask;
    // Local pods, open addressing over two parallel arrays: the address (0: empty slot) and the
    // next hop (port << 48 | MAC). A probe loads both at one index, so the hop's load does not
    // wait for the key's, as a map to an index into a separate MAC array would make it.
    private final int[] podKeys;
    private final long[] podHops;
    private final IntMap remoteNodes;
    private final int[] podIpByPort;
    private final int nodeAddress;

    private ForwardingTable(Builder b) {
        this.nodeAddress = b.nodeAddress;
        this.hostPort = b.hostPort;
        this.hostMac = b.hostMac;
        this.overlayPort = b.overlayPort;
        int maxNode = -1;
        for (int node : b.remoteCidrs.values()) {
            maxNode = Math.max(maxNode, node);
        }
        this.remoteMacs = new long[maxNode + 1];
        b.remoteMacs.forEach((node, mac) -> remoteMacs[node] = mac);
        this.nodeCidrPrefixLength = b.nodeCidrPrefixLength;
        this.remoteMask = mask(b.nodeCidrPrefixLength);
        int podSlots = Integer.highestOneBit(Math.max(4, b.pods.size() * 2 - 1)) << 1;
        this.podKeys = new int[podSlots];
        this.podHops = new long[podSlots];
        int maxPort = Math.max(hostPort, overlayPort);
        for (long[] pod : b.pods.values()) {
            maxPort = Math.max(maxPort, (int) pod[0]);
        }
        this.podIpByPort = new int[maxPort + 1];
        for (Map.Entry<Integer, long[]> pod : b.pods.entrySet()) {
            int slot = IntMap.spread(pod.getKey()) & (podSlots - 1);
            while (podKeys[slot] != 0 && podKeys[slot] != pod.getKey()) {
                slot = (slot + 1) & (podSlots - 1);
            }
            podKeys[slot] = pod.getKey();
            podHops[slot] = pod.getValue()[0] << 48 | pod.getValue()[1] & 0xFFFF_FFFF_FFFFL;
            podIpByPort[(int) pod.getValue()[0]] = pod.getKey();
        }
        this.remoteNodes = new IntMap(b.remoteCidrs.size());
        for (Map.Entry<Integer, Integer> r : b.remoteCidrs.entrySet()) {
            remoteNodes.put(r.getKey(), r.getValue());
        }
    }

    public static Builder builder(int hostPort) {
        return new Builder(hostPort);
    }

    /** The port of the local pod with address {@code ip}, or {@link #NO_PORT}. */
    public int podPort(int ip) {
        int slot = podSlot(ip);
        return slot < 0 ? NO_PORT : hopPort(podHops[slot]);
    }

    /** The MAC of the local pod {@code ip}; call only after {@link #podPort} found it. */
    public long podMac(int ip) {
        int slot = podSlot(ip);
        return slot < 0 ? 0 : hopMac(podHops[slot]);
    }

    /** The slot of local pod {@code ip} in podKeys and podHops, or -1. */
    private int podSlot(int ip) {
        int[] keys = podKeys;
        int mask = keys.length - 1;
        for (int slot = IntMap.spread(ip) & mask; ip != 0; slot = (slot + 1) & mask) {
            int key = keys[slot];
            if (key == ip) {
                return slot;
            }
            if (key == 0) {
                break;
            }
        }
        return -1;
    }

    /**
     * The address other nodes reach this node's fast path by (its pod CIDR's network address,
     * never a pod's), or 0 when it has none: node-port flows to a backend on another node are
     * source-NATed to it, or the backend's replies would go straight to the client (see
     * {@link Pipeline}).
     */
    public int nodeAddress() {
        return nodeAddress;
    }

    /** The remote node (an index the overlay understands) owning {@code ip}'s pod CIDR, or -1. */
    public int remoteNode(int ip) {
        int v = remoteNodes.get(ip & remoteMask);
        return v == IntMap.MISSING ? -1 : v;
    }

    /**
     * The port a packet to {@code ip} leaves by: a local pod's port, the overlay port for another
     * node's pod, else the host port. The port half of {@link #nextHop}.
     */
    public int route(int ip) {
        return hopPort(nextHop(ip));
    }

    public int hostPort() {
        return hostPort;
    }

    /** The MAC of the host stack's end of the host port: the destination of frames for the host. */
    public long hostMac() {
        return hostMac;
    }

    /**
     * The destination MAC for a frame to another node's pod on the overlay: that node's VTEP MAC,
     * which the kernel VXLAN device maps to the node's underlay address through its FDB.
     */
    public long remoteNodeMac(int node) {
        return node >= 0 && node < remoteMacs.length ? remoteMacs[node] : 0;
    }

    /**
     * Where a packet to {@code ip} goes, in one probe: the output port in the top 16 bits and the
     * next hop's MAC in the low 48 ({@link #hopPort}, {@link #hopMac}): a local pod's port and
     * MAC, else the overlay port and the remote node's VTEP MAC, else the host port and host MAC.
     */
    public long nextHop(int ip) {
        int slot = podSlot(ip);
        if (slot >= 0) {
            return podHops[slot];
        }
        if (overlayPort != NO_PORT) {
            int node = remoteNodes.get(ip & remoteMask);
            if (node != IntMap.MISSING) {
                return ((long) overlayPort << 48) | remoteNodeMac(node);
            }
        }
        return ((long) (hostPort & 0xffff) << 48) | hostMac;
    }

    public static int hopPort(long hop) {
        return (int) (hop >>> 48);
    }

    public static long hopMac(long hop) {
        return hop & 0xFFFF_FFFF_FFFFL;
    }

    /** The address of the pod attached to {@code port}, or 0 when none is (anti-spoofing, one array read). */
    public int podIpOfPort(int port) {
        return port >= 0 && port < podIpByPort.length ? podIpByPort[port] : 0;
    }

    public int overlayPort() {
        return overlayPort;
    }

    public int nodeCidrPrefixLength() {
        return nodeCidrPrefixLength;
    }

    static int mask(int prefixLength) {
        return prefixLength == 0 ? 0 : -1 << (32 - prefixLength);
    }

    /** Collects a snapshot's contents; not used by the fast path. */
    public static final class Builder {
        private final int hostPort;
        private long hostMac;
        private int nodeAddress;
        private int overlayPort = NO_PORT;
        private final Map<Integer, Long> remoteMacs = new java.util.HashMap<>();
        private int nodeCidrPrefixLength = 24;
        private final Map<Integer, long[]> pods = new java.util.LinkedHashMap<>();
        private final Map<Integer, Integer> remoteCidrs = new java.util.LinkedHashMap<>();

        private Builder(int hostPort) {
            this.hostPort = hostPort;
        }

        public Builder pod(int ip, int port, long mac) {
            if (port < 0 || port > 0xffff) {
                throw new IllegalArgumentException("port id " + port + " is outside 0-65535");
            }
            if (ip == 0) {
                throw new IllegalArgumentException("0.0.0.0 is no pod address");
            }
            pods.put(ip, new long[] {port, mac});
            return this;
        }

        public Builder overlay(int port, int perNodePrefixLength) {
            this.overlayPort = port;
            this.nodeCidrPrefixLength = perNodePrefixLength;
            return this;
        }

        /** Another node's pod CIDR (its network address) and that node's index. */
        public Builder remoteNode(int cidrNetwork, int node) {
            remoteCidrs.put(cidrNetwork & mask(nodeCidrPrefixLength), node);
            return this;
        }

        /** As {@link #remoteNode(int, int)}, with the node's VTEP MAC. */
        public Builder remoteNode(int cidrNetwork, int node, long vtepMac) {
            remoteMacs.put(node, vtepMac);
            return remoteNode(cidrNetwork, node);
        }

        public Builder hostMac(long mac) {
            this.hostMac = mac;
            return this;
        }

        /** See {@link ForwardingTable#nodeAddress()}. */
        public Builder nodeAddress(int ip) {
            this.nodeAddress = ip;
            return this;
        }

        public ForwardingTable build() {
            return new ForwardingTable(this);
        }
    }

    /**
     * Open addressing int → int, filled once, read without allocation. A slot is one long,
     * {@code key << 32 | (value + 1)}, 0 when empty: a probe reads one array element, not three.
     * Values must not be negative (ports, indexes).
     */
    static final class IntMap {
        static final int MISSING = Integer.MIN_VALUE;
        private final long[] slots;
        private final int mask;

        IntMap(int expected) {
            int capacity = Integer.highestOneBit(Math.max(4, expected * 2 - 1)) << 1;
            slots = new long[capacity];
            mask = capacity - 1;
        }

        void put(int key, int value) {
            if (value < 0) {
                throw new IllegalArgumentException("IntMap values must not be negative: " + value);
            }
            int slot = spread(key) & mask;
            long v;
            while ((v = slots[slot]) != 0 && (int) (v >>> 32) != key) {
                slot = (slot + 1) & mask;
            }
            slots[slot] = (long) key << 32 | (value + 1L);
        }

        int get(int key) {
            int slot = spread(key) & mask;
            long v;
            while ((v = slots[slot]) != 0) {
                if ((int) (v >>> 32) == key) {
                    return (int) v - 1;
                }
                slot = (slot + 1) & mask;
            }
            return MISSING;
        }

        static int spread(int key) {
            int h = key * 0x9E3779B9;
            return h ^ (h >>> 16);
        }
    }
}
