package dev.shunt.agent;

import dev.shunt.datapath.AffinityTable;
import dev.shunt.datapath.ConntrackDescriptor;
import dev.shunt.datapath.ConntrackTable;
import dev.shunt.datapath.DatapathCounters;
import dev.shunt.datapath.ForwardingTable;
import dev.shunt.datapath.Pipeline;
import dev.shunt.datapath.PollLoop;
import dev.shunt.netlink.Link;
import dev.shunt.netlink.MacAddress;
import dev.shunt.netlink.NetlinkException;
import dev.shunt.netlink.NetlinkHandle;
import dev.shunt.netlink.TcFilter;
import dev.shunt.netns.NetworkNamespace;
import dev.shunt.port.AfPacketPort;
import dev.shunt.service.ServiceTable;
import dev.shunt.sys.BpfProgram;
import dev.shunt.sys.Errno;
import dev.shunt.sys.Fd;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The agent's side of the data plane: one {@link Pipeline} and its {@link PollLoop}, an AF_PACKET
 * port on the node end of every pod's veth, and the tc ingress drop that keeps the kernel from
 * also handling what the port takes (a packet socket sees frames before tc ingress).
 *
 * <p>Offloads: when the agent wants them and the kernel takes PACKET_VNET_HDR (checked once at
 * start), every port carries a virtio-net header and 68 KiB slots ({@link AfPacketPort.Config#gso}),
 * and pods (and shunt0) keep TX checksum, TSO and GSO on: a pod's 64 KB TSO frames and
 * checksum-partial frames cross the fast path as one unit. Otherwise they are switched off on the
 * pod side, so frames reach the ports complete and MTU-sized (2 KiB slots, no header).
 *
 * <p>Port id 0 is the host port (see {@link HostPort}); pods get 1, 2, ... Called on the agent's
 * API thread only.
 */
final class FastPath implements AutoCloseable {
    static final int HOST_PORT = 0;
    private static final int TC_PRIORITY = 1;
    /**
     * V2 rings unless {@code -Dshunt.rxRing=v3} (with {@code -Dshunt.v3RetireMs}, default 1): a
     * measurement switch, not an operator setting (docs/afpacket.md has why V2 is the default).
     */
    private final AfPacketPort.Config portConfig;
    /** Ports carry virtio-net headers and pods keep their TX offloads. */
    private final boolean offloads;
    /** Why offloads are off, or "on". */
    private final String offloadState;

    private final NetlinkHandle netlink;
    /** The node's namespace: packet sockets must be created inside it, whichever thread asks. */
    private final Fd nodeNamespace;
    private final Pipeline pipeline;
    private final PollLoop loop;
    private final BpfProgram tcDrop = BpfProgram.tcDrop();
    private final Map<String, AfPacketPort> ports = new HashMap<>();
    private final Map<String, PodRecord> pods = new HashMap<>();
    private final BitSet usedIds = new BitSet();
    private AfPacketPort hostPort;
    private long hostMac;
    /** The VXLAN device's port (null on a node without overlay) and the remote nodes behind it. */
    private AfPacketPort overlayPort;
    private List<RemoteNode> remoteNodes = List.of();
    /** This node's pod CIDR network address: what node-port flows to other nodes' backends are source-NATed to. */
    private int nodeAddress;

    /** Another node's pod CIDR (network address and prefix length) and its VTEP MAC, as the fast path routes to it. */
    record RemoteNode(int podNetwork, int prefixLength, long vtepMac) {}

    /**
     * @param conntrack the connection table, fresh or adopted from an earlier agent process
     *                  ({@link ConntrackFile}); its entries hold addresses, ports and Service port
     *                  ids derived from VIP, protocol and port, never port ids, so pods need not
     *                  get the same port ids after a restart
     */
    FastPath(NetlinkHandle netlink, Fd nodeNamespace, ConntrackTable conntrack, String threadName, boolean wantOffloads) {
        this.netlink = netlink;
        boolean kernelTakesHeader = wantOffloads && NetworkNamespace.callIn(nodeNamespace, "vnet-check",
                dev.shunt.sys.PacketSockets::vnetHeaderSupported);
        this.offloads = kernelTakesHeader;
        this.offloadState = !wantOffloads ? "off (--offloads off)"
                : kernelTakesHeader ? "on" : "off (the kernel refused PACKET_VNET_HDR)";
        this.portConfig = portConfig(offloads);
        this.nodeNamespace = nodeNamespace;
        usedIds.set(HOST_PORT);
        this.pipeline = new Pipeline(conntrack, new AffinityTable(65536),
                ForwardingTable.builder(HOST_PORT).build(), flowSeed(conntrack));
        this.loop = new PollLoop(pipeline, 1000 * micros("shunt.idleSpinMicros", PollLoop.DEFAULT_SPIN_MICROS),
                1000 * micros("shunt.idleYieldMicros", 0), threadName);
    }

    /** A tuning property in µs (measurement scripts set them); a value that is not one stops the start. */
    private static long micros(String property, long byDefault) {
        String text = System.getProperty(property);
        if (text == null) {
            return byDefault;
        }
        try {
            long value = Long.parseLong(text.strip());
            if (value >= 0 && value <= 1_000_000) {
                return value;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("-D" + property + "=" + text + ": expected microseconds from 0 to 1000000");
    }

    /**
     * With offloads: 75 + 75 slots of 68 KiB (5 blocks of 1 MiB per ring, 10 MiB per port; a TX ring
     * holds a full poll batch of 64); without: 256 + 256 slots of 2 KiB (1 MiB per port).
     */
    private static AfPacketPort.Config portConfig(boolean offloads) {
        AfPacketPort.Config config = offloads ? AfPacketPort.Config.gso(75, 75)
                : AfPacketPort.Config.defaults().withFrames(256, 256);
        String bypass = System.getProperty("shunt.qdiscBypass"); // measurement only (measure-offload.sh)
        if (bypass != null) {
            config = config.withQdiscBypass(Boolean.parseBoolean(bypass));
        }
        String ring = System.getProperty("shunt.rxRing", "v2");
        return switch (ring) {
            case "v2" -> config;
            case "v3" -> config.withVersion(AfPacketPort.Version.V3)
                    .withV3Blocks(config.rxBlockSize(), Integer.getInteger("shunt.v3RetireMs", AfPacketPort.Config.DEFAULT_V3_RETIRE_MS));
            default -> throw new IllegalArgumentException("shunt.rxRing must be v2 or v3, not " + ring);
        };
    }

    /**
     * The seed of the backend hash, derived from the table's own random seed so that it lives as
     * long as the table: a restarted agent over an adopted table picks the same backend for a new
     * flow as the previous one did (same endpoints, same Maglev tables), so ClientIP affinity, whose
     * memory is not kept across a restart, still lands a client where it was.
     */
    private static long flowSeed(ConntrackTable conntrack) {
        long tableSeed = conntrack.segment().get(java.lang.foreign.ValueLayout.JAVA_LONG, ConntrackDescriptor.H_HASH_SEED);
        return dev.shunt.service.Hashing.mix(tableSeed ^ 0x5348554e54464c57L); // "SHUNTFLW": not the index's own seed
    }

    /** Puts a pod on the fast path: its TX offloads on or off (see the class comment), tc drop and a port on the node end. */
    void attach(PodRecord pod) {
        pod.namespace().run(() -> {
            try (NetlinkHandle inside = NetlinkHandle.open()) {
                inside.ethtool().txChecksum(pod.ifname(), offloads);
                inside.ethtool().tso(pod.ifname(), offloads);
                inside.ethtool().gso(pod.ifname(), offloads);
            }
        });
        installDrop(pod.hostVeth());
        int id = usedIds.nextClearBit(1);
        Link link = netlink.links().get(pod.hostVeth());
        int ifindex = link.index();
        AfPacketPort port = NetworkNamespace.callIn(nodeNamespace, "port-open-" + pod.hostVeth(),
                () -> AfPacketPort.open(id, pod.hostVeth(), ifindex, portConfig));
        usedIds.set(id);
        ports.put(pod.name(), port);
        pods.put(pod.name(), pod);
        pipeline.attach(port, link.mtu()); // the pod's eth0 has the same MTU: longer packets get fragmentation-needed
        publishForwarding();
        loop.add(port);
    }

    /**
     * Attaches the fast-path end of the host port (the veth whose other end, {@code shunt0}, the
     * node's own stack uses): frames for anything that is not a pod go there, with
     * {@code hostMac} (shunt0's MAC) as their destination.
     */
    void attachHost(String fastPathEnd, long hostStackMac) {
        installDrop(fastPathEnd);
        Link link = netlink.links().get(fastPathEnd);
        int ifindex = link.index();
        hostPort = NetworkNamespace.callIn(nodeNamespace, "port-open-" + fastPathEnd,
                () -> AfPacketPort.open(HOST_PORT, fastPathEnd, ifindex, portConfig));
        hostMac = hostStackMac;
        pipeline.attach(hostPort, link.mtu());
        publishForwarding();
        loop.add(hostPort);
    }

    /**
     * Attaches the node's VXLAN device as the overlay port: frames for another node's pod CIDR
     * leave on it with that node's VTEP MAC as destination (the device's FDB names the underlay IP),
     * and frames other nodes sent here arrive on it decapsulated. The kernel must not also route
     * what arrives (tc drop, as on every port).
     */
    void attachOverlay(String device, int podNetwork) {
        nodeAddress = podNetwork;
        installDrop(device);
        Link link = netlink.links().get(device);
        int id = usedIds.nextClearBit(1);
        overlayPort = NetworkNamespace.callIn(nodeNamespace, "port-open-" + device,
                () -> AfPacketPort.open(id, device, link.index(), portConfig));
        usedIds.set(id);
        pipeline.attach(overlayPort, link.mtu());
        publishForwarding();
        loop.add(overlayPort);
    }

    /** Replaces the set of other nodes the overlay routes to (control plane). */
    void setRemoteNodes(List<RemoteNode> nodes) {
        remoteNodes = List.copyOf(nodes);
        publishForwarding();
    }

    /** Takes a pod off the fast path (before its plumbing is removed). */
    void detach(String podName) {
        AfPacketPort port = ports.remove(podName);
        pods.remove(podName);
        if (port == null) {
            return;
        }
        boolean moved = loop.remove(port);
        pipeline.detach(port.id());
        publishForwarding();
        if (!moved) {
            // The pipeline reads frames at raw addresses of the ring: unmapping it under a poll
            // that is still running would crash the agent. A stuck loop is a bug; leak the ring.
            System.err.println("shunt agent: poll loop did not move on within 1 s; leaving " + port.name()
                    + "'s ring mapped and its id in use");
            return;
        }
        port.close();
        usedIds.clear(port.id());
    }

    /** The port id of a pod on the fast path, or -1. */
    int portIdOf(String podName) {
        AfPacketPort port = ports.get(podName);
        return port == null ? -1 : port.id();
    }

    void setServices(ServiceTable services) {
        pipeline.setServices(services);
    }

    DatapathCounters counters() {
        return pipeline.counters();
    }

    /** Every attached port by name (the host port first), for per-port counters. */
    Map<String, dev.shunt.port.PortCounters> portCounters() {
        Map<String, dev.shunt.port.PortCounters> out = new java.util.LinkedHashMap<>();
        if (hostPort != null) {
            out.put(hostPort.name(), hostPort.counters());
        }
        if (overlayPort != null) {
            out.put(overlayPort.name(), overlayPort.counters());
        }
        for (Map.Entry<String, AfPacketPort> e : new java.util.TreeMap<>(ports).entrySet()) {
            out.put(e.getKey() + " (" + e.getValue().name() + ")", e.getValue().counters());
        }
        return out;
    }

    /** Whether ports carry virtio-net headers and pods keep TX checksum/TSO/GSO. */
    boolean offloads() {
        return offloads;
    }

    /** For {@code shunt stats}: what is on, and why not if not. */
    Map<String, Object> offloadReport() {
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        out.put("state", offloadState);
        out.put("vnetHeader", offloads);
        out.put("podTxChecksum", offloads);
        out.put("podTso", offloads);
        out.put("podGso", offloads);
        out.put("slotBytes", portConfig.frameSize());
        out.put("portMemoryBytes", portConfig.memoryBytes());
        return out;
    }

    Pipeline pipeline() {
        return pipeline;
    }

    private void installDrop(String dev) {
        try {
            netlink.trafficControl().addClsact(dev);
        } catch (NetlinkException e) {
            if (e.errno() != Errno.EEXIST) {
                throw e;
            }
        }
        for (TcFilter f : netlink.trafficControl().listIngressFilters(dev)) {
            if (tcDrop.name().equals(f.bpfName())) {
                return; // adopted from a previous agent
            }
        }
        netlink.trafficControl().attachBpfIngress(dev, tcDrop, TC_PRIORITY);
    }

    private void publishForwarding() {
        ForwardingTable.Builder table = ForwardingTable.builder(HOST_PORT).hostMac(hostMac);
        for (Map.Entry<String, AfPacketPort> e : ports.entrySet()) {
            PodRecord pod = pods.get(e.getKey());
            table.pod(ipv4(pod.ip()), e.getValue().id(), mac(pod.podMac()));
        }
        if (overlayPort != null) {
            table.nodeAddress(nodeAddress);
            int prefix = remoteNodes.isEmpty() ? 24 : remoteNodes.getFirst().prefixLength();
            table.overlay(overlayPort.id(), prefix);
            for (int i = 0; i < remoteNodes.size(); i++) {
                RemoteNode r = remoteNodes.get(i);
                table.remoteNode(r.podNetwork(), i, r.vtepMac());
            }
        }
        pipeline.setForwarding(table.build());
    }

    static int ipv4(String text) {
        try {
            return ServiceTable.ipv4((Inet4Address) InetAddress.getByName(text));
        } catch (Exception e) {
            throw new IllegalArgumentException("not an IPv4 address: " + text, e);
        }
    }

    static long mac(String text) {
        return mac(MacAddress.parse(text));
    }

    /** The MAC as the forwarding table holds it: 48 bits in the low end of a long. */
    static long mac(MacAddress address) {
        byte[] b = address.bytes();
        long mac = 0;
        for (byte x : b) {
            mac = (mac << 8) | (x & 0xff);
        }
        return mac;
    }

    /** True once the poll loop has ended: nothing reads the rings or the connection table any more. */
    boolean stopped() {
        return loop.stopped();
    }

    @Override
    public void close() {
        loop.close();
        if (!loop.stopped()) {
            // As in detach: the rings stay mapped while a poll may still read them.
            System.err.println("shunt agent: poll loop did not stop within 2 s; leaving the port rings mapped");
            return;
        }
        for (AfPacketPort port : ports.values()) {
            port.close();
        }
        if (hostPort != null) {
            hostPort.close();
        }
        if (overlayPort != null) {
            overlayPort.close();
        }
        ports.clear();
        tcDrop.close();
    }
}
