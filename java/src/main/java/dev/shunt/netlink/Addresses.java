package dev.shunt.netlink;

import dev.shunt.sys.Sockets;

import java.net.Inet4Address;
import java.util.ArrayList;
import java.util.List;

import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_ACK;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_CREATE;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_DUMP;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_EXCL;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_REQUEST;
import static dev.shunt.netlink.RtnetlinkDescriptor.*;

/** Interface address operations (RTM_*ADDR), IPv4 and IPv6. */
public final class Addresses {
    private final NetlinkSocket socket;
    private final Links links;

    Addresses(NetlinkSocket socket, Links links) {
        this.socket = socket;
        this.links = links;
    }

    /**
     * Adds an address. IPv6 addresses are added with IFA_F_NODAD so they are usable at once (no
     * duplicate address detection delay on a lab link). Equivalent to:
     * {@code ip addr add PREFIX dev DEV [nodad]}.
     */
    public void add(String dev, IpPrefix prefix) {
        NetlinkRequest req = new NetlinkRequest(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
                "ip addr add " + prefix + " dev " + dev);
        addressRequest(req, dev, prefix, true);
        socket.execute(req);
    }

    /** Equivalent to: {@code ip addr del PREFIX dev DEV}. */
    public void delete(String dev, IpPrefix prefix) {
        NetlinkRequest req = new NetlinkRequest(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK,
                "ip addr del " + prefix + " dev " + dev);
        addressRequest(req, dev, prefix, false);
        socket.execute(req);
    }

    /** Every address of the namespace. Equivalent to: {@code ip addr show}. */
    public List<Address> list() {
        return list(0);
    }

    /** The addresses of one interface. Equivalent to: {@code ip addr show dev DEV}. */
    public List<Address> list(String dev) {
        return list(links.get(dev).index());
    }

    private List<Address> list(int index) {
        NetlinkRequest req = new NetlinkRequest(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, "ip addr show");
        req.u8(Sockets.AF_UNSPEC).u8(0).u8(0).u8(0).u32(0);
        List<Address> out = new ArrayList<>();
        for (NetlinkMessage m : socket.dump(req)) {
            if (m.type() != RTM_NEWADDR) {
                continue;
            }
            int messageIndex = m.u32(IFA_INDEX_OFFSET);
            if (index != 0 && messageIndex != index) {
                continue;
            }
            NetlinkAttributes a = m.attributes(IFADDRMSG_SIZE);
            // IPv4: IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer on point-to-point links).
            var address = a.has(IFA_LOCAL) ? a.address(IFA_LOCAL) : a.address(IFA_ADDRESS);
            if (address == null) {
                continue;
            }
            int flags = a.has(IFA_FLAGS) ? a.u32(IFA_FLAGS, 0) : m.u8(IFA_FLAGS_OFFSET);
            out.add(new Address(messageIndex, new IpPrefix(address, m.u8(IFA_PREFIXLEN_OFFSET)),
                    m.u8(IFA_SCOPE_OFFSET), flags));
        }
        return out;
    }

    private void addressRequest(NetlinkRequest req, String dev, IpPrefix prefix, boolean adding) {
        int index = links.get(dev).index();
        boolean v4 = prefix.address() instanceof Inet4Address;
        req.u8(v4 ? Sockets.AF_INET : Sockets.AF_INET6).u8(prefix.length()).u8(0).u8(RT_SCOPE_UNIVERSE).u32(index);
        req.attrAddress(IFA_LOCAL, prefix.address());
        req.attrAddress(IFA_ADDRESS, prefix.address());
        if (adding && !v4) {
            req.attrU32(IFA_FLAGS, IFA_F_NODAD);
        }
    }
}
