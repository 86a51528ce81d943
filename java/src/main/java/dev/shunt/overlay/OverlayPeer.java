package dev.shunt.overlay;

import dev.shunt.netlink.IpPrefix;
import dev.shunt.netlink.MacAddress;

import java.net.Inet4Address;

/**
 * A remote node as the overlay needs it: where its VTEP is on the underlay, the MAC of its VXLAN
 * device, and the pod CIDR behind it. As in flannel's vxlan backend, the pod CIDR's network
 * address (10.244.2.0 for 10.244.2.0/24) stands for the remote VTEP on the overlay: a route
 * {@code 10.244.2.0/24 via 10.244.2.0 dev shunt.vx onlink} resolves through the permanent
 * neighbour entry {@code 10.244.2.0 -> vtepMac}, and the FDB entry {@code vtepMac -> underlayIp}
 * tells the device where to send the encapsulated frame.
 */
public record OverlayPeer(String nodeName, Inet4Address underlayIp, MacAddress vtepMac, IpPrefix podCidr) {
    public OverlayPeer {
        if (nodeName == null || nodeName.isBlank()) {
            throw new IllegalArgumentException("peer node name is empty");
        }
        VxlanConfig.checkUnderlayAddress(underlayIp, "underlay IP of node " + nodeName);
        VtepMac.checkUsable(vtepMac, "VTEP MAC of node " + nodeName);
        if (podCidr == null) {
            throw new IllegalArgumentException("pod CIDR of node " + nodeName + " is missing");
        }
        if (!podCidr.isIpv4()) {
            throw new IllegalArgumentException("pod CIDR " + podCidr + " of node " + nodeName + " is not IPv4");
        }
        if (podCidr.length() == 0) {
            throw new IllegalArgumentException("pod CIDR " + podCidr + " of node " + nodeName + " covers every address");
        }
        if (!podCidr.equals(podCidr.network())) {
            throw new IllegalArgumentException("pod CIDR " + podCidr + " of node " + nodeName
                    + " has host bits set (did you mean " + podCidr.network() + "?)");
        }
    }

    /** The address that stands for the node's VTEP: its pod CIDR's network address. */
    public Inet4Address vtepIp() {
        return (Inet4Address) podCidr.address();
    }
}
