package dev.shunt.agent;

import dev.shunt.ipam.Cidr;
import dev.shunt.netlink.IpPrefix;
import dev.shunt.netlink.Link;
import dev.shunt.netlink.NetlinkHandle;
import dev.shunt.netlink.Route;
import dev.shunt.netlink.VethSpec;

import java.util.List;

/**
 * The node's own way into the fast path: a veth pair {@code shunt0} (the node's stack end, which
 * routes the pod CIDR, the cluster CIDR and the Service CIDR) and {@code shunt0p} (the fast path's
 * port). The node reaches pods (and ClusterIPs) through it, and pods reach the node and, through
 * the node's routing, the rest of the world. Its kernel footprint does not grow with pods or
 * Services: one veth pair, three routes (marked with protocol {@link Route#PROTOCOL_SHUNT}).
 */
final class HostPort {
    static final String HOST_END = "shunt0";
    static final String FAST_PATH_END = "shunt0p";

    private HostPort() {}

    /**
     * Creates the pair (or adopts it after a restart), brings it up and routes {@code cidrs} to it.
     * Returns the host end's MAC, the destination of frames the fast path hands to the node.
     * Equivalent to: {@code ip link add shunt0 type veth peer name shunt0p; ip route replace CIDR dev shunt0 ...}.
     */
    static long create(NetlinkHandle netlink, int mtu, List<Cidr> cidrs, boolean offloads) {
        if (netlink.links().find(HOST_END).isEmpty()) {
            netlink.links().add(VethSpec.of(HOST_END, FAST_PATH_END).withMtu(mtu));
        }
        // Without virtio-net headers on the ports, what the node's stack sends into the fast path
        // must be complete frames: forwarded traffic keeps the CHECKSUM_PARTIAL state it arrived
        // with (a NodePort SYN from a veth neighbour reached the fast path with a checksum still to
        // be filled in, and the backend dropped it), and the node's own TCP would hand over 64 KB
        // TSO frames. With these off, the kernel finishes checksums and segments before shunt0
        // transmits. With the headers (offloads on) both cross the fast path as they are.
        netlink.ethtool().txChecksum(HOST_END, offloads);
        netlink.ethtool().tso(HOST_END, offloads);
        netlink.ethtool().gso(HOST_END, offloads);
        netlink.links().setUp(FAST_PATH_END);
        netlink.links().setUp(HOST_END);
        Link host = netlink.links().get(HOST_END);
        for (Cidr cidr : cidrs) {
            netlink.routes().replace(Route.to(IpPrefix.parse(cidr.toString())).dev(host.index()).scopeLink()
                    .protocol(Route.PROTOCOL_SHUNT));
        }
        return FastPath.mac(host.mac());
    }

    /** Removes the pair (its routes go with it). Equivalent to: {@code ip link del shunt0}. */
    static void remove(NetlinkHandle netlink) {
        if (netlink.links().find(HOST_END).isPresent()) {
            netlink.links().delete(HOST_END);
        }
    }
}
