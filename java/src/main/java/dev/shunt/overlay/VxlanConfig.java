package dev.shunt.overlay;

import dev.shunt.netlink.InterfaceNames;
import dev.shunt.netlink.IpPrefix;
import dev.shunt.netlink.MacAddress;

import java.net.Inet4Address;
import java.net.InetAddress;

/**
 * What the node's VXLAN device must look like. Learning is always off: the agent programs every
 * remote VTEP itself, as flannel does, so nothing is learnt from (possibly spoofed) traffic.
 *
 * @param name            the device, {@value #DEFAULT_NAME} unless a test needs another; it must start with
 *                        "shunt" because {@link VxlanDevice#ensure()} deletes a same-named device that differs
 * @param vni             VXLAN network identifier, 0..16777215 (24 bits)
 * @param port            UDP destination port, 1..65535 (the kernel reads 0 as its legacy default 8472, so 0 is refused)
 * @param local           this node's underlay address: the outer source of every packet it sends
 * @param underlayDevice  the underlay interface to bind to, or {@code null} to let routing choose
 * @param mtu             the device's MTU, 68..65535: the underlay MTU minus the 50 bytes of encapsulation
 * @param vtepMac         the device's MAC address, which remote nodes' FDB and neighbour entries name
 */
public record VxlanConfig(String name, int vni, int port, Inet4Address local, String underlayDevice, int mtu,
                          MacAddress vtepMac) {
    public static final String DEFAULT_NAME = "shunt.vx";
    public static final int DEFAULT_VNI = 1;
    public static final int DEFAULT_PORT = 4789;
    /** What VXLAN adds inside the underlay MTU: outer IPv4 20 + UDP 8 + VXLAN 8 + the inner Ethernet header 14 bytes. */
    public static final int ENCAPSULATION_OVERHEAD = 50;
    public static final int MAX_VNI = 0xFFFFFF;

    public VxlanConfig {
        InterfaceNames.validate(name);
        if (!name.startsWith("shunt")) {
            throw new IllegalArgumentException("VXLAN device name '" + name + "' does not start with 'shunt': "
                    + "Shunt recreates a mismatching device of that name, so it must be recognisably Shunt's");
        }
        if (vni < 0 || vni > MAX_VNI) {
            throw new IllegalArgumentException("VNI " + vni + " is outside 0.." + MAX_VNI + " (24 bits)");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("VXLAN port " + port + " is outside 1..65535");
        }
        checkUnderlayAddress(local, "local underlay address");
        if (underlayDevice != null) {
            InterfaceNames.validate(underlayDevice);
        }
        if (mtu < 68 || mtu > 65535) {
            throw new IllegalArgumentException("VXLAN MTU " + mtu + " is outside 68..65535");
        }
        VtepMac.checkUsable(vtepMac, "VTEP MAC");
    }

    /**
     * The defaults for node {@code nodeName}: {@value #DEFAULT_NAME}, VNI 1, port 4789, no underlay
     * device, MTU = {@code underlayMtu} - 50, MAC {@link VtepMac#forNode(String)}.
     */
    public static VxlanConfig forNode(String nodeName, Inet4Address underlayIp, int underlayMtu) {
        if (underlayMtu - ENCAPSULATION_OVERHEAD < 68) {
            throw new IllegalArgumentException("underlay MTU " + underlayMtu + " leaves less than 68 bytes after "
                    + ENCAPSULATION_OVERHEAD + " bytes of VXLAN encapsulation");
        }
        return new VxlanConfig(DEFAULT_NAME, DEFAULT_VNI, DEFAULT_PORT, underlayIp, null,
                underlayMtu - ENCAPSULATION_OVERHEAD, VtepMac.forNode(nodeName));
    }

    public VxlanConfig withName(String newName) {
        return new VxlanConfig(newName, vni, port, local, underlayDevice, mtu, vtepMac);
    }

    public VxlanConfig withVni(int newVni) {
        return new VxlanConfig(name, newVni, port, local, underlayDevice, mtu, vtepMac);
    }

    public VxlanConfig withPort(int newPort) {
        return new VxlanConfig(name, vni, newPort, local, underlayDevice, mtu, vtepMac);
    }

    public VxlanConfig withLocal(Inet4Address newLocal) {
        return new VxlanConfig(name, vni, port, newLocal, underlayDevice, mtu, vtepMac);
    }

    public VxlanConfig withUnderlayDevice(String newUnderlayDevice) {
        return new VxlanConfig(name, vni, port, local, newUnderlayDevice, mtu, vtepMac);
    }

    public VxlanConfig withMtu(int newMtu) {
        return new VxlanConfig(name, vni, port, local, underlayDevice, newMtu, vtepMac);
    }

    public VxlanConfig withVtepMac(MacAddress newMac) {
        return new VxlanConfig(name, vni, port, local, underlayDevice, mtu, newMac);
    }

    /** An address a VTEP can send from or to: IPv4, unicast, not 0.0.0.0, not loopback. */
    static void checkUnderlayAddress(InetAddress address, String what) {
        if (address == null) {
            throw new IllegalArgumentException(what + " is missing");
        }
        if (!(address instanceof Inet4Address)) {
            throw new IllegalArgumentException(what + " " + IpPrefix.format(address) + " is not IPv4; the overlay runs over IPv4 only");
        }
        if (address.isAnyLocalAddress() || address.isLoopbackAddress() || address.isMulticastAddress()
                || IpPrefix.format(address).equals("255.255.255.255")) {
            throw new IllegalArgumentException(what + " " + IpPrefix.format(address)
                    + " is not a unicast address another node can reach");
        }
    }
}
