package dev.shunt.port;

import dev.shunt.lab.ScratchNamespace;
import dev.shunt.netlink.IpPrefix;
import dev.shunt.netlink.MacAddress;
import dev.shunt.netlink.Route;
import dev.shunt.netlink.TrafficControl;
import dev.shunt.sys.BpfProgram;

/**
 * The forwarding lab: namespaces "pod-a" and "pod-b", each with one veth whose other end sits in
 * a "node" namespace.
 * <pre>
 *   pod-a shunt-pa 198.18.50.1/24 ==veth== shunt-na [node] shunt-nb ==veth== shunt-pb 198.18.51.1/24 pod-b
 * </pre>
 * Each pod routes the other pod's /24 via its gateway .254, whose MAC is pinned (a permanent
 * neighbour) to the node-side end's MAC, so no ARP is needed in either mode. TX checksum offload,
 * TSO and GSO are off on the pod ends, so frames reach the node complete and at most MTU-sized.
 * <ul>
 *   <li>{@link Mode#PORTS}: the node ends have no addresses, ip_forward=0, and an eBPF tc ingress
 *       drop: only something reading the node ends with packet sockets can connect the pods.</li>
 *   <li>{@link Mode#KERNEL}: the node ends get 198.18.50.254/24 and 198.18.51.254/24 and
 *       ip_forward=1: the kernel routes (the baseline).</li>
 * </ul>
 */
final class PodsThroughNode implements AutoCloseable {
    enum Mode { PORTS, KERNEL }

    static final String POD_A_IP = "198.18.50.1";
    static final String POD_B_IP = "198.18.51.1";

    final ScratchNamespace podA;
    final ScratchNamespace podB;
    final ScratchNamespace node;
    final PortLab.Veth toA; // a side = node (shunt-na), b side = pod-a (shunt-pa)
    final PortLab.Veth toB; // a side = node (shunt-nb), b side = pod-b (shunt-pb)

    private PodsThroughNode(ScratchNamespace podA, ScratchNamespace podB, ScratchNamespace node,
                            PortLab.Veth toA, PortLab.Veth toB) {
        this.podA = podA;
        this.podB = podB;
        this.node = node;
        this.toA = toA;
        this.toB = toB;
    }

    static PodsThroughNode create(Mode mode) {
        ScratchNamespace podA = ScratchNamespace.create("pod-a");
        ScratchNamespace podB = null;
        ScratchNamespace node = null;
        try {
            podB = ScratchNamespace.create("pod-b");
            node = ScratchNamespace.create("node");
            boolean kernel = mode == Mode.KERNEL;
            PortLab.Veth toA = PortLab.veth(node, podA, "shunt-na", "shunt-pa",
                    kernel ? "198.18.50.254/24" : null, POD_A_IP + "/24");
            PortLab.Veth toB = PortLab.veth(node, podB, "shunt-nb", "shunt-pb",
                    kernel ? "198.18.51.254/24" : null, POD_B_IP + "/24");
            pod(podA, "shunt-pa", "198.18.50.254", toA.aMac(), "198.18.51.0/24");
            pod(podB, "shunt-pb", "198.18.51.254", toB.aMac(), "198.18.50.0/24");
            node.namespace().setSysctl("net.ipv4.ip_forward", kernel ? "1" : "0");
            if (!kernel) {
                TrafficControl tc = node.netlink().trafficControl();
                try (BpfProgram drop = BpfProgram.tcDrop()) {
                    for (String dev : new String[] {"shunt-na", "shunt-nb"}) {
                        tc.addClsact(dev);
                        tc.attachBpfIngress(dev, drop, 1);
                    }
                }
            }
            return new PodsThroughNode(podA, podB, node, toA, toB);
        } catch (RuntimeException | Error e) {
            closeAll(node, podB, podA);
            throw e;
        }
    }

    private static void pod(ScratchNamespace pod, String dev, String gateway, long gatewayMac, String otherPod) {
        pod.netlink().neighbours().addPermanent(dev, PortLab.ip(gateway), MacAddress.parse(PortLab.macText(gatewayMac)));
        pod.netlink().routes().add(Route.to(IpPrefix.parse(otherPod)).via(PortLab.ip(gateway)));
        // Frames must arrive complete: no checksum-partial frames, nothing longer than the MTU.
        pod.netlink().ethtool().txChecksum(dev, false);
        pod.netlink().ethtool().tso(dev, false);
        pod.netlink().ethtool().gso(dev, false);
    }

    /** Opens the two node-side ports (inside the node namespace) with {@code config}. */
    AfPacketPort[] openPorts(AfPacketPort.Config config) {
        AfPacketPort a = node.namespace().call(() -> AfPacketPort.open(1, "shunt-na", toA.aIndex(), config));
        try {
            AfPacketPort b = node.namespace().call(() -> AfPacketPort.open(2, "shunt-nb", toB.aIndex(), config));
            return new AfPacketPort[] {a, b};
        } catch (RuntimeException e) {
            a.close();
            throw e;
        }
    }

    /** A forwarder between the two ports: pod-a's frames to pod-b and back. */
    TwoPortForwarder forwarder(AfPacketPort a, AfPacketPort b, int spinLimit) {
        return new TwoPortForwarder(a, toA.bMac(), toA.aMac(), b, toB.bMac(), toB.aMac(), spinLimit);
    }

    @Override
    public void close() {
        closeAll(node, podB, podA);
    }

    private static void closeAll(ScratchNamespace... namespaces) {
        RuntimeException first = null;
        for (ScratchNamespace ns : namespaces) {
            if (ns == null) {
                continue;
            }
            try {
                ns.close();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
