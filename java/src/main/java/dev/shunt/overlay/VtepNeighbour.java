package dev.shunt.overlay;

import dev.shunt.netlink.IpPrefix;
import dev.shunt.netlink.MacAddress;

import java.net.InetAddress;

/** A permanent neighbour (ARP) entry on the VXLAN device: the remote VTEP's address and its MAC. */
public record VtepNeighbour(InetAddress vtepIp, MacAddress vtepMac) {
    /** As {@code ip neigh show} prints it. */
    @Override
    public String toString() {
        return IpPrefix.format(vtepIp) + " lladdr " + vtepMac;
    }
}
