package dev.shunt.service;

import java.net.Inet4Address;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An immutable snapshot of every Service port, built by the control plane and read by the fast
 * path without locks or allocation: the pipeline holds one reference and the control plane swaps
 * in a new snapshot (a volatile write) when Services or endpoints change.
 *
 * <p>Each Service port is an "entry" (an int). Lookups: {@link #findClusterIp} by (VIP, protocol,
 * port) and {@link #findNodePort} by (protocol, node port), each one hash probe. For an entry,
 * {@link #pickCluster} / {@link #pickExternal} choose a backend for a new flow from a Maglev table
 * over the endpoints that may take new flows ({@link EndpointSelection}) under the internal /
 * external traffic policy; -1 means none, and the client must be refused at once. Backends of an
 * entry are numbered 0..n-1 over ALL its endpoints (terminating ones included, so drained flows
 * can still be described).
 *
 * <p>A new snapshot built over the previous one ({@link #build(List, String, ServiceTable)}) takes
 * over the previous snapshot's Maglev table of every Service port whose candidate backends are the
 * same (same addresses and target port, in the same order), so a change to one Service's endpoints
 * costs one table build, not one per Service port. Sharing is safe because a table is immutable
 * and a snapshot only ever reads it; an entry whose cluster and external candidates are the same
 * shares one table for both.
 */
public final class ServiceTable {
    private static final ServiceTable EMPTY = build(List.of(), "");

    private final String[] names;
    private final String[] serviceNames;
    private final int[] vip;
    private final int[] protocol;
    private final int[] port;
    private final int[] nodePort;
    private final int[] affinitySeconds;
    private final boolean[] externalLocal;
    private final int[][] backendIp;
    private final int[][] backendPort;
    private final boolean[][] backendTerminating;
    private final MaglevTable[] clusterTable;
    private final int[][] clusterBackends;
    private final MaglevTable[] externalTable;
    private final int[][] externalBackends;
    private final LongIntMap byVipPort;
    private final LongIntMap byNodePort;
    private final LongIntMap vips;

    private ServiceTable(int n) {
        names = new String[n];
        serviceNames = new String[n];
        vip = new int[n];
        protocol = new int[n];
        port = new int[n];
        nodePort = new int[n];
        affinitySeconds = new int[n];
        externalLocal = new boolean[n];
        backendIp = new int[n][];
        backendPort = new int[n][];
        backendTerminating = new boolean[n][];
        clusterTable = new MaglevTable[n];
        clusterBackends = new int[n][];
        externalTable = new MaglevTable[n];
        externalBackends = new int[n][];
        byVipPort = new LongIntMap(n);
        byNodePort = new LongIntMap(n);
        vips = new LongIntMap(n);
    }

    public static ServiceTable empty() {
        return EMPTY;
    }

    /**
     * Builds the snapshot for {@code services} as seen from {@code localNode} (for Local traffic
     * policies). Refuses two Services claiming the same VIP:port or the same node port.
     */
    public static ServiceTable build(List<Service> services, String localNode) {
        return build(services, localNode, null);
    }

    /**
     * As {@link #build(List, String)}, reusing {@code previous}'s Maglev table for every Service
     * port (same VIP, protocol and port) whose candidate backends have not changed; every other
     * table is built anew. {@code previous} may be null (build everything).
     */
    public static ServiceTable build(List<Service> services, String localNode, ServiceTable previous) {
        int n = 0;
        for (Service s : services) {
            n += s.ports().size();
        }
        ServiceTable t = new ServiceTable(n);
        int e = 0;
        for (Service s : services) {
            int address = ipv4(s.clusterIp());
            t.vips.put(address & 0xffffffffL, 1);
            for (ServicePort p : s.ports()) {
                t.names[e] = s.name() + (p.name().isEmpty() ? "" : ":" + p.name()) + " " + p;
                t.serviceNames[e] = s.name();
                t.vip[e] = address;
                t.protocol[e] = p.protocol().number();
                t.port[e] = p.port();
                t.nodePort[e] = s.type() == Service.Type.NODE_PORT ? p.nodePort() : 0;
                t.affinitySeconds[e] = s.affinityTimeoutSeconds();
                t.externalLocal[e] = s.externalPolicy() == Service.TrafficPolicy.LOCAL;
                List<Endpoint> all = s.endpoints();
                t.backendIp[e] = new int[all.size()];
                t.backendPort[e] = new int[all.size()];
                t.backendTerminating[e] = new boolean[all.size()];
                for (int b = 0; b < all.size(); b++) {
                    t.backendIp[e][b] = ipv4(all.get(b).address());
                    t.backendPort[e][b] = p.targetPort();
                    t.backendTerminating[e][b] = all.get(b).terminating();
                }
                t.clusterBackends[e] = indexesOf(all, EndpointSelection.forNewFlows(all,
                        s.internalPolicy() == Service.TrafficPolicy.LOCAL, localNode));
                t.externalBackends[e] = indexesOf(all, EndpointSelection.forNewFlows(all, t.externalLocal[e], localNode));
                int before = previous == null ? -1 : previous.findClusterIp(address, t.protocol[e], p.port());
                t.clusterTable[e] = before >= 0 && previous.sameCandidates(before, false, t, e, false)
                        ? previous.clusterTable[before]
                        : maglev(all, t.clusterBackends[e], p.targetPort());
                if (Arrays.equals(t.externalBackends[e], t.clusterBackends[e])) {
                    t.externalTable[e] = t.clusterTable[e];
                } else if (before >= 0 && previous.sameCandidates(before, true, t, e, true)) {
                    t.externalTable[e] = previous.externalTable[before];
                } else {
                    t.externalTable[e] = maglev(all, t.externalBackends[e], p.targetPort());
                }
                int claimed = t.byVipPort.put(vipKey(address, t.protocol[e], p.port()), e);
                if (claimed >= 0) {
                    throw new IllegalArgumentException(t.names[e] + " and " + t.names[claimed] + " claim the same "
                            + s.clusterIp().getHostAddress() + ":" + p.port());
                }
                if (t.nodePort[e] != 0) {
                    claimed = t.byNodePort.put(nodePortKey(t.protocol[e], t.nodePort[e]), e);
                    if (claimed >= 0) {
                        throw new IllegalArgumentException(t.names[e] + " and " + t.names[claimed] + " claim node port " + t.nodePort[e]);
                    }
                }
                e++;
            }
        }
        return t;
    }

    /** The entry for a ClusterIP flow, or -1. */
    public int findClusterIp(int vipAddress, int ipProtocol, int dstPort) {
        return byVipPort.get(vipKey(vipAddress, ipProtocol, dstPort));
    }

    /** The entry for a NodePort flow, or -1. */
    public int findNodePort(int ipProtocol, int dstPort) {
        return byNodePort.get(nodePortKey(ipProtocol, dstPort));
    }

    /** Whether {@code address} is any Service's ClusterIP (e.g. to answer a ping, or refuse an unknown port). */
    public boolean isServiceIp(int address) {
        return vips.get(address & 0xffffffffL) >= 0;
    }

    /** A backend for a new flow from inside the cluster (internal policy), or -1 for "refuse". */
    public int pickCluster(int entry, long flowHash) {
        int slot = clusterTable[entry].lookup(flowHash);
        return slot < 0 ? -1 : clusterBackends[entry][slot];
    }

    /** A backend for a new NodePort flow from outside (external policy), or -1 for "refuse". */
    public int pickExternal(int entry, long flowHash) {
        int slot = externalTable[entry].lookup(flowHash);
        return slot < 0 ? -1 : externalBackends[entry][slot];
    }

    /**
     * The backend index of {@code ip:port} if it may take new flows under the internal
     * ({@code external} false) or external policy, else -1: used to honour a remembered ClientIP
     * affinity only while its backend is still a candidate. Linear in the candidates, no allocation.
     */
    public int candidate(int entry, int ip, int port, boolean external) {
        int[] candidates = external ? externalBackends[entry] : clusterBackends[entry];
        for (int b : candidates) {
            if (backendIp[entry][b] == ip && backendPort[entry][b] == port) {
                return b;
            }
        }
        return -1;
    }

    /** The index of backend {@code ip:port} among all of the entry's backends (terminating ones too), or -1. */
    public int backendIndex(int entry, int ip, int port) {
        for (int b = 0; b < backendIp[entry].length; b++) {
            if (backendIp[entry][b] == ip && backendPort[entry][b] == port) {
                return b;
            }
        }
        return -1;
    }

    /** A stable id of the Service port (its VIP, protocol and port), for conntrack purges. */
    public int servicePortId(int entry) {
        return (int) (Hashing.mix(vipKey(vip[entry], protocol[entry], port[entry])) & 0x7fffffff);
    }

    public int backendIp(int entry, int backend) {
        return backendIp[entry][backend];
    }

    public int backendPort(int entry, int backend) {
        return backendPort[entry][backend];
    }

    public boolean backendTerminating(int entry, int backend) {
        return backendTerminating[entry][backend];
    }

    public int backendCount(int entry) {
        return backendIp[entry].length;
    }

    public int affinitySeconds(int entry) {
        return affinitySeconds[entry];
    }

    public boolean externalLocal(int entry) {
        return externalLocal[entry];
    }

    public int vip(int entry) {
        return vip[entry];
    }

    public int protocol(int entry) {
        return protocol[entry];
    }

    public int port(int entry) {
        return port[entry];
    }

    public int nodePort(int entry) {
        return nodePort[entry];
    }

    public String name(int entry) {
        return names[entry];
    }

    /** The name of the Service the entry belongs to (without the port). */
    public String serviceName(int entry) {
        return serviceNames[entry];
    }

    public int entryCount() {
        return names.length;
    }

    /**
     * Whether this snapshot's entry {@code entry} (its cluster or external candidates) offers the
     * same backends, address and port in the same order, as {@code other}'s entry
     * {@code otherEntry}: then their Maglev tables, built from exactly these keys, are equal.
     */
    private boolean sameCandidates(int entry, boolean external, ServiceTable other, int otherEntry, boolean otherExternal) {
        int[] mine = external ? externalBackends[entry] : clusterBackends[entry];
        int[] theirs = otherExternal ? other.externalBackends[otherEntry] : other.clusterBackends[otherEntry];
        if (mine.length != theirs.length) {
            return false;
        }
        for (int i = 0; i < mine.length; i++) {
            if (backendIp[entry][mine[i]] != other.backendIp[otherEntry][theirs[i]]
                    || backendPort[entry][mine[i]] != other.backendPort[otherEntry][theirs[i]]) {
                return false;
            }
        }
        return true;
    }

    /** The Maglev table new cluster-side flows of the entry are picked from (shared between snapshots while unchanged). */
    MaglevTable clusterTable(int entry) {
        return clusterTable[entry];
    }

    /** The Maglev table new external (NodePort) flows of the entry are picked from. */
    MaglevTable externalTable(int entry) {
        return externalTable[entry];
    }

    static long vipKey(int vipAddress, int ipProtocol, int dstPort) {
        return ((vipAddress & 0xffffffffL) << 24) | ((long) (ipProtocol & 0xff) << 16) | (dstPort & 0xffff);
    }

    static long nodePortKey(int ipProtocol, int dstPort) {
        return ((long) (ipProtocol & 0xff) << 16) | (dstPort & 0xffff);
    }

    /** An IPv4 address as a big-endian int, the way the packet layer reads it. */
    public static int ipv4(Inet4Address address) {
        byte[] b = address.getAddress();
        return ((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff);
    }

    /**
     * Positions of {@code chosen} in {@code all}, ordered by address: Maglev's population order
     * follows the backend order, so every node (and every rebuild) must list backends the same way
     * to get the same table.
     */
    private static int[] indexesOf(List<Endpoint> all, List<Endpoint> chosen) {
        return chosen.stream()
                .sorted(java.util.Comparator.comparingLong(e -> ipv4(e.address()) & 0xffffffffL))
                .mapToInt(all::indexOf)
                .toArray();
    }

    private static MaglevTable maglev(List<Endpoint> all, int[] chosen, int targetPort) {
        List<String> keys = new ArrayList<>(chosen.length);
        for (int index : chosen) {
            keys.add(all.get(index).address().getHostAddress() + ":" + targetPort);
        }
        return MaglevTable.build(keys);
    }
}
