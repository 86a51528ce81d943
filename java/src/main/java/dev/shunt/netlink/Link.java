package dev.shunt.netlink;

import java.net.InetAddress;

import static dev.shunt.netlink.RtnetlinkDescriptor.IFF_UP;

/**
 * A network interface as the kernel reports it (RTM_NEWLINK), the data {@code ip -d link show}
 * prints.
 *
 * @param kind          IFLA_INFO_KIND ("veth", "vxlan", "bridge"), or {@code null} for a physical/loopback device
 * @param operState     RFC 2863 state as iproute2 spells it: UP, DOWN, LOWERLAYERDOWN, UNKNOWN ...
 * @param masterIndex   the bridge it is enslaved to, 0 if none
 * @param parentIndex   IFLA_LINK: for a veth, the peer's index (in the peer's namespace), 0 if none
 * @param linkNetnsId   IFLA_LINK_NETNSID: the peer's namespace id as seen from here, -1 if same namespace
 * @param vxlan         VXLAN parameters for kind "vxlan", otherwise {@code null}
 * @param xdpProgramId  the id of the attached XDP program, 0 if none
 * @param xdpMode       how it is attached: {@code null} if none
 */
public record Link(int index, String name, String kind, int flags, String operState, int mtu, MacAddress mac,
                   int masterIndex, int parentIndex, int linkNetnsId, Vxlan vxlan, int xdpProgramId, XdpMode xdpMode) {

    /**
     * VXLAN device parameters (IFLA_VXLAN_*).
     *
     * @param port          the UDP destination port (IFLA_VXLAN_PORT, sent and read in network byte order)
     * @param local         the local underlay address, {@code null} if none
     * @param underlayIndex IFLA_VXLAN_LINK, the underlay device's index, 0 if none
     * @param remote        the default remote or multicast group (IFLA_VXLAN_GROUP/GROUP6), {@code null}
     *                      if none; a device with one floods unknown MACs there (the FDB's all-zeros entry)
     */
    public record Vxlan(int vni, int port, InetAddress local, boolean learning, int underlayIndex, InetAddress remote) {}

    /** Administratively up (IFF_UP), as {@code ip link set up} sets it. */
    public boolean isUp() {
        return (flags & IFF_UP) != 0;
    }
}
