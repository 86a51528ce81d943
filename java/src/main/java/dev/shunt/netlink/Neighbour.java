package dev.shunt.netlink;

import java.net.InetAddress;

/**
 * A neighbour entry (RTM_NEWNEIGH): an ARP/NDP entry ({@code address} → {@code mac}) or, on a
 * bridge-family dump, an FDB entry ({@code mac} → remote VTEP {@code address}, which may be null).
 *
 * @param state    NUD_* bits (0x80 permanent, 0x02 reachable: an FDB entry that ages out)
 * @param flags    NTF_* bits (0x02 self: the device's own table, 0x04 master: its bridge's)
 * @param protocol NDA_PROTOCOL, who added it (0 if not given; {@link #PROTOCOL_SHUNT} for Shunt's
 *                 own ARP entries); the kernel keeps none for VXLAN FDB entries
 */
public record Neighbour(int index, InetAddress address, MacAddress mac, int state, int flags, int protocol) {
    /**
     * The NDA_PROTOCOL value that marks a neighbour entry as Shunt's, the same number as
     * {@link Route#PROTOCOL_SHUNT} ({@code ip neigh show proto 83}).
     */
    public static final int PROTOCOL_SHUNT = Route.PROTOCOL_SHUNT;

    public boolean isPermanent() {
        return (state & RtnetlinkDescriptor.NUD_PERMANENT) != 0;
    }

    /** In the device's own table (NTF_SELF), as a VXLAN device keeps its FDB, not in a bridge's. */
    public boolean isSelf() {
        return (flags & RtnetlinkDescriptor.NTF_SELF) != 0;
    }
}
