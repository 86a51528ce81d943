package dev.shunt.netlink;

import java.net.InetAddress;

/**
 * A VXLAN device to create: VNI, UDP destination port, the local underlay address (may be
 * {@code null}), learning on or off, the underlay device's index (0 = any) and an MTU (0 = default).
 */
public record VxlanSpec(String name, int vni, int port, InetAddress local, boolean learning, int underlayIndex, int mtu) {
    public static final int IANA_PORT = 4789;

    public VxlanSpec {
        InterfaceNames.validate(name);
        if (vni < 0 || vni > 0xFFFFFF) {
            throw new IllegalArgumentException("VNI " + vni + " is outside 0..16777215");
        }
        if (port < 1 || port > 65535) {
            // 0 is not "any": the kernel reads a zero IFLA_VXLAN_PORT as its legacy default, 8472.
            throw new IllegalArgumentException("VXLAN port " + port + " is outside 1..65535");
        }
        if (underlayIndex < 0) {
            throw new IllegalArgumentException("underlay interface index " + underlayIndex + " is negative");
        }
        if (mtu != 0 && (mtu < 68 || mtu > 65535)) {
            throw new IllegalArgumentException("VXLAN MTU " + mtu + " is outside 68..65535 (0 keeps the kernel's default)");
        }
    }

    /** VNI {@code vni} on port 4789, learning off (flannel's choice: the agent programs the FDB). */
    public static VxlanSpec of(String name, int vni, InetAddress local) {
        return new VxlanSpec(name, vni, IANA_PORT, local, false, 0, 0);
    }
}
