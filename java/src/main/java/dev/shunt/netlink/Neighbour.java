package dev.shunt.netlink;

import java.net.InetAddress;

/**
 * A neighbour entry (RTM_NEWNEIGH): an ARP/NDP entry ({@code address} → {@code mac}) or, on a
 * bridge-family dump, an FDB entry ({@code mac} → remote VTEP {@code address}, which may be null).
 *
 * @param state NUD_* bits (0x80 permanent)
 * @param flags NTF_* bits (0x02 self)
 */
public record Neighbour(int index, InetAddress address, MacAddress mac, int state, int flags) {
    public boolean isPermanent() {
        return (state & RtnetlinkDescriptor.NUD_PERMANENT) != 0;
    }
}
