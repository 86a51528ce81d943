package dev.shunt.agent;

import dev.shunt.ipam.Allocation;
import dev.shunt.ipam.Cidr;
import dev.shunt.ipam.IpamStore;
import dev.shunt.ipam.Owner;
import dev.shunt.netlink.IpPrefix;
import dev.shunt.netlink.Link;
import dev.shunt.netlink.NetlinkHandle;
import dev.shunt.netlink.Route;
import dev.shunt.netlink.VethSpec;
import dev.shunt.netns.NetworkNamespace;
import dev.shunt.sys.Fd;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.zip.CRC32;

/**
 * The kernel plumbing of one pod: a network namespace, a veth pair (eth0 inside, a {@code shp…}
 * end on the node), a /32 from IPAM, {@code lo} up, a link route to the gateway 169.254.1.1 and
 * the default route through it (the fast path answers ARP for the gateway). Setup either completes
 * or leaves nothing behind: no namespace, no veth, no address held. A pod made through CNI gets the
 * same in the runtime's namespace ({@link #attach}).
 */
public final class PodNetwork {
    /** The gateway every pod routes through; the fast path answers for it. */
    public static final String GATEWAY = "169.254.1.1";
    public static final String POD_IFNAME = "eth0";
    private static final Pattern POD_NAME = Pattern.compile("[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?");

    private final String node;
    private final Cidr podCidr;
    private final int mtu;
    private final NetlinkHandle nodeNetlink;
    private final IpamStore ipam;

    /**
     * @param nodeNetlink a handle on the node's namespace (where the node-side veth ends live)
     */
    public PodNetwork(String node, Cidr podCidr, int mtu, NetlinkHandle nodeNetlink, IpamStore ipam) {
        this.node = node;
        this.podCidr = podCidr;
        this.mtu = mtu;
        this.nodeNetlink = nodeNetlink;
        this.ipam = ipam;
    }

    /** The namespace name of a pod: {@code shunt-NODE-POD}, recognisably Shunt's and unique per node. */
    public String namespaceOf(String pod) {
        return "shunt-" + node + "-" + pod;
    }

    /** The node-side veth name: {@code shp} + 8 hex digits of the CRC-32 of node/pod (fits IFNAMSIZ). */
    public String hostVethOf(String pod) {
        CRC32 crc = new CRC32();
        crc.update((node + "/" + pod).getBytes(StandardCharsets.UTF_8));
        return "shp" + HexFormat.of().toHexDigits((int) crc.getValue());
    }

    public static void validateName(String pod) {
        if (pod == null || !POD_NAME.matcher(pod).matches()) {
            throw new IllegalArgumentException("invalid pod name '" + pod
                    + "': lower-case letters, digits and '-', starting and ending with a letter or digit, at most 53");
        }
    }

    /** Creates the pod's plumbing. Equivalent to a CNI ADD with the ptp plugin's layout and a link-local gateway. */
    public PodRecord create(String pod, Map<String, String> labels) {
        validateName(pod);
        long start = System.nanoTime();
        String nsName = namespaceOf(pod);
        if (nsName.length() > 64) {
            throw new IllegalArgumentException("pod name '" + pod + "' is too long for node '" + node + "' (namespace name over 64)");
        }
        String hostVeth = hostVethOf(pod);
        if (nodeNetlink.links().find(hostVeth).isPresent()) {
            throw new IllegalStateException("pod '" + pod + "' exists already (link " + hostVeth + " is there)");
        }
        Owner owner = new Owner(pod, POD_IFNAME);
        Allocation ip = ipam.allocate(podCidr, owner);
        NetworkNamespace ns = null;
        boolean done = false;
        try {
            ns = NetworkNamespace.create(nsName);
            String mac = plumb(ns, POD_IFNAME, hostVeth, ip.hostPrefix());
            long micros = (System.nanoTime() - start) / 1000;
            PodRecord record = new PodRecord(pod, labels, ip.address().getHostAddress(), nsName, hostVeth, mac,
                    System.currentTimeMillis(), micros, 0);
            done = true;
            return record;
        } finally {
            if (!done) {
                // The veth first: deleting one end removes both at once, whereas a deleted
                // namespace is torn down by the kernel asynchronously, later.
                nodeNetlink.links().find(hostVeth).ifPresent(l -> nodeNetlink.links().delete(hostVeth));
                if (ns != null && NetworkNamespace.exists(nsName)) {
                    ns.delete();
                }
                ipam.release(owner);
            }
        }
    }

    /**
     * Plumbs a pod into a namespace a container runtime made (CNI_NETNS), with the interface named
     * as the runtime asks: the same veth, /32, gateway route and default route as {@link #create}.
     * Either completes or leaves nothing behind: no veth, no address held (the namespace is the
     * runtime's and stays).
     *
     * @param address the address a delegated IPAM plugin chose, or null to take one from Shunt's IPAM
     *                under the owner {@code containerId/ifname}
     */
    public PodRecord attach(String pod, Map<String, String> labels, NetworkNamespace netns, ContainerAttachment attachment,
                            InetAddress address) {
        validateName(pod);
        long start = System.nanoTime();
        String hostVeth = hostVethOf(pod);
        if (nodeNetlink.links().find(hostVeth).isPresent()) {
            throw new IllegalStateException("pod '" + pod + "' exists already (link " + hostVeth + " is there)");
        }
        Owner owner = new Owner(attachment.containerId(), attachment.ifname());
        String ip;
        String hostPrefix;
        if (address == null) {
            Allocation allocation = ipam.allocate(podCidr, owner);
            ip = allocation.address().getHostAddress();
            hostPrefix = allocation.hostPrefix();
        } else {
            ip = address.getHostAddress();
            hostPrefix = ip + "/32";
        }
        boolean done = false;
        try {
            String mac = plumb(netns, attachment.ifname(), hostVeth, hostPrefix);
            PodRecord record = new PodRecord(pod, labels, ip, netns.path().toString(), hostVeth, mac,
                    System.currentTimeMillis(), (System.nanoTime() - start) / 1000, 0, attachment);
            done = true;
            return record;
        } finally {
            if (!done) {
                nodeNetlink.links().find(hostVeth).ifPresent(l -> nodeNetlink.links().delete(hostVeth));
                if (address == null) {
                    ipam.release(owner);
                }
            }
        }
    }

    /** The veth into {@code ns} as {@code ifname}, lo up, the address and routes inside; returns the pod side's MAC. */
    private String plumb(NetworkNamespace ns, String ifname, String hostVeth, String hostPrefix) {
        try (Fd nsFd = ns.openFd()) {
            nodeNetlink.links().add(VethSpec.of(hostVeth, ifname).withPeerNamespace(nsFd).withMtu(mtu));
        }
        String mac = ns.call(() -> {
            try (NetlinkHandle pl = NetlinkHandle.open()) {
                pl.links().setUp("lo");
                pl.addresses().add(ifname, IpPrefix.parse(hostPrefix));
                pl.links().setUp(ifname);
                Link eth0 = pl.links().get(ifname);
                pl.routes().add(Route.to(IpPrefix.parse(GATEWAY + "/32")).dev(eth0.index()).scopeLink()
                        .protocol(Route.PROTOCOL_SHUNT));
                pl.routes().add(Route.to(IpPrefix.parse("0.0.0.0/0")).via(IpPrefix.parseAddress(GATEWAY))
                        .dev(eth0.index()).protocol(Route.PROTOCOL_SHUNT));
                return eth0.mac().toString();
            }
        });
        nodeNetlink.links().setUp(hostVeth);
        return mac;
    }

    /** Removes the pod's plumbing and releases its IP; what is already gone is not an error (CNI DEL). */
    public void delete(String pod) {
        validateName(pod);
        String hostVeth = hostVethOf(pod);
        if (nodeNetlink.links().find(hostVeth).isPresent()) {
            nodeNetlink.links().delete(hostVeth); // both ends, synchronously (see create)
        }
        String nsName = namespaceOf(pod);
        if (NetworkNamespace.exists(nsName)) {
            NetworkNamespace.named(nsName).delete();
        }
        ipam.release(new Owner(pod, POD_IFNAME));
    }

    /** Removes a pod's plumbing, whichever way it was made ({@link #delete} or {@link #detach}). */
    public void remove(PodRecord pod) {
        if (pod.attachment() == null) {
            delete(pod.name());
        } else {
            detach(pod.hostVeth(), pod.attachment());
        }
    }

    /**
     * Removes an attached pod's veth (both ends) and the address its attachment holds in Shunt's
     * IPAM; the namespace stays, it is the runtime's. What is already gone is not an error (CNI DEL).
     */
    public void detach(String hostVeth, ContainerAttachment attachment) {
        if (nodeNetlink.links().find(hostVeth).isPresent()) {
            nodeNetlink.links().delete(hostVeth);
        }
        if (attachment.usesShuntIpam()) {
            ipam.release(new Owner(attachment.containerId(), attachment.ifname()));
        }
    }
}
