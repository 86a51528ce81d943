package dev.shunt.netlink;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

import static dev.shunt.netlink.LinksTest.texts;
import static dev.shunt.netlink.RtnetlinkDescriptor.NTF_SELF;
import static dev.shunt.netlink.RtnetlinkDescriptor.NUD_PERMANENT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class NeighboursTest {
    private static final MacAddress MAC1 = MacAddress.parse("02:00:0a:f4:06:09");
    private static final MacAddress MAC2 = MacAddress.parse("02:00:0a:f4:06:0a");

    private static void veth(ScratchNamespace ns) {
        ns.netlink().links().add(VethSpec.of("shunt-n0", "shunt-n1"));
        ns.netlink().links().setUp("shunt-n0");
        ns.netlink().links().setUp("shunt-n1");
    }

    @Test
    void permanentArpEntryIsAddedReplacedAndDeleted() {
        try (ScratchNamespace ns = ScratchNamespace.create("arp")) {
            veth(ns);
            Neighbours neighbours = ns.netlink().neighbours();
            int index = ns.netlink().links().get("shunt-n0").index();
            InetAddress pod = IpPrefix.parseAddress("10.244.6.9");

            neighbours.addPermanent("shunt-n0", pod, MAC1);

            // Only IPv4: the link being up, IPv6 adds NOARP multicast entries (ff02::16 ...) that
            // ip neigh hides and Shunt lists.
            assertThat(ipv4(neighbours.list("shunt-n0"))).singleElement().satisfies(n -> {
                assertThat(n.index()).isEqualTo(index);
                assertThat(n.address()).isEqualTo(pod);
                assertThat(n.mac()).isEqualTo(MAC1);
                assertThat(n.state()).isEqualTo(NUD_PERMANENT);
                assertThat(n.isPermanent()).isTrue();
            });
            JsonNode ip = singleNeigh(ns, "shunt-n0", "10.244.6.9");
            assertThat(ip.get("lladdr").asText()).isEqualTo("02:00:0a:f4:06:09");
            assertThat(texts(ip.get("state"))).containsExactly("PERMANENT");
            assertThat(ipv4(neighbours.list("shunt-n1"))).isEmpty();

            // addPermanent is "ip neigh replace": a second call overwrites the MAC.
            neighbours.addPermanent("shunt-n0", pod, MAC2);

            assertThat(ipv4(neighbours.list("shunt-n0"))).extracting(Neighbour::mac).containsExactly(MAC2);
            assertThat(singleNeigh(ns, "shunt-n0", "10.244.6.9").get("lladdr").asText()).isEqualTo("02:00:0a:f4:06:0a");

            neighbours.delete("shunt-n0", pod);

            assertThat(ipv4(neighbours.list("shunt-n0"))).isEmpty();
            assertThat(neighs(ns, "shunt-n0")).isEmpty();
        }
    }

    @Test
    void permanentNdpEntryIsAddedAndDeleted() {
        try (ScratchNamespace ns = ScratchNamespace.create("ndp")) {
            veth(ns);
            Neighbours neighbours = ns.netlink().neighbours();
            InetAddress pod = IpPrefix.parseAddress("fd00:10:244:6::9");

            neighbours.addPermanent("shunt-n0", pod, MAC1);

            assertThat(neighbours.list("shunt-n0")).filteredOn(n -> pod.equals(n.address())).singleElement()
                    .satisfies(n -> {
                        assertThat(n.mac()).isEqualTo(MAC1);
                        assertThat(n.isPermanent()).isTrue();
                    });
            JsonNode ip = singleNeigh(ns, "shunt-n0", "fd00:10:244:6::9");
            assertThat(ip.get("lladdr").asText()).isEqualTo("02:00:0a:f4:06:09");
            assertThat(texts(ip.get("state"))).containsExactly("PERMANENT");

            neighbours.delete("shunt-n0", pod);

            assertThat(neighbours.list("shunt-n0")).extracting(Neighbour::address).doesNotContain(pod);
            assertThat(neighs(ns, "shunt-n0")).extracting(n -> n.get("dst").asText()).doesNotContain("fd00:10:244:6::9");
        }
    }

    @Test
    void aProtocolMarksAPermanentEntryAndSurvivesAReplaceWithoutOne() {
        try (ScratchNamespace ns = ScratchNamespace.create("neighproto")) {
            veth(ns);
            Neighbours neighbours = ns.netlink().neighbours();
            InetAddress vtep = IpPrefix.parseAddress("10.244.7.0");
            InetAddress other = IpPrefix.parseAddress("10.244.8.0");

            neighbours.addPermanent("shunt-n0", vtep, MAC1, Neighbour.PROTOCOL_SHUNT);
            neighbours.addPermanent("shunt-n0", other, MAC2);

            assertThat(ipv4(neighbours.list("shunt-n0"))).extracting(n -> n.address().getHostAddress() + " " + n.protocol())
                    .containsExactlyInAnyOrder("10.244.7.0 83", "10.244.8.0 0");
            assertThat(singleNeigh(ns, "shunt-n0", "10.244.7.0").get("protocol").asText()).isEqualTo("83");
            assertThat(singleNeigh(ns, "shunt-n0", "10.244.8.0").has("protocol")).isFalse();
            List<String> shunts = new ArrayList<>();
            Witness.ip(ns.name(), "neigh", "show", "dev", "shunt-n0", "proto", "83").forEach(n -> shunts.add(n.get("dst").asText()));
            assertThat(shunts).containsExactly("10.244.7.0");

            // The kernel keeps the protocol when a later replace gives none (neigh_update only sets a non-zero one).
            neighbours.addPermanent("shunt-n0", vtep, MAC2);

            assertThat(ipv4(neighbours.list("shunt-n0"))).filteredOn(n -> n.address().equals(vtep)).singleElement()
                    .satisfies(n -> {
                        assertThat(n.mac()).isEqualTo(MAC2);
                        assertThat(n.protocol()).isEqualTo(Neighbour.PROTOCOL_SHUNT);
                    });
            assertThatThrownBy(() -> neighbours.addPermanent("shunt-n0", vtep, MAC1, 256))
                    .isInstanceOf(IllegalArgumentException.class).hasMessage("neighbour protocol 256 is outside 0..255");
        }
    }

    @Test
    void deletingAMissingNeighbourIsRefusedWithEnoent() {
        try (ScratchNamespace ns = ScratchNamespace.create("neighdel")) {
            veth(ns);

            NetlinkException e = catchThrowableOfType(NetlinkException.class,
                    () -> ns.netlink().neighbours().delete("shunt-n0", IpPrefix.parseAddress("10.244.6.77")));

            assertThat(e.errnoName()).isEqualTo("ENOENT");
            assertThat(e.getMessage()).startsWith("ip neigh del 10.244.6.77 dev shunt-n0: ENOENT");
        }
    }

    @Test
    void fdbEntryToARemoteVtepOnAVxlanDevice() {
        try (ScratchNamespace ns = ScratchNamespace.create("fdb")) {
            ns.netlink().links().add(VxlanSpec.of("shunt-vx1", 1, IpPrefix.parseAddress("198.18.0.1")));
            ns.netlink().links().setUp("shunt-vx1");
            int index = ns.netlink().links().get("shunt-vx1").index();
            Neighbours neighbours = ns.netlink().neighbours();
            InetAddress vtep = IpPrefix.parseAddress("198.18.0.2");
            assertThat(neighbours.listFdb("shunt-vx1")).isEmpty();

            neighbours.addFdb("shunt-vx1", MAC1, vtep);

            assertThat(neighbours.listFdb("shunt-vx1")).singleElement().satisfies(n -> {
                assertThat(n.index()).isEqualTo(index);
                assertThat(n.mac()).isEqualTo(MAC1);
                assertThat(n.address()).isEqualTo(vtep);
                assertThat(n.isPermanent()).isTrue();
                assertThat(n.flags() & NTF_SELF).isEqualTo(NTF_SELF);
            });
            assertThat(neighbours.list("shunt-vx1")).as("FDB entries are not ARP/NDP entries")
                    .extracting(Neighbour::mac).doesNotContain(MAC1);
            JsonNode fdb = singleFdb(ns, "shunt-vx1");
            assertThat(fdb.get("mac").asText()).isEqualTo("02:00:0a:f4:06:09");
            assertThat(fdb.get("dst").asText()).isEqualTo("198.18.0.2");
            assertThat(texts(fdb.get("flags"))).contains("self");
            assertThat(fdb.get("state").asText()).isEqualTo("permanent");

            // addFdb is "bridge fdb replace": the same MAC now goes to another VTEP.
            InetAddress otherVtep = IpPrefix.parseAddress("198.19.0.3");
            neighbours.addFdb("shunt-vx1", MAC1, otherVtep);

            assertThat(neighbours.listFdb("shunt-vx1")).extracting(Neighbour::address).containsExactly(otherVtep);
            assertThat(singleFdb(ns, "shunt-vx1").get("dst").asText()).isEqualTo("198.19.0.3");

            neighbours.deleteFdb("shunt-vx1", MAC1, otherVtep);

            assertThat(neighbours.listFdb("shunt-vx1")).isEmpty();
            assertThat(Witness.bridge(ns.name(), "fdb", "show", "dev", "shunt-vx1")).isEmpty();
        }
    }

    @Test
    void fdbEntriesOfTwoMacsAreListedSeparately() {
        try (ScratchNamespace ns = ScratchNamespace.create("fdb2")) {
            ns.netlink().links().add(VxlanSpec.of("shunt-vx2", 2, IpPrefix.parseAddress("198.18.0.1")));
            Neighbours neighbours = ns.netlink().neighbours();

            neighbours.addFdb("shunt-vx2", MAC1, IpPrefix.parseAddress("198.18.0.2"));
            neighbours.addFdb("shunt-vx2", MAC2, IpPrefix.parseAddress("198.18.0.3"));

            assertThat(neighbours.listFdb("shunt-vx2")).extracting(n -> n.mac() + " " + n.address().getHostAddress())
                    .containsExactlyInAnyOrder("02:00:0a:f4:06:09 198.18.0.2", "02:00:0a:f4:06:0a 198.18.0.3");
            List<String> witnessed = new ArrayList<>();
            Witness.bridge(ns.name(), "fdb", "show", "dev", "shunt-vx2")
                    .forEach(f -> witnessed.add(f.get("mac").asText() + " " + f.get("dst").asText()));
            assertThat(witnessed).containsExactlyInAnyOrder("02:00:0a:f4:06:09 198.18.0.2", "02:00:0a:f4:06:0a 198.18.0.3");

            neighbours.deleteFdb("shunt-vx2", MAC1, IpPrefix.parseAddress("198.18.0.2"));

            assertThat(neighbours.listFdb("shunt-vx2")).extracting(Neighbour::mac).containsExactly(MAC2);
            assertThat(singleFdb(ns, "shunt-vx2").get("mac").asText()).isEqualTo("02:00:0a:f4:06:0a");
        }
    }

    @Test
    void fdbListsEachRemoteOfTheFloodEntryAndEntriesThatAgeOut() {
        // Entries iproute2 makes that Shunt's FDB programming never does, listed as the kernel keeps them.
        try (ScratchNamespace ns = ScratchNamespace.create("fdbforeign")) {
            ns.netlink().links().add(VxlanSpec.of("shunt-vx3", 3, IpPrefix.parseAddress("198.18.0.1")));
            Neighbours neighbours = ns.netlink().neighbours();
            InetAddress flood1 = IpPrefix.parseAddress("198.18.0.5");
            InetAddress flood2 = IpPrefix.parseAddress("198.18.0.6");
            MacAddress zeros = MacAddress.parse("00:00:00:00:00:00");
            neighbours.addFdb("shunt-vx3", MAC1, IpPrefix.parseAddress("198.18.0.2"));
            // A unicast MAC has one remote: "append" answers success and changes nothing but the state bits.
            bridge(ns, "fdb", "append", "02:00:0a:f4:06:09", "dev", "shunt-vx3", "dst", "198.18.0.3", "self", "permanent");
            bridge(ns, "fdb", "add", "02:00:0a:f4:06:0a", "dev", "shunt-vx3", "dst", "198.18.0.4", "self", "dynamic");
            // The all-zeros (flood) entry may have several.
            bridge(ns, "fdb", "append", "00:00:00:00:00:00", "dev", "shunt-vx3", "dst", "198.18.0.5", "self", "permanent");
            bridge(ns, "fdb", "append", "00:00:00:00:00:00", "dev", "shunt-vx3", "dst", "198.18.0.6", "self", "permanent");

            assertThat(neighbours.listFdb("shunt-vx3"))
                    .extracting(n -> n.mac() + " " + n.address().getHostAddress() + " " + n.isPermanent() + " " + n.isSelf())
                    .containsExactlyInAnyOrder(
                            "02:00:0a:f4:06:09 198.18.0.2 true true",
                            "02:00:0a:f4:06:0a 198.18.0.4 false true",
                            "00:00:00:00:00:00 198.18.0.5 true true",
                            "00:00:00:00:00:00 198.18.0.6 true true");
            assertThat(neighbours.listFdb("shunt-vx3")).filteredOn(n -> n.mac().equals(MAC2)).singleElement()
                    .extracting(Neighbour::state).as("dynamic is NUD_REACHABLE").isEqualTo(0x02);
            List<String> witnessed = new ArrayList<>();
            Witness.bridge(ns.name(), "fdb", "show", "dev", "shunt-vx3")
                    .forEach(f -> witnessed.add(f.get("mac").asText() + " " + f.get("dst").asText() + " " + f.get("state").asText()));
            assertThat(witnessed).containsExactlyInAnyOrder("02:00:0a:f4:06:09 198.18.0.2 permanent",
                    "02:00:0a:f4:06:0a 198.18.0.4 ", "00:00:00:00:00:00 198.18.0.5 permanent",
                    "00:00:00:00:00:00 198.18.0.6 permanent");

            // Deleting one remote of the flood entry leaves its other one.
            neighbours.deleteFdb("shunt-vx3", zeros, flood1);

            assertThat(neighbours.listFdb("shunt-vx3")).filteredOn(n -> n.mac().equals(zeros))
                    .extracting(Neighbour::address).containsExactly(flood2);
            // A remote the MAC does not have: acknowledged, nothing removed (only a missing MAC is ENOENT).
            neighbours.deleteFdb("shunt-vx3", zeros, flood1);
            neighbours.deleteFdb("shunt-vx3", MAC1, IpPrefix.parseAddress("198.18.0.9"));

            assertThat(neighbours.listFdb("shunt-vx3")).extracting(n -> n.mac() + " " + n.address().getHostAddress())
                    .containsExactlyInAnyOrder("02:00:0a:f4:06:09 198.18.0.2", "02:00:0a:f4:06:0a 198.18.0.4",
                            "00:00:00:00:00:00 198.18.0.6");
            NetlinkException missing = catchThrowableOfType(NetlinkException.class,
                    () -> neighbours.deleteFdb("shunt-vx3", MacAddress.parse("02:00:0a:f4:06:0b"), flood1));
            assertThat(missing.errnoName()).isEqualTo("ENOENT");
        }
    }

    private static void bridge(ScratchNamespace ns, String... args) {
        List<String> cmd = new ArrayList<>(List.of("bridge", "-n", ns.name()));
        cmd.addAll(List.of(args));
        Witness.run(cmd);
    }

    private static List<Neighbour> ipv4(List<Neighbour> all) {
        return all.stream().filter(n -> n.address() instanceof java.net.Inet4Address).toList();
    }

    private static List<JsonNode> neighs(ScratchNamespace ns, String dev) {
        List<JsonNode> out = new ArrayList<>();
        Witness.ip(ns.name(), "neigh", "show", "dev", dev).forEach(out::add);
        return out;
    }

    private static JsonNode singleNeigh(ScratchNamespace ns, String dev, String dst) {
        List<JsonNode> found = neighs(ns, dev).stream().filter(n -> n.get("dst").asText().equals(dst)).toList();
        assertThat(found).as("ip neigh show dev " + dev + ": " + dst).hasSize(1);
        return found.get(0);
    }

    private static JsonNode singleFdb(ScratchNamespace ns, String dev) {
        JsonNode all = Witness.bridge(ns.name(), "fdb", "show", "dev", dev);
        assertThat(all).as("bridge fdb show dev " + dev).hasSize(1);
        return all.get(0);
    }
}
