package dev.shunt.netlink;

import java.net.InetAddress;

import static dev.shunt.netlink.RtnetlinkDescriptor.RTN_UNICAST;
import static dev.shunt.netlink.RtnetlinkDescriptor.RTPROT_STATIC;
import static dev.shunt.netlink.RtnetlinkDescriptor.RT_SCOPE_LINK;
import static dev.shunt.netlink.RtnetlinkDescriptor.RT_SCOPE_UNIVERSE;
import static dev.shunt.netlink.RtnetlinkDescriptor.RT_TABLE_MAIN;

/**
 * A route (RTM_NEWROUTE), as {@code ip -j route} shows it.
 *
 * @param destination the destination prefix (host bits clear); for a default route 0.0.0.0/0 or ::/0
 * @param gateway     the next hop, or {@code null} for a directly connected route
 * @param outputIndex the output interface's index, 0 if none
 * @param table       routing table (254 = main)
 * @param protocol    RTPROT_*: who installed it; Shunt's agent marks its own with {@link #PROTOCOL_SHUNT}
 * @param scope       RT_SCOPE_*
 * @param type        RTN_* (1 = unicast)
 * @param metric      RTA_PRIORITY, 0 if none
 * @param onlink      RTNH_F_ONLINK (set with {@link #withOnlink()}): the gateway is on the link even without a matching subnet
 */
public record Route(IpPrefix destination, InetAddress gateway, int outputIndex, int table, int protocol, int scope,
                    int type, int metric, boolean onlink) {

    /**
     * The rtm_protocol value that marks a route as Shunt's, so a restarted agent can find its
     * routes ({@code ip route show proto 83}). Values above 42 are free for user daemons
     * ({@code /etc/iproute2/rt_protos}); 83 is ASCII 'S'.
     */
    public static final int PROTOCOL_SHUNT = 83;

    /** A unicast route to {@code destination} in the main table, protocol static, no gateway yet. */
    public static Route to(IpPrefix destination) {
        return new Route(destination.network(), null, 0, RT_TABLE_MAIN, RTPROT_STATIC, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0, false);
    }

    public Route via(InetAddress nextHop) {
        return new Route(destination, nextHop, outputIndex, table, protocol, scope, type, metric, onlink);
    }

    public Route dev(int index) {
        return new Route(destination, gateway, index, table, protocol, scope, type, metric, onlink);
    }

    public Route table(int newTable) {
        return new Route(destination, gateway, outputIndex, newTable, protocol, scope, type, metric, onlink);
    }

    public Route protocol(int newProtocol) {
        return new Route(destination, gateway, outputIndex, table, newProtocol, scope, type, metric, onlink);
    }

    public Route scope(int newScope) {
        return new Route(destination, gateway, outputIndex, table, protocol, newScope, type, metric, onlink);
    }

    /** Scope link: a directly connected destination ({@code ip route add X dev D scope link}). */
    public Route scopeLink() {
        return scope(RT_SCOPE_LINK);
    }

    public Route metric(int newMetric) {
        return new Route(destination, gateway, outputIndex, table, protocol, scope, type, newMetric, onlink);
    }

    public Route withOnlink() {
        return new Route(destination, gateway, outputIndex, table, protocol, scope, type, metric, true);
    }

    public boolean isIpv4() {
        return destination.isIpv4();
    }
}
