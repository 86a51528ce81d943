package dev.shunt.netlink;

import dev.shunt.sys.BpfProgram;
import dev.shunt.sys.Errno;
import dev.shunt.sys.Fd;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_ACK;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_CREATE;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_DUMP;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_EXCL;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_REQUEST;
import static dev.shunt.netlink.RtnetlinkDescriptor.*;

/** Link operations (RTM_*LINK) on one namespace's rtnetlink socket. */
public final class Links {
    private static final String[] OPER_STATES =
            {"UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP"};

    private final NetlinkSocket socket;

    Links(NetlinkSocket socket) {
        this.socket = socket;
    }

    /**
     * Creates a veth pair. Equivalent to:
     * {@code ip link add NAME [mtu M] type veth peer name PEER [netns NS] [mtu M]}.
     */
    public void add(VethSpec spec) {
        NetlinkRequest req = create("ip link add " + spec.name() + " type veth peer name " + spec.peerName()
                + (spec.peerNamespace() != null ? " netns " + spec.peerNamespace() : ""));
        req.attrString(IFLA_IFNAME, spec.name());
        if (spec.mtu() > 0) {
            req.attrU32(IFLA_MTU, spec.mtu());
        }
        int linkInfo = req.beginNested(IFLA_LINKINFO);
        req.attrString(IFLA_INFO_KIND, "veth");
        int data = req.beginNested(IFLA_INFO_DATA);
        int peer = req.beginNested(VETH_INFO_PEER);
        ifinfomsg(req, 0, 0, 0);
        req.attrString(IFLA_IFNAME, spec.peerName());
        if (spec.mtu() > 0) {
            req.attrU32(IFLA_MTU, spec.mtu());
        }
        if (spec.peerNamespace() != null) {
            req.attrU32(IFLA_NET_NS_FD, spec.peerNamespace().value());
        }
        req.endNested(peer);
        req.endNested(data);
        req.endNested(linkInfo);
        socket.execute(req);
    }

    /**
     * Creates a VXLAN device. Equivalent to:
     * {@code ip link add NAME type vxlan id VNI dstport PORT [local IP] [dev UNDERLAY] nolearning}.
     */
    public void add(VxlanSpec spec) {
        NetlinkRequest req = create("ip link add " + spec.name() + " type vxlan id " + spec.vni()
                + " dstport " + spec.port() + (spec.local() != null ? " local " + IpPrefix.format(spec.local()) : "")
                + (spec.learning() ? " learning" : " nolearning"));
        req.attrString(IFLA_IFNAME, spec.name());
        if (spec.mtu() > 0) {
            req.attrU32(IFLA_MTU, spec.mtu());
        }
        int linkInfo = req.beginNested(IFLA_LINKINFO);
        req.attrString(IFLA_INFO_KIND, "vxlan");
        int data = req.beginNested(IFLA_INFO_DATA);
        req.attrU32(IFLA_VXLAN_ID, spec.vni());
        // Network byte order, unlike the other integers here: sent in host order, 4789 is taken as
        // 46354 without an error.
        req.attrBe16(IFLA_VXLAN_PORT, spec.port());
        if (spec.local() != null) {
            // An IPv6 address in IFLA_VXLAN_LOCAL is accepted by the kernel and silently cut to its
            // first 4 bytes (fd00:18::1 became 253.0.0.24): IPv6 goes in IFLA_VXLAN_LOCAL6.
            req.attrAddress(spec.local() instanceof Inet6Address ? IFLA_VXLAN_LOCAL6 : IFLA_VXLAN_LOCAL, spec.local());
        }
        if (spec.underlayIndex() > 0) {
            req.attrU32(IFLA_VXLAN_LINK, spec.underlayIndex());
        }
        req.attrU8(IFLA_VXLAN_LEARNING, spec.learning() ? 1 : 0);
        req.endNested(data);
        req.endNested(linkInfo);
        socket.execute(req);
    }

    /** Creates a bridge. Equivalent to: {@code ip link add NAME type bridge}. */
    public void add(BridgeSpec spec) {
        NetlinkRequest req = create("ip link add " + spec.name() + " type bridge");
        req.attrString(IFLA_IFNAME, spec.name());
        if (spec.mtu() > 0) {
            req.attrU32(IFLA_MTU, spec.mtu());
        }
        int linkInfo = req.beginNested(IFLA_LINKINFO);
        req.attrString(IFLA_INFO_KIND, "bridge");
        req.endNested(linkInfo);
        socket.execute(req);
    }

    /** Equivalent to: {@code ip link set NAME up}. */
    public void setUp(String name) {
        setFlags(name, IFF_UP, IFF_UP, "up");
    }

    /** Equivalent to: {@code ip link set NAME down}. */
    public void setDown(String name) {
        setFlags(name, 0, IFF_UP, "down");
    }

    /** Equivalent to: {@code ip link set NAME mtu MTU}. */
    public void setMtu(String name, int mtu) {
        NetlinkRequest req = change(name, "mtu " + mtu);
        req.attrU32(IFLA_MTU, mtu);
        socket.execute(req);
    }

    /** Equivalent to: {@code ip link set NAME address MAC}. */
    public void setMac(String name, MacAddress mac) {
        NetlinkRequest req = change(name, "address " + mac);
        req.attr(IFLA_ADDRESS, mac.bytes());
        socket.execute(req);
    }

    /** Equivalent to: {@code ip link set NAME name NEWNAME}. */
    public void rename(String name, String newName) {
        InterfaceNames.validate(newName);
        NetlinkRequest req = change(name, "name " + newName);
        req.attrString(IFLA_IFNAME, newName);
        socket.execute(req);
    }

    /** Moves the link into the namespace {@code namespace} refers to. Equivalent to: {@code ip link set NAME netns NS}. */
    public void moveToNamespace(String name, Fd namespace) {
        NetlinkRequest req = change(name, "netns " + namespace);
        req.attrU32(IFLA_NET_NS_FD, namespace.value());
        socket.execute(req);
    }

    /** Enslaves the link to a bridge. Equivalent to: {@code ip link set NAME master BRIDGE}. */
    public void setMaster(String name, String bridge) {
        int bridgeIndex = get(bridge).index();
        NetlinkRequest req = change(name, "master " + bridge);
        req.attrU32(IFLA_MASTER, bridgeIndex);
        socket.execute(req);
    }

    /** Equivalent to: {@code ip link del NAME} (deleting one end of a veth removes both). */
    public void delete(String name) {
        InterfaceNames.validate(name);
        NetlinkRequest req = new NetlinkRequest(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, "ip link del " + name);
        ifinfomsg(req, 0, 0, 0);
        req.attrString(IFLA_IFNAME, name);
        socket.execute(req);
    }

    /**
     * Attaches an XDP program. Equivalent to: {@code ip link set NAME xdpdrv|xdpgeneric fd N}.
     */
    public void attachXdp(String name, BpfProgram program, XdpMode mode) {
        NetlinkRequest req = change(name, (mode == XdpMode.DRIVER ? "xdpdrv" : "xdpgeneric") + " " + program.name());
        int xdp = req.beginNested(IFLA_XDP);
        req.attrU32(IFLA_XDP_FD, program.fd().value());
        req.attrU32(IFLA_XDP_FLAGS, mode.flags);
        req.endNested(xdp);
        socket.execute(req);
    }

    /** Equivalent to: {@code ip link set NAME xdpdrv|xdpgeneric off}. */
    public void detachXdp(String name, XdpMode mode) {
        NetlinkRequest req = change(name, (mode == XdpMode.DRIVER ? "xdpdrv" : "xdpgeneric") + " off");
        int xdp = req.beginNested(IFLA_XDP);
        req.attrU32(IFLA_XDP_FD, -1);
        req.attrU32(IFLA_XDP_FLAGS, mode.flags);
        req.endNested(xdp);
        socket.execute(req);
    }

    /**
     * The link named {@code name}. Equivalent to: {@code ip -d link show NAME}.
     *
     * @throws NetlinkException with ENODEV if there is none
     */
    public Link get(String name) {
        InterfaceNames.validate(name);
        NetlinkRequest req = new NetlinkRequest(RTM_GETLINK, NLM_F_REQUEST, "ip link show " + name);
        ifinfomsg(req, 0, 0, 0);
        req.attrString(IFLA_IFNAME, name);
        return parse(socket.query(req));
    }

    /** The link named {@code name}, if it exists. */
    public Optional<Link> find(String name) {
        try {
            return Optional.of(get(name));
        } catch (NetlinkException e) {
            if (e.errno() == Errno.ENODEV) {
                return Optional.empty();
            }
            throw e;
        }
    }

    /** Every link in the namespace, by index. Equivalent to: {@code ip -d link show}. */
    public List<Link> list() {
        NetlinkRequest req = new NetlinkRequest(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, "ip link show");
        ifinfomsg(req, 0, 0, 0);
        List<Link> links = new ArrayList<>();
        for (NetlinkMessage message : socket.dump(req)) {
            if (message.type() == RTM_NEWLINK) {
                links.add(parse(message));
            }
        }
        return links;
    }

    static Link parse(NetlinkMessage m) {
        int index = m.u32(IFI_INDEX_OFFSET);
        int flags = m.u32(IFI_FLAGS_OFFSET);
        NetlinkAttributes a = m.attributes(IFINFOMSG_SIZE);
        NetlinkAttributes info = a.nested(IFLA_LINKINFO);
        String kind = info.string(IFLA_INFO_KIND);
        Link.Vxlan vxlan = null;
        if ("vxlan".equals(kind)) {
            NetlinkAttributes d = info.nested(IFLA_INFO_DATA);
            InetAddress local = d.has(IFLA_VXLAN_LOCAL) ? d.address(IFLA_VXLAN_LOCAL) : d.address(IFLA_VXLAN_LOCAL6);
            InetAddress remote = d.has(IFLA_VXLAN_GROUP) ? d.address(IFLA_VXLAN_GROUP) : d.address(IFLA_VXLAN_GROUP6);
            vxlan = new Link.Vxlan(d.u32(IFLA_VXLAN_ID, 0), d.be16(IFLA_VXLAN_PORT, 0), local,
                    d.u8(IFLA_VXLAN_LEARNING, 0) != 0, d.u32(IFLA_VXLAN_LINK, 0), remote);
        }
        NetlinkAttributes xdp = a.nested(IFLA_XDP);
        int operState = a.u8(IFLA_OPERSTATE, 0);
        return new Link(index, a.string(IFLA_IFNAME), kind, flags,
                operState < OPER_STATES.length ? OPER_STATES[operState] : "UNKNOWN",
                a.u32(IFLA_MTU, 0), MacAddress.ofNullable(a.bytes(IFLA_ADDRESS)), a.u32(IFLA_MASTER, 0),
                a.u32(IFLA_LINK, 0), a.u32(IFLA_LINK_NETNSID, -1), vxlan, xdp.u32(IFLA_XDP_PROG_ID, 0),
                XdpMode.ofAttached(xdp.u8(IFLA_XDP_ATTACHED, 0)));
    }

    private void setFlags(String name, int flags, int change, String what) {
        int index = get(name).index();
        NetlinkRequest req = new NetlinkRequest(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, "ip link set " + name + " " + what);
        ifinfomsg(req, index, flags, change);
        socket.execute(req);
    }

    /** An RTM_NEWLINK on an existing link, by index. */
    private NetlinkRequest change(String name, String what) {
        int index = get(name).index();
        NetlinkRequest req = new NetlinkRequest(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, "ip link set " + name + " " + what);
        ifinfomsg(req, index, 0, 0);
        return req;
    }

    private static NetlinkRequest create(String description) {
        NetlinkRequest req = new NetlinkRequest(RTM_NEWLINK,
                NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, description);
        ifinfomsg(req, 0, 0, 0);
        return req;
    }

    static void ifinfomsg(NetlinkRequest req, int index, int flags, int change) {
        req.u8(0).u8(0).u16(0).u32(index).u32(flags).u32(change);
    }
}
