package dev.shunt.overlay;

import dev.shunt.netlink.IpPrefix;
import dev.shunt.netlink.Link;
import dev.shunt.netlink.Links;
import dev.shunt.netlink.NetlinkException;
import dev.shunt.netlink.NetlinkHandle;
import dev.shunt.netlink.VxlanSpec;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The node's VXLAN device ({@code shunt.vx}) in the namespace of {@code netlink}. {@link #ensure()}
 * makes it match a {@link VxlanConfig}: it creates a missing device, adopts an existing one whose
 * tunnel parameters match (so a restarted agent keeps the device and its FDB), and deletes and
 * recreates one whose tunnel parameters differ, since the kernel cannot change a VXLAN device's
 * VNI, port or local address in place. MTU, MAC and the up flag are fixed in place.
 */
public final class VxlanDevice {
    /** What {@link #ensure()} found. */
    public enum Outcome {
        /** There was no device of that name; one was created. */
        CREATED,
        /** A device with matching tunnel parameters was kept, with its FDB and neighbour entries. */
        ADOPTED,
        /** A device of that name differed (see {@link Ensured#changes()}) and was replaced: its entries are gone. */
        RECREATED
    }

    /**
     * The result of {@link #ensure()}.
     *
     * @param changes why a device was recreated (e.g. {@code "vni 7, wanted 1"}), or what was fixed in
     *                place on an adopted one (e.g. {@code "mtu 1500 -> 1450"}); empty if nothing differed
     * @param link    the device as it is now
     */
    public record Ensured(Outcome outcome, List<String> changes, Link link) {
        public Ensured {
            changes = List.copyOf(changes);
        }
    }

    private final Links links;
    private final VxlanConfig config;

    public VxlanDevice(NetlinkHandle netlink, VxlanConfig config) {
        this.links = Objects.requireNonNull(netlink, "netlink").links();
        this.config = Objects.requireNonNull(config, "config");
    }

    public VxlanConfig config() {
        return config;
    }

    /**
     * Makes the device exist, match the config, and be up. Roughly equivalent to:
     * {@code ip link add shunt.vx type vxlan id VNI dstport PORT local IP [dev UNDERLAY] nolearning;
     * ip link set shunt.vx mtu MTU address MAC up}.
     *
     * @throws NetlinkException           if the kernel refuses a step (e.g. the underlay device does not exist)
     * @throws IllegalStateException      if the config names an underlay device that does not exist
     */
    public synchronized Ensured ensure() {
        int underlayIndex = underlayIndex();
        List<String> changes = new ArrayList<>();
        Optional<Link> existing = links.find(config.name());
        Outcome outcome;
        if (existing.isEmpty()) {
            create(underlayIndex);
            outcome = Outcome.CREATED;
        } else {
            changes.addAll(tunnelDifferences(existing.get(), underlayIndex));
            if (changes.isEmpty()) {
                outcome = Outcome.ADOPTED;
            } else {
                links.delete(config.name());
                create(underlayIndex);
                outcome = Outcome.RECREATED;
            }
        }
        // A device made just now still has the kernel's random MAC; only an adopted one's fixes are news.
        Link link = links.get(config.name());
        if (link.mtu() != config.mtu()) {
            if (outcome == Outcome.ADOPTED) {
                changes.add("mtu " + link.mtu() + " -> " + config.mtu());
            }
            links.setMtu(config.name(), config.mtu());
        }
        if (!config.vtepMac().equals(link.mac())) {
            if (outcome == Outcome.ADOPTED) {
                changes.add("mac " + link.mac() + " -> " + config.vtepMac());
            }
            links.setMac(config.name(), config.vtepMac());
        }
        if (!link.isUp()) {
            if (outcome == Outcome.ADOPTED) {
                changes.add("set up");
            }
            links.setUp(config.name());
        }
        return new Ensured(outcome, changes, links.get(config.name()));
    }

    /** The device, if it exists. Equivalent to: {@code ip -d link show shunt.vx}. */
    public Optional<Link> find() {
        return links.find(config.name());
    }

    /**
     * Deletes the device (and with it every FDB and neighbour entry on it); false if there was none.
     * Equivalent to: {@code ip link del shunt.vx}.
     */
    public synchronized boolean remove() {
        try {
            links.delete(config.name());
            return true;
        } catch (NetlinkException e) {
            if (e.isNotFound()) {
                return false;
            }
            throw e;
        }
    }

    private void create(int underlayIndex) {
        links.add(new VxlanSpec(config.name(), config.vni(), config.port(), config.local(), false, underlayIndex,
                config.mtu()));
    }

    private int underlayIndex() {
        if (config.underlayDevice() == null) {
            return 0;
        }
        return links.find(config.underlayDevice())
                .orElseThrow(() -> new IllegalStateException("underlay device '" + config.underlayDevice()
                        + "' for " + config.name() + " does not exist"))
                .index();
    }

    /** Why {@code link} cannot be adopted as it is; empty if it can. */
    private List<String> tunnelDifferences(Link link, int underlayIndex) {
        if (!"vxlan".equals(link.kind())) {
            return List.of("kind " + link.kind() + ", wanted vxlan");
        }
        Link.Vxlan v = link.vxlan();
        List<String> out = new ArrayList<>();
        if (v.vni() != config.vni()) {
            out.add("vni " + v.vni() + ", wanted " + config.vni());
        }
        if (v.port() != config.port()) {
            out.add("port " + v.port() + ", wanted " + config.port());
        }
        if (!config.local().equals(v.local())) {
            out.add("local " + (v.local() == null ? "none" : IpPrefix.format(v.local())) + ", wanted "
                    + IpPrefix.format(config.local()));
        }
        if (v.learning()) {
            out.add("learning on, wanted off");
        }
        if (v.underlayIndex() != underlayIndex) {
            out.add("underlay device index " + v.underlayIndex() + ", wanted " + underlayIndex
                    + (config.underlayDevice() == null ? " (none)" : " (" + config.underlayDevice() + ")"));
        }
        if (v.remote() != null) {
            // A default remote adds the all-zeros FDB entry: every frame for an unknown MAC would be
            // flooded to it instead of dropped.
            out.add("remote " + IpPrefix.format(v.remote()) + ", wanted none");
        }
        return out;
    }
}
