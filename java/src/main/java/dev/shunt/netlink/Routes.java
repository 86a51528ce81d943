package dev.shunt.netlink;

import dev.shunt.sys.Sockets;

import java.util.ArrayList;
import java.util.List;

import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_ACK;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_CREATE;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_DUMP;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_EXCL;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_REPLACE;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_REQUEST;
import static dev.shunt.netlink.RtnetlinkDescriptor.*;

/** Route operations (RTM_*ROUTE), IPv4 and IPv6. */
public final class Routes {
    private final NetlinkSocket socket;

    Routes(NetlinkSocket socket) {
        this.socket = socket;
    }

    /** Equivalent to: {@code ip route add DST [via GW] [dev D] [onlink] [scope S] [table T] [metric M] [proto P]}. */
    public void add(Route route) {
        socket.execute(request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, "ip route add", route));
    }

    /** Adds or overwrites the route with the same destination, table and metric. Equivalent to: {@code ip route replace ...}. */
    public void replace(Route route) {
        socket.execute(request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, "ip route replace", route));
    }

    /** Equivalent to: {@code ip route del DST [via GW] [dev D] [table T] [metric M]}. */
    public void delete(Route route) {
        socket.execute(request(RTM_DELROUTE, 0, "ip route del", route));
    }

    /** The IPv4 routes of the main table. Equivalent to: {@code ip -4 route show}. */
    public List<Route> listIpv4() {
        return list(Sockets.AF_INET, RT_TABLE_MAIN);
    }

    /**
     * The routes of {@code family} (AF_INET, AF_INET6) in {@code table} (0 = every table).
     * Equivalent to: {@code ip [-4|-6] route show table T}.
     */
    public List<Route> list(int family, int table) {
        NetlinkRequest req = new NetlinkRequest(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, "ip route show table " + table);
        req.u8(family).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0).u32(0);
        List<Route> out = new ArrayList<>();
        for (NetlinkMessage m : socket.dump(req)) {
            if (m.type() != RTM_NEWROUTE || m.u8(RTM_FAMILY_OFFSET) != family) {
                continue;
            }
            NetlinkAttributes a = m.attributes(RTMSG_SIZE);
            int routeTable = a.u32(RTA_TABLE, m.u8(RTM_TABLE_OFFSET));
            if (table != RT_TABLE_UNSPEC && routeTable != table) {
                continue;
            }
            var dst = a.address(RTA_DST);
            int dstLength = m.u8(RTM_DST_LEN_OFFSET);
            if (dst == null) {
                dst = IpPrefix.parseAddress(family == Sockets.AF_INET ? "0.0.0.0" : "::");
            }
            out.add(new Route(new IpPrefix(dst, dstLength), a.address(RTA_GATEWAY), a.u32(RTA_OIF, 0), routeTable,
                    m.u8(RTM_PROTOCOL_OFFSET), m.u8(RTM_SCOPE_OFFSET), m.u8(RTM_TYPE_OFFSET),
                    a.u32(RTA_PRIORITY, 0), (m.u32(RTM_FLAGS_OFFSET) & RTNH_F_ONLINK) != 0));
        }
        return out;
    }

    private static NetlinkRequest request(int type, int extraFlags, String verb, Route route) {
        NetlinkRequest req = new NetlinkRequest(type, NLM_F_REQUEST | NLM_F_ACK | extraFlags, verb + " " + describe(route));
        int family = route.isIpv4() ? Sockets.AF_INET : Sockets.AF_INET6;
        // rtm_table is 8 bits; tables above 255 go in RTA_TABLE only.
        req.u8(family).u8(route.destination().length()).u8(0).u8(0)
                .u8(route.table() < 256 ? route.table() : RT_TABLE_UNSPEC)
                .u8(route.protocol()).u8(route.scope()).u8(route.type())
                .u32(route.onlink() ? RTNH_F_ONLINK : 0);
        if (route.destination().length() > 0) {
            req.attrAddress(RTA_DST, route.destination().address());
        }
        if (route.gateway() != null) {
            req.attrAddress(RTA_GATEWAY, route.gateway());
        }
        if (route.outputIndex() > 0) {
            req.attrU32(RTA_OIF, route.outputIndex());
        }
        if (route.metric() > 0) {
            req.attrU32(RTA_PRIORITY, route.metric());
        }
        req.attrU32(RTA_TABLE, route.table());
        return req;
    }

    private static String describe(Route r) {
        StringBuilder s = new StringBuilder(r.destination().toString());
        if (r.gateway() != null) {
            s.append(" via ").append(IpPrefix.format(r.gateway()));
        }
        if (r.outputIndex() > 0) {
            s.append(" dev #").append(r.outputIndex());
        }
        if (r.onlink()) {
            s.append(" onlink");
        }
        if (r.table() != RT_TABLE_MAIN) {
            s.append(" table ").append(r.table());
        }
        if (r.metric() > 0) {
            s.append(" metric ").append(r.metric());
        }
        return s.toString();
    }
}
