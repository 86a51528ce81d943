package dev.shunt.netlink;

/**
 * The rtnetlink (and, on first use, ethtool generic-netlink) sockets of one network namespace:
 * the namespace of the thread that calls {@link #open()}. To work on a lab namespace, open the
 * handle inside it, e.g. {@code ns.call(NetlinkHandle::open)}; the handle then works from any thread.
 */
public final class NetlinkHandle implements AutoCloseable {
    private final NetlinkSocket route;
    private final Links links;
    private final Addresses addresses;
    private final Routes routes;
    private final Neighbours neighbours;
    private final TrafficControl trafficControl;

    private NetlinkHandle(NetlinkSocket route) {
        this.route = route;
        this.links = new Links(route);
        this.addresses = new Addresses(route, links);
        this.routes = new Routes(route);
        this.neighbours = new Neighbours(route, links);
        this.trafficControl = new TrafficControl(route, links);
    }

    /** Opens a handle on the calling thread's network namespace. */
    public static NetlinkHandle open() {
        return new NetlinkHandle(NetlinkSocket.open(NetlinkDescriptor.NETLINK_ROUTE));
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

    @Override
    public void close() {
        route.close();
    }
}
