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

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.zip.CRC32;

/**
 * The kernel plumbing of one pod: a network namespace, a veth pair (eth0 inside, a {@code shp…}
 * end on the node), a /32 from IPAM, {@code lo} up, a link route to the gateway 169.254.1.1 and
 * the default route through it (the fast path answers ARP for the gateway). Setup either completes
 * or leaves nothing behind: no namespace, no veth, no address held.
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
            try (Fd nsFd = ns.openFd()) {
                nodeNetlink.links().add(VethSpec.of(hostVeth, POD_IFNAME).withPeerNamespace(nsFd).withMtu(mtu));
            }
            String mac = ns.call(() -> {
                try (NetlinkHandle pl = NetlinkHandle.open()) {
                    pl.links().setUp("lo");
                    pl.addresses().add(POD_IFNAME, IpPrefix.parse(ip.hostPrefix()));
                    pl.links().setUp(POD_IFNAME);
                    Link eth0 = pl.links().get(POD_IFNAME);
                    pl.routes().add(Route.to(IpPrefix.parse(GATEWAY + "/32")).dev(eth0.index()).scopeLink()
                            .protocol(Route.PROTOCOL_SHUNT));
                    pl.routes().add(Route.to(IpPrefix.parse("0.0.0.0/0")).via(IpPrefix.parseAddress(GATEWAY))
                            .dev(eth0.index()).protocol(Route.PROTOCOL_SHUNT));
                    return eth0.mac().toString();
                }
            });
            nodeNetlink.links().setUp(hostVeth);
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
}
