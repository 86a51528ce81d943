package dev.shunt.overlay;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import dev.shunt.netlink.IpPrefix;
import dev.shunt.netlink.MacAddress;
import dev.shunt.netlink.NetlinkHandle;
import dev.shunt.netlink.VxlanSpec;
import org.junit.jupiter.api.Test;

import java.net.Inet4Address;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import static dev.shunt.overlay.OverlayInputTest.v4;
import static dev.shunt.overlay.VxlanDeviceTest.bridge;
import static dev.shunt.overlay.VxlanDeviceTest.ip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class OverlayPeersTest {
    private static final VxlanConfig CONFIG = VxlanConfig.forNode("node-a", v4("198.18.0.1"), 1500);
    private static final OverlayPeer B = peer("node-b", "198.18.0.2", "10.244.2.0/24");
    private static final OverlayPeer C = peer("node-c", "198.18.0.3", "10.244.3.0/24");
    private static final OverlayPeer D = peer("node-d", "198.18.0.4", "10.244.4.0/24");
    private static final String MAC_B = B.vtepMac().toString();
    private static final String MAC_C = C.vtepMac().toString();
    private static final String MAC_D = D.vtepMac().toString();

    @Test
    void eachPeerGetsAPermanentFdbAndNeighbourEntryAndASecondCallChangesNothing() {
        try (ScratchNamespace ns = node("peers")) {
            OverlayPeers peers = new OverlayPeers(ns.netlink(), CONFIG);

            PeerChanges changes = peers.reconcile(List.of(B, C));

            assertThat(changes.added().neighbours()).extracting(Object::toString)
                    .containsExactlyInAnyOrder("10.244.2.0 lladdr " + MAC_B, "10.244.3.0 lladdr " + MAC_C);
            assertThat(changes.added().fdb()).extracting(Object::toString)
                    .containsExactlyInAnyOrder(MAC_B + " dst 198.18.0.2", MAC_C + " dst 198.18.0.3");
            assertThat(changes.removed().isEmpty()).isTrue();
            assertThat(fdb(ns)).containsExactlyInAnyOrder(MAC_B + " 198.18.0.2 permanent self", MAC_C + " 198.18.0.3 permanent self");
            assertThat(neighbours(ns)).containsExactlyInAnyOrder("10.244.2.0 " + MAC_B + " PERMANENT proto 83",
                    "10.244.3.0 " + MAC_C + " PERMANENT proto 83");
            assertThat(peers.programmed()).isEqualTo(changes.added());

            PeerChanges again = peers.reconcile(List.of(C, B));

            assertThat(again.isEmpty()).as(again.toString()).isTrue();
            assertThat(again).hasToString("no change");
            assertThat(fdb(ns)).hasSize(2);
            assertThat(neighbours(ns)).hasSize(2);
        }
    }

    @Test
    void aPeerThatLeavesLosesBothEntriesAndTheOthersKeepTheirs() {
        try (ScratchNamespace ns = node("leave")) {
            OverlayPeers peers = new OverlayPeers(ns.netlink(), CONFIG);
            peers.reconcile(List.of(B, C));

            PeerChanges changes = peers.reconcile(List.of(C));

            assertThat(changes.added().isEmpty()).isTrue();
            assertThat(changes.removed().neighbours()).extracting(Object::toString).containsExactly("10.244.2.0 lladdr " + MAC_B);
            assertThat(changes.removed().fdb()).extracting(Object::toString).containsExactly(MAC_B + " dst 198.18.0.2");
            assertThat(fdb(ns)).containsExactly(MAC_C + " 198.18.0.3 permanent self");
            assertThat(neighbours(ns)).containsExactly("10.244.3.0 " + MAC_C + " PERMANENT proto 83");

            peers.reconcile(List.of());

            assertThat(fdb(ns)).isEmpty();
            assertThat(neighbours(ns)).isEmpty();
        }
    }

    @Test
    void aRestartedAgentRemovesWhatWentStaleAndAddsWhatIsMissing() {
        try (ScratchNamespace ns = node("restart")) {
            new OverlayPeers(ns.netlink(), CONFIG).reconcile(List.of(B, C));
            // While the agent is down: someone deletes C's FDB entry, and B leaves the cluster while D joins.
            bridge(ns, "fdb", "del", MAC_C, "dev", "shunt.vx", "dst", "198.18.0.3", "self");

            VxlanDevice.Ensured device;
            PeerChanges changes;
            try (NetlinkHandle restarted = ns.namespace().call(NetlinkHandle::open)) {
                device = new VxlanDevice(restarted, CONFIG).ensure();
                changes = new OverlayPeers(restarted, CONFIG).reconcile(List.of(C, D));
            }

            assertThat(device.outcome()).isEqualTo(VxlanDevice.Outcome.ADOPTED);
            assertThat(changes.added().fdb()).extracting(Object::toString)
                    .containsExactlyInAnyOrder(MAC_C + " dst 198.18.0.3", MAC_D + " dst 198.18.0.4");
            assertThat(changes.added().neighbours()).extracting(Object::toString).containsExactly("10.244.4.0 lladdr " + MAC_D);
            assertThat(changes.removed().fdb()).extracting(Object::toString).containsExactly(MAC_B + " dst 198.18.0.2");
            assertThat(changes.removed().neighbours()).extracting(Object::toString).containsExactly("10.244.2.0 lladdr " + MAC_B);
            assertThat(fdb(ns)).containsExactlyInAnyOrder(MAC_C + " 198.18.0.3 permanent self", MAC_D + " 198.18.0.4 permanent self");
            assertThat(neighbours(ns)).containsExactlyInAnyOrder("10.244.3.0 " + MAC_C + " PERMANENT proto 83",
                    "10.244.4.0 " + MAC_D + " PERMANENT proto 83");
        }
    }

    @Test
    void aCrashBetweenTheTwoEntriesOfALeavingPeerIsFinishedByTheNextReconcile() {
        try (ScratchNamespace ns = node("halfway")) {
            OverlayPeers peers = new OverlayPeers(ns.netlink(), CONFIG);
            peers.reconcile(List.of(B, C));
            // Removal goes FDB first: a crash right after it leaves B's neighbour entry alone.
            bridge(ns, "fdb", "del", MAC_B, "dev", "shunt.vx", "dst", "198.18.0.2", "self");

            PeerChanges changes = new OverlayPeers(ns.netlink(), CONFIG).reconcile(List.of(C));

            assertThat(changes.removed().neighbours()).extracting(Object::toString).containsExactly("10.244.2.0 lladdr " + MAC_B);
            assertThat(changes.removed().fdb()).isEmpty();
            assertThat(neighbours(ns)).containsExactly("10.244.3.0 " + MAC_C + " PERMANENT proto 83");
            assertThat(fdb(ns)).containsExactly(MAC_C + " 198.18.0.3 permanent self");
        }
    }

    @Test
    void entriesShuntDidNotMakeAreLeftAlone() {
        try (ScratchNamespace ns = node("foreign")) {
            // On shunt.vx: a permanent neighbour without Shunt's protocol, a permanent FDB entry of
            // another MAC, a dynamic one, and a flood entry. On another VXLAN device: B's MAC and
            // B's VTEP IP, even marked with Shunt's protocol.
            ip(ns, "neigh", "add", "10.244.9.0", "lladdr", "0e:00:00:00:00:09", "dev", "shunt.vx", "nud", "permanent");
            bridge(ns, "fdb", "add", "0e:00:00:00:00:09", "dev", "shunt.vx", "dst", "198.18.0.9", "self", "permanent");
            bridge(ns, "fdb", "add", "0e:00:00:00:00:0a", "dev", "shunt.vx", "dst", "198.18.0.10", "self", "dynamic");
            bridge(ns, "fdb", "append", "00:00:00:00:00:00", "dev", "shunt.vx", "dst", "198.18.0.11", "self", "permanent");
            ns.netlink().links().add(new VxlanSpec("shunt-vx9", 9, 4789, v4("198.18.0.1"), false, 0, 0));
            ip(ns, "link", "set", "shunt-vx9", "up");
            bridge(ns, "fdb", "add", MAC_B, "dev", "shunt-vx9", "dst", "198.18.0.2", "self", "permanent");
            ip(ns, "neigh", "add", "10.244.2.0", "lladdr", MAC_B, "dev", "shunt-vx9", "nud", "permanent", "protocol", "83");
            Set<String> foreignFdb = fdb(ns);
            Set<String> foreignNeighbours = neighbours(ns);
            Set<String> otherDevice = new TreeSet<>(fdb(ns, "shunt-vx9"));
            otherDevice.addAll(neighbours(ns, "shunt-vx9"));
            assertThat(foreignFdb).hasSize(3);
            assertThat(foreignNeighbours).hasSize(1);
            assertThat(otherDevice).hasSize(2);
            OverlayPeers peers = new OverlayPeers(ns.netlink(), CONFIG);

            PeerChanges added = peers.reconcile(List.of(B));
            PeerChanges removed = peers.reconcile(List.of());

            assertThat(added.removed().isEmpty()).as(added.toString()).isTrue();
            assertThat(removed.removed().fdb()).extracting(Object::toString).containsExactly(MAC_B + " dst 198.18.0.2");
            assertThat(removed.removed().neighbours()).extracting(Object::toString).containsExactly("10.244.2.0 lladdr " + MAC_B);
            assertThat(fdb(ns)).isEqualTo(foreignFdb);
            assertThat(neighbours(ns)).isEqualTo(foreignNeighbours);
            Set<String> otherAfter = new TreeSet<>(fdb(ns, "shunt-vx9"));
            otherAfter.addAll(neighbours(ns, "shunt-vx9"));
            assertThat(otherAfter).isEqualTo(otherDevice);
            assertThat(peers.programmed().isEmpty()).isTrue();
        }
    }

    @Test
    void aPeerThatMovesIsUpdatedInPlace() {
        try (ScratchNamespace ns = node("move")) {
            OverlayPeers peers = new OverlayPeers(ns.netlink(), CONFIG);
            peers.reconcile(List.of(B, C));

            // New underlay IP: the FDB entry changes in place.
            OverlayPeer moved = new OverlayPeer("node-b", v4("198.18.0.20"), B.vtepMac(), B.podCidr());
            PeerChanges underlay = peers.reconcile(List.of(moved, C));

            assertThat(underlay.added().fdb()).extracting(Object::toString).containsExactly(MAC_B + " dst 198.18.0.20");
            assertThat(underlay.removed().fdb()).extracting(Object::toString).containsExactly(MAC_B + " dst 198.18.0.2");
            assertThat(underlay.added().neighbours()).isEmpty();
            assertThat(underlay.removed().neighbours()).isEmpty();
            assertThat(fdb(ns)).containsExactlyInAnyOrder(MAC_B + " 198.18.0.20 permanent self", MAC_C + " 198.18.0.3 permanent self");

            // New MAC: the neighbour entry is replaced and the old MAC's FDB entry goes.
            MacAddress newMac = VtepMac.forNode("node-b-reinstalled");
            OverlayPeer remade = new OverlayPeer("node-b", v4("198.18.0.20"), newMac, B.podCidr());
            PeerChanges mac = peers.reconcile(List.of(remade, C));

            assertThat(mac.added().neighbours()).extracting(Object::toString).containsExactly("10.244.2.0 lladdr " + newMac);
            assertThat(mac.removed().neighbours()).extracting(Object::toString).containsExactly("10.244.2.0 lladdr " + MAC_B);
            assertThat(mac.added().fdb()).extracting(Object::toString).containsExactly(newMac + " dst 198.18.0.20");
            assertThat(mac.removed().fdb()).extracting(Object::toString).containsExactly(MAC_B + " dst 198.18.0.20");
            assertThat(fdb(ns)).containsExactlyInAnyOrder(newMac + " 198.18.0.20 permanent self", MAC_C + " 198.18.0.3 permanent self");
            assertThat(neighbours(ns)).containsExactlyInAnyOrder("10.244.2.0 " + newMac + " PERMANENT proto 83",
                    "10.244.3.0 " + MAC_C + " PERMANENT proto 83");

            // New pod CIDR: a new VTEP IP, the old neighbour entry goes, the FDB entry stays.
            OverlayPeer renumbered = new OverlayPeer("node-b", v4("198.18.0.20"), newMac, IpPrefix.parse("10.244.5.0/24"));
            PeerChanges cidr = peers.reconcile(List.of(renumbered, C));

            assertThat(cidr.added().neighbours()).extracting(Object::toString).containsExactly("10.244.5.0 lladdr " + newMac);
            assertThat(cidr.removed().neighbours()).extracting(Object::toString).containsExactly("10.244.2.0 lladdr " + newMac);
            assertThat(cidr.added().fdb()).isEmpty();
            assertThat(cidr.removed().fdb()).isEmpty();
            assertThat(neighbours(ns)).containsExactlyInAnyOrder("10.244.5.0 " + newMac + " PERMANENT proto 83",
                    "10.244.3.0 " + MAC_C + " PERMANENT proto 83");
        }
    }

    @Test
    void aDesiredPeersSlotHeldByAForeignEntryIsTakenOver() {
        try (ScratchNamespace ns = node("takeover")) {
            ip(ns, "neigh", "add", "10.244.2.0", "lladdr", "0e:00:00:00:00:99", "dev", "shunt.vx", "nud", "permanent");
            bridge(ns, "fdb", "add", MAC_B, "dev", "shunt.vx", "dst", "198.18.0.99", "self", "dynamic");

            PeerChanges changes = new OverlayPeers(ns.netlink(), CONFIG).reconcile(List.of(B));

            assertThat(changes.added().neighbours()).extracting(Object::toString).containsExactly("10.244.2.0 lladdr " + MAC_B);
            assertThat(changes.added().fdb()).extracting(Object::toString).containsExactly(MAC_B + " dst 198.18.0.2");
            assertThat(changes.removed().isEmpty()).as("neither was Shunt's").isTrue();
            assertThat(neighbours(ns)).containsExactly("10.244.2.0 " + MAC_B + " PERMANENT proto 83");
            assertThat(fdb(ns)).containsExactly(MAC_B + " 198.18.0.2 permanent self");
        }
    }

    @Test
    void anEntryMadeNonPermanentByHandIsLeftAloneEvenForAShuntMac() {
        try (ScratchNamespace ns = node("dynamic")) {
            OverlayPeers peers = new OverlayPeers(ns.netlink(), CONFIG);
            peers.reconcile(List.of(B, C));
            bridge(ns, "fdb", "replace", MAC_B, "dev", "shunt.vx", "dst", "198.18.0.2", "self", "dynamic");

            PeerChanges changes = peers.reconcile(List.of(C));

            assertThat(changes.removed().fdb()).isEmpty();
            assertThat(changes.removed().neighbours()).extracting(Object::toString).containsExactly("10.244.2.0 lladdr " + MAC_B);
            assertThat(fdb(ns)).containsExactlyInAnyOrder(MAC_B + " 198.18.0.2  self", MAC_C + " 198.18.0.3 permanent self");
        }
    }

    @Test
    void peerSetsThatCannotCoexistAreRefusedAndNothingChanges() {
        try (ScratchNamespace ns = node("refuse")) {
            OverlayPeers peers = new OverlayPeers(ns.netlink(), CONFIG);
            peers.reconcile(List.of(B));
            Set<String> fdbBefore = fdb(ns);
            Set<String> neighboursBefore = neighbours(ns);

            assertThatThrownBy(() -> peers.reconcile(List.of(B, B))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("node node-b is listed twice");
            assertThatThrownBy(() -> peers.reconcile(List.of(B, new OverlayPeer("node-x", v4("198.18.0.30"), B.vtepMac(),
                    IpPrefix.parse("10.244.30.0/24"))))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("nodes node-b and node-x have the same VTEP MAC " + MAC_B);
            assertThatThrownBy(() -> peers.reconcile(List.of(B, peer("node-x", "198.18.0.2", "10.244.30.0/24"))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("nodes node-b and node-x have the same underlay IP 198.18.0.2");
            assertThatThrownBy(() -> peers.reconcile(List.of(B, peer("node-x", "198.18.0.30", "10.244.2.128/25"))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("pod CIDRs 10.244.2.0/24 of node node-b and 10.244.2.128/25 of node node-x overlap");
            assertThatThrownBy(() -> peers.reconcile(List.of(peer("node-x", "198.18.0.30", "10.244.0.0/16"), B)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("pod CIDRs 10.244.0.0/16 of node node-x and 10.244.2.0/24 of node node-b overlap");
            assertThatThrownBy(() -> peers.reconcile(List.of(peer("node-x", "198.18.0.1", "10.244.30.0/24"))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("node node-x has this node's underlay IP 198.18.0.1; peers are the other nodes");
            assertThatThrownBy(() -> peers.reconcile(List.of(new OverlayPeer("node-x", v4("198.18.0.30"), CONFIG.vtepMac(),
                    IpPrefix.parse("10.244.30.0/24"))))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("node node-x has this node's VTEP MAC " + CONFIG.vtepMac() + "; peers are the other nodes");

            assertThat(fdb(ns)).isEqualTo(fdbBefore);
            assertThat(neighbours(ns)).isEqualTo(neighboursBefore);
        }
    }

    @Test
    void withoutTheDeviceReconcileSaysSo() {
        try (ScratchNamespace ns = ScratchNamespace.create("nodevice")) {
            assertThatThrownBy(() -> new OverlayPeers(ns.netlink(), CONFIG).reconcile(List.of(B)))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("VXLAN device shunt.vx does not exist: ensure it before programming peers");
        }
    }

    /**
     * Seeded random sequences of desired peer sets (nodes joining, leaving, moving, changing MAC or
     * pod CIDR), each reconciled by a fresh or the same instance, among foreign entries: after each
     * step the device holds exactly the desired entries plus the foreign ones, and a repeat changes nothing.
     */
    @Test
    void randomSequencesOfPeerSetsAlwaysConvergeToExactlyTheDesiredEntries() {
        long seed = 0x5eed_0011L;
        Random random = new Random(seed);
        try (ScratchNamespace ns = node("random")) {
            ip(ns, "neigh", "add", "10.244.99.0", "lladdr", "0e:00:00:00:00:63", "dev", "shunt.vx", "nud", "permanent");
            bridge(ns, "fdb", "add", "0e:00:00:00:00:63", "dev", "shunt.vx", "dst", "198.18.0.99", "self", "permanent");
            bridge(ns, "fdb", "append", "00:00:00:00:00:00", "dev", "shunt.vx", "dst", "198.18.0.98", "self", "permanent");
            Set<String> foreignFdb = fdb(ns);
            Set<String> foreignNeighbours = neighbours(ns);
            OverlayPeers peers = new OverlayPeers(ns.netlink(), CONFIG);
            for (int round = 0; round < 25; round++) {
                List<OverlayPeer> desired = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    if (random.nextInt(3) > 0) {
                        boolean moved = random.nextBoolean();
                        boolean newMac = random.nextInt(4) == 0;
                        boolean newCidr = random.nextInt(4) == 0;
                        desired.add(new OverlayPeer("node-" + i, v4("198.18." + (moved ? 2 : 1) + "." + (i + 1)),
                                VtepMac.forNode("node-" + i + (newMac ? "-v2" : "")),
                                IpPrefix.parse("10.244." + (newCidr ? 50 + i : 10 + i) + ".0/24")));
                    }
                }
                if (random.nextInt(5) == 0) {
                    peers = new OverlayPeers(ns.netlink(), CONFIG); // a restart between two steps
                }
                String where = "seed " + seed + " round " + round + " " + desired;

                peers.reconcile(desired);

                Set<String> wantFdb = new HashSet<>(foreignFdb);
                Set<String> wantNeighbours = new HashSet<>(foreignNeighbours);
                for (OverlayPeer p : desired) {
                    wantFdb.add(p.vtepMac() + " " + p.underlayIp().getHostAddress() + " permanent self");
                    wantNeighbours.add(p.vtepIp().getHostAddress() + " " + p.vtepMac() + " PERMANENT proto 83");
                }
                assertThat(fdb(ns)).as(where).isEqualTo(wantFdb);
                assertThat(neighbours(ns)).as(where).isEqualTo(wantNeighbours);
                PeerChanges repeat = peers.reconcile(desired);
                assertThat(repeat.isEmpty()).as(where + ": " + repeat).isTrue();
            }
        }
    }

    private static OverlayPeer peer(String name, String underlay, String cidr) {
        return new OverlayPeer(name, v4(underlay), VtepMac.forNode(name), IpPrefix.parse(cidr));
    }

    /** A scratch node with shunt.vx as Shunt makes it. */
    private static ScratchNamespace node(String purpose) {
        ScratchNamespace ns = ScratchNamespace.create(purpose);
        try {
            new VxlanDevice(ns.netlink(), CONFIG).ensure();
            return ns;
        } catch (RuntimeException e) {
            ns.close();
            throw e;
        }
    }

    private static Set<String> fdb(ScratchNamespace ns) {
        return fdb(ns, "shunt.vx");
    }

    /** {@code bridge -j fdb show dev DEV}: "MAC DST STATE FLAGS". */
    static Set<String> fdb(ScratchNamespace ns, String dev) {
        Set<String> out = new TreeSet<>();
        for (JsonNode f : Witness.bridge(ns.name(), "fdb", "show", "dev", dev)) {
            List<String> flags = new ArrayList<>();
            f.get("flags").forEach(x -> flags.add(x.asText()));
            out.add(f.get("mac").asText() + " " + f.get("dst").asText() + " " + f.get("state").asText() + " " + String.join(",", flags));
        }
        return out;
    }

    private static Set<String> neighbours(ScratchNamespace ns) {
        return neighbours(ns, "shunt.vx");
    }

    /** {@code ip -j -4 neigh show dev DEV}: "DST LLADDR STATE proto P". */
    static Set<String> neighbours(ScratchNamespace ns, String dev) {
        Set<String> out = new TreeSet<>();
        for (JsonNode n : Witness.ip(ns.name(), "-4", "neigh", "show", "dev", dev)) {
            List<String> states = new ArrayList<>();
            n.get("state").forEach(x -> states.add(x.asText()));
            out.add(n.get("dst").asText() + " " + n.get("lladdr").asText() + " " + String.join(",", states)
                    + (n.has("protocol") ? " proto " + n.get("protocol").asText() : ""));
        }
        return out;
    }
}
