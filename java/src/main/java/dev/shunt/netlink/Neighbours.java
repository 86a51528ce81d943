package dev.shunt.netlink;

import dev.shunt.sys.Sockets;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_ACK;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_CREATE;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_DUMP;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_REPLACE;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_REQUEST;
import static dev.shunt.netlink.RtnetlinkDescriptor.*;

/**
 * Neighbour operations (RTM_*NEIGH): permanent ARP/NDP entries, and FDB entries with a remote
 * VTEP on a VXLAN device (what flannel's vxlan backend programs per remote node).
 */
public final class Neighbours {
    private final NetlinkSocket socket;
    private final Links links;

    Neighbours(NetlinkSocket socket, Links links) {
        this.socket = socket;
        this.links = links;
    }

    /** Equivalent to: {@code ip neigh replace IP lladdr MAC dev DEV nud permanent}. */
    public void addPermanent(String dev, InetAddress ip, MacAddress mac) {
        addPermanent(dev, ip, mac, 0);
    }

    /**
     * A permanent entry marked with {@code protocol} (1..255; 0 sends none), so its owner can find
     * it again, e.g. after a restart. Replacing an entry without a protocol keeps the one it had.
     * Equivalent to: {@code ip neigh replace IP lladdr MAC dev DEV nud permanent protocol P}.
     */
    public void addPermanent(String dev, InetAddress ip, MacAddress mac, int protocol) {
        if (protocol < 0 || protocol > 255) {
            throw new IllegalArgumentException("neighbour protocol " + protocol + " is outside 0..255");
        }
        NetlinkRequest req = new NetlinkRequest(RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
                "ip neigh replace " + IpPrefix.format(ip) + " lladdr " + mac + " dev " + dev + " nud permanent"
                        + (protocol != 0 ? " protocol " + protocol : ""));
        ndmsg(req, family(ip), links.get(dev).index(), NUD_PERMANENT, 0);
        req.attrAddress(NDA_DST, ip);
        req.attr(NDA_LLADDR, mac.bytes());
        if (protocol != 0) {
            req.attrU8(NDA_PROTOCOL, protocol);
        }
        socket.execute(req);
    }

    /** Equivalent to: {@code ip neigh del IP dev DEV}. */
    public void delete(String dev, InetAddress ip) {
        NetlinkRequest req = new NetlinkRequest(RTM_DELNEIGH, NLM_F_REQUEST | NLM_F_ACK,
                "ip neigh del " + IpPrefix.format(ip) + " dev " + dev);
        ndmsg(req, family(ip), links.get(dev).index(), 0, 0);
        req.attrAddress(NDA_DST, ip);
        socket.execute(req);
    }

    /** ARP and NDP entries of one interface. Equivalent to: {@code ip neigh show dev DEV}. */
    public List<Neighbour> list(String dev) {
        return dump(Sockets.AF_UNSPEC, links.get(dev).index(), "ip neigh show dev " + dev, false);
    }

    /**
     * A permanent FDB entry sending frames for {@code mac} to the VTEP {@code remote}, in the
     * device's own table (NTF_SELF: a VXLAN device that is no bridge port answers EOPNOTSUPP
     * without it). A unicast MAC has one remote: if {@code mac} has an entry, its remote becomes
     * {@code remote} in place (an "append" of a second one is acknowledged and ignored).
     * Equivalent to: {@code bridge fdb replace MAC dev DEV dst REMOTE self permanent}.
     */
    public void addFdb(String dev, MacAddress mac, InetAddress remote) {
        NetlinkRequest req = new NetlinkRequest(RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
                "bridge fdb replace " + mac + " dev " + dev + " dst " + IpPrefix.format(remote) + " self permanent");
        ndmsg(req, Sockets.AF_BRIDGE, links.get(dev).index(), NUD_PERMANENT, NTF_SELF);
        req.attr(NDA_LLADDR, mac.bytes());
        req.attrAddress(NDA_DST, remote);
        socket.execute(req);
    }

    /**
     * Removes {@code remote} from {@code mac}'s entry (the entry goes with its last remote). A remote
     * the entry does not have is acknowledged and nothing is removed; only a missing MAC is ENOENT.
     * Equivalent to: {@code bridge fdb del MAC dev DEV dst REMOTE self}.
     */
    public void deleteFdb(String dev, MacAddress mac, InetAddress remote) {
        NetlinkRequest req = new NetlinkRequest(RTM_DELNEIGH, NLM_F_REQUEST | NLM_F_ACK,
                "bridge fdb del " + mac + " dev " + dev + " dst " + IpPrefix.format(remote) + " self");
        ndmsg(req, Sockets.AF_BRIDGE, links.get(dev).index(), 0, NTF_SELF);
        req.attr(NDA_LLADDR, mac.bytes());
        req.attrAddress(NDA_DST, remote);
        socket.execute(req);
    }

    /**
     * FDB entries of one device, one per (MAC, remote): a MAC with two remotes is listed twice.
     * Equivalent to: {@code bridge fdb show dev DEV}.
     */
    public List<Neighbour> listFdb(String dev) {
        return dump(Sockets.AF_BRIDGE, links.get(dev).index(), "bridge fdb show dev " + dev, true);
    }

    private List<Neighbour> dump(int family, int index, String description, boolean fdb) {
        NetlinkRequest req = new NetlinkRequest(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, description);
        ndmsg(req, family, 0, 0, 0);
        List<Neighbour> out = new ArrayList<>();
        for (NetlinkMessage m : socket.dump(req)) {
            if (m.type() != RTM_NEWNEIGH || m.u32(NDM_IFINDEX_OFFSET) != index) {
                continue;
            }
            boolean bridgeEntry = m.u8(NDM_FAMILY_OFFSET) == Sockets.AF_BRIDGE;
            if (bridgeEntry != fdb) {
                continue;
            }
            NetlinkAttributes a = m.attributes(NDMSG_SIZE);
            out.add(new Neighbour(index, a.address(NDA_DST), MacAddress.ofNullable(a.bytes(NDA_LLADDR)),
                    m.u16(NDM_STATE_OFFSET), m.u8(NDM_FLAGS_OFFSET), a.u8(NDA_PROTOCOL, 0)));
        }
        return out;
    }

    private static int family(InetAddress ip) {
        return ip instanceof Inet4Address ? Sockets.AF_INET : Sockets.AF_INET6;
    }

    private static void ndmsg(NetlinkRequest req, int family, int index, int state, int flags) {
        req.u8(family).u8(0).u16(0).u32(index).u16(state).u8(flags).u8(0);
    }
}
