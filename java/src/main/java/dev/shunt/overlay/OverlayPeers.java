package dev.shunt.overlay;

import dev.shunt.netlink.IpPrefix;
import dev.shunt.netlink.MacAddress;
import dev.shunt.netlink.Neighbour;
import dev.shunt.netlink.Neighbours;
import dev.shunt.netlink.NetlinkException;
import dev.shunt.netlink.NetlinkHandle;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Keeps the per-peer entries on the VXLAN device equal to a desired set of remote nodes: for each,
 * a permanent neighbour entry (VTEP IP → VTEP MAC) and a permanent FDB entry (VTEP MAC → underlay
 * IP), as flannel's vxlan backend programs them. Stateless between calls: every
 * {@link #reconcile} reads the device's entries, so a restarted agent (a new instance) removes
 * what went stale while it was down and adds what is missing.
 *
 * <p>What is Shunt's, so that nothing else is touched: only entries on this one device; of its
 * neighbour entries, the IPv4 ones marked with protocol {@link Neighbour#PROTOCOL_SHUNT}; of its
 * FDB entries (the kernel keeps no protocol for those), the permanent NTF_SELF ones whose MAC is
 * a desired peer's or is named by one of Shunt's neighbour entries. Entries are added neighbour
 * first and removed FDB first, so a crash between two steps never leaves an FDB entry without the
 * neighbour entry that marks it as Shunt's. Entries others made (no protocol, dynamic FDB
 * entries, the all-zeros flood entry, other MACs) are left alone, unless a desired peer's own
 * VTEP IP or MAC needs the slot: then it is overwritten.
 *
 * <p>A failed kernel request ends the call with its {@link NetlinkException}; what was done before
 * stays done and the next call carries on from the kernel's state.
 */
public final class OverlayPeers {
    private final Neighbours neighbours;
    private final VxlanDevice device;
    private final VxlanConfig config;

    public OverlayPeers(NetlinkHandle netlink, VxlanConfig config) {
        this.neighbours = Objects.requireNonNull(netlink, "netlink").neighbours();
        this.config = Objects.requireNonNull(config, "config");
        this.device = new VxlanDevice(netlink, config);
    }

    /**
     * Adds the missing entries of {@code peers} and removes Shunt's stale ones; calling it again
     * with the same peers changes nothing.
     *
     * @param peers the remote nodes (not this one)
     * @throws IllegalArgumentException if two peers share a name, MAC, underlay IP or overlapping
     *                                  pod CIDRs, or one has this node's underlay IP or MAC (nothing is changed)
     * @throws IllegalStateException    if the device does not exist ({@link VxlanDevice#ensure()} first)
     */
    public synchronized PeerChanges reconcile(Collection<OverlayPeer> peers) {
        Desired desired = desired(peers);
        if (device.find().isEmpty()) {
            throw new IllegalStateException("VXLAN device " + config.name() + " does not exist: ensure it before programming peers");
        }
        String dev = config.name();
        Map<InetAddress, Neighbour> ownNeighbours = shuntNeighbours();
        Set<MacAddress> ownedMacs = new HashSet<>(desired.fdb.keySet());
        ownNeighbours.values().forEach(n -> ownedMacs.add(n.mac()));
        Map<MacAddress, Neighbour> fdb = new HashMap<>();
        for (Neighbour n : neighbours.listFdb(dev)) {
            // A unicast MAC has one remote (the kernel ignores an "append" of a second one); only the
            // all-zeros and multicast entries have several, and those are never Shunt's.
            if (n.mac() != null && n.address() != null && isUnicast(n.mac())) {
                fdb.put(n.mac(), n);
            }
        }

        List<VtepNeighbour> added = new ArrayList<>();
        List<VtepNeighbour> removed = new ArrayList<>();
        List<FdbEntry> fdbAdded = new ArrayList<>();
        List<FdbEntry> fdbRemoved = new ArrayList<>();

        // 1. FDB entries of MACs no peer has any more, while their neighbour entry still marks them.
        for (Neighbour f : fdb.values()) {
            if (isShunts(f, ownedMacs) && !desired.fdb.containsKey(f.mac())) {
                deleteFdb(dev, f.mac(), f.address());
                fdbRemoved.add(new FdbEntry(f.mac(), f.address()));
            }
        }
        // 2. Neighbour entries, before the FDB entries they mark.
        for (Map.Entry<InetAddress, MacAddress> want : desired.neighbours.entrySet()) {
            Neighbour current = ownNeighbours.get(want.getKey());
            if (current != null && current.mac().equals(want.getValue()) && current.isPermanent()) {
                continue;
            }
            neighbours.addPermanent(dev, want.getKey(), want.getValue(), Neighbour.PROTOCOL_SHUNT);
            added.add(new VtepNeighbour(want.getKey(), want.getValue()));
            if (current != null && !current.mac().equals(want.getValue())) {
                removed.add(new VtepNeighbour(current.address(), current.mac()));
            }
        }
        // 3. FDB entries: a MAC whose node moved is replaced in place, without a gap.
        for (Map.Entry<MacAddress, Inet4Address> want : desired.fdb.entrySet()) {
            Neighbour current = fdb.get(want.getKey());
            if (current != null && current.address().equals(want.getValue()) && current.isPermanent() && current.isSelf()) {
                continue;
            }
            neighbours.addFdb(dev, want.getKey(), want.getValue());
            fdbAdded.add(new FdbEntry(want.getKey(), want.getValue()));
            if (current != null && isShunts(current, ownedMacs) && !current.address().equals(want.getValue())) {
                fdbRemoved.add(new FdbEntry(current.mac(), current.address()));
            }
        }
        // 4. Neighbour entries of nodes that left, now that no FDB entry depends on them.
        for (Neighbour n : ownNeighbours.values()) {
            if (!desired.neighbours.containsKey(n.address())) {
                deleteNeighbour(dev, n.address());
                removed.add(new VtepNeighbour(n.address(), n.mac()));
            }
        }
        return new PeerChanges(OverlayEntries.of(added, fdbAdded), OverlayEntries.of(removed, fdbRemoved));
    }

    /**
     * The entries on the device that are Shunt's by the rules above (FDB entries whose MAC one of
     * Shunt's neighbour entries names). Equivalent to: {@code ip neigh show dev shunt.vx proto 83}
     * and {@code bridge fdb show dev shunt.vx} for those MACs.
     */
    public synchronized OverlayEntries programmed() {
        Map<InetAddress, Neighbour> ownNeighbours = shuntNeighbours();
        Set<MacAddress> ownedMacs = new HashSet<>();
        ownNeighbours.values().forEach(n -> ownedMacs.add(n.mac()));
        List<FdbEntry> fdb = new ArrayList<>();
        for (Neighbour f : neighbours.listFdb(config.name())) {
            if (f.mac() != null && f.address() != null && isShunts(f, ownedMacs)) {
                fdb.add(new FdbEntry(f.mac(), f.address()));
            }
        }
        return OverlayEntries.of(ownNeighbours.values().stream().map(n -> new VtepNeighbour(n.address(), n.mac())).toList(), fdb);
    }

    private Map<InetAddress, Neighbour> shuntNeighbours() {
        Map<InetAddress, Neighbour> out = new LinkedHashMap<>();
        for (Neighbour n : neighbours.list(config.name())) {
            if (n.address() instanceof Inet4Address && n.protocol() == Neighbour.PROTOCOL_SHUNT && n.mac() != null) {
                out.put(n.address(), n);
            }
        }
        return out;
    }

    private static boolean isShunts(Neighbour fdbEntry, Set<MacAddress> ownedMacs) {
        return fdbEntry.isPermanent() && fdbEntry.isSelf() && ownedMacs.contains(fdbEntry.mac());
    }

    private static boolean isUnicast(MacAddress mac) {
        byte[] b = mac.bytes();
        return (b[0] & 1) == 0 && (b[0] | b[1] | b[2] | b[3] | b[4] | b[5]) != 0;
    }

    private void deleteFdb(String dev, MacAddress mac, InetAddress underlay) {
        try {
            neighbours.deleteFdb(dev, mac, underlay);
        } catch (NetlinkException e) {
            if (!e.isNotFound()) {
                throw e;
            }
        }
    }

    private void deleteNeighbour(String dev, InetAddress ip) {
        try {
            neighbours.delete(dev, ip);
        } catch (NetlinkException e) {
            if (!e.isNotFound()) {
                throw e;
            }
        }
    }

    private record Desired(Map<InetAddress, MacAddress> neighbours, Map<MacAddress, Inet4Address> fdb) {}

    /** The entries {@code peers} need, after checking that they can coexist on one device. */
    private Desired desired(Collection<OverlayPeer> peers) {
        Objects.requireNonNull(peers, "peers");
        Map<String, OverlayPeer> byName = new HashMap<>();
        Map<MacAddress, OverlayPeer> byMac = new HashMap<>();
        Map<InetAddress, OverlayPeer> byUnderlay = new HashMap<>();
        for (OverlayPeer p : peers) {
            Objects.requireNonNull(p, "peer");
            if (byName.putIfAbsent(p.nodeName(), p) != null) {
                throw new IllegalArgumentException("node " + p.nodeName() + " is listed twice");
            }
            OverlayPeer other = byMac.putIfAbsent(p.vtepMac(), p);
            if (other != null) {
                throw new IllegalArgumentException("nodes " + other.nodeName() + " and " + p.nodeName()
                        + " have the same VTEP MAC " + p.vtepMac());
            }
            other = byUnderlay.putIfAbsent(p.underlayIp(), p);
            if (other != null) {
                throw new IllegalArgumentException("nodes " + other.nodeName() + " and " + p.nodeName()
                        + " have the same underlay IP " + IpPrefix.format(p.underlayIp()));
            }
            if (p.underlayIp().equals(config.local())) {
                throw new IllegalArgumentException("node " + p.nodeName() + " has this node's underlay IP "
                        + IpPrefix.format(p.underlayIp()) + "; peers are the other nodes");
            }
            if (p.vtepMac().equals(config.vtepMac())) {
                throw new IllegalArgumentException("node " + p.nodeName() + " has this node's VTEP MAC " + p.vtepMac()
                        + "; peers are the other nodes");
            }
        }
        checkNoOverlap(peers);
        Map<InetAddress, MacAddress> wantNeighbours = new LinkedHashMap<>();
        Map<MacAddress, Inet4Address> wantFdb = new LinkedHashMap<>();
        for (OverlayPeer p : peers) {
            wantNeighbours.put(p.vtepIp(), p.vtepMac());
            wantFdb.put(p.vtepMac(), p.underlayIp());
        }
        return new Desired(wantNeighbours, wantFdb);
    }

    /** Overlapping pod CIDRs would also mean two peers claiming one VTEP IP. */
    private static void checkNoOverlap(Collection<OverlayPeer> peers) {
        List<OverlayPeer> sorted = new ArrayList<>(peers);
        sorted.sort(Comparator.comparingLong(OverlayPeers::first));
        for (int i = 1; i < sorted.size(); i++) {
            OverlayPeer a = sorted.get(i - 1);
            OverlayPeer b = sorted.get(i);
            if (first(b) <= last(a)) {
                throw new IllegalArgumentException("pod CIDRs " + a.podCidr() + " of node " + a.nodeName() + " and "
                        + b.podCidr() + " of node " + b.nodeName() + " overlap");
            }
        }
    }

    private static long first(OverlayPeer p) {
        byte[] b = p.podCidr().address().getAddress();
        return ((b[0] & 0xffL) << 24) | ((b[1] & 0xffL) << 16) | ((b[2] & 0xffL) << 8) | (b[3] & 0xffL);
    }

    private static long last(OverlayPeer p) {
        return first(p) + (1L << (32 - p.podCidr().length())) - 1;
    }
}

