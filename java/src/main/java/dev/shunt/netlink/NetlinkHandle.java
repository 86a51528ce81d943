package dev.shunt.netlink;

/**
 * The rtnetlink and generic-netlink (ethtool) sockets of one network namespace: the namespace of
 * the thread that calls {@link #open()}. To work on a lab namespace, open the handle inside it,
 * e.g. {@code ns.call(NetlinkHandle::open)}; the handle then works from any thread.
 */
public final class NetlinkHandle implements AutoCloseable {
    private final NetlinkSocket route;
    private final NetlinkSocket generic;
    private final Links links;
    private final Addresses addresses;
    private final Routes routes;
    private final Neighbours neighbours;
    private final TrafficControl trafficControl;
    private final Ethtool ethtool;

    private NetlinkHandle(NetlinkSocket route, NetlinkSocket generic) {
        this.route = route;
        this.generic = generic;
        this.links = new Links(route);
        this.addresses = new Addresses(route, links);
        this.routes = new Routes(route);
        this.neighbours = new Neighbours(route, links);
        this.trafficControl = new TrafficControl(route, links);
        this.ethtool = new Ethtool(generic);
    }

    /** Opens a handle on the calling thread's network namespace. */
    public static NetlinkHandle open() {
        NetlinkSocket route = NetlinkSocket.open(NetlinkDescriptor.NETLINK_ROUTE);
        try {
            // Opened now, not on first use of ethtool(): a netlink socket belongs to the namespace
            // of the thread that creates it, and only this call is guaranteed to run inside the
            // handle's namespace. Opened lazily from whichever thread first asked for ethtool,
            // it could land in another namespace and change the features of a same-named device
            // there. (Resolving the family id later is harmless: it goes over this socket.)
            NetlinkSocket generic = NetlinkSocket.open(NetlinkDescriptor.NETLINK_GENERIC);
            return new NetlinkHandle(route, generic);
        } catch (RuntimeException e) {
            route.close();
            throw e;
        }
    }

    public Links links() {
        return links;
    }

    public Addresses addresses() {
        return addresses;
    }

    public Routes routes() {
        return routes;
    }

    public Neighbours neighbours() {
        return neighbours;
    }

    public TrafficControl trafficControl() {
        return trafficControl;
    }

    /** Offload features over the ethtool generic-netlink family (ethtool -k/-K). */
    public Ethtool ethtool() {
        return ethtool;
    }

    @Override
    public void close() {
        try {
            generic.close();
        } finally {
            route.close();
        }
    }
}
