package dev.shunt.overlay;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import dev.shunt.netlink.Link;
import dev.shunt.netlink.MacAddress;
import dev.shunt.netlink.VethSpec;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.shunt.overlay.OverlayInputTest.v4;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class VxlanDeviceTest {
    private static final VxlanConfig CONFIG = VxlanConfig.forNode("node-a", v4("198.18.0.1"), 1500).withVni(4242);

    @Test
    void createsTheDeviceAsConfiguredAndIpSeesIt() {
        try (ScratchNamespace ns = ScratchNamespace.create("vxdev")) {
            VxlanDevice device = new VxlanDevice(ns.netlink(), CONFIG);

            VxlanDevice.Ensured ensured = device.ensure();

            assertThat(ensured.outcome()).isEqualTo(VxlanDevice.Outcome.CREATED);
            assertThat(ensured.changes()).isEmpty();
            assertThat(ensured.link().vxlan()).isEqualTo(new Link.Vxlan(4242, 4789, v4("198.18.0.1"), false, 0, null));
            JsonNode ip = link(ns);
            assertThat(ip.get("ifindex").asInt()).isEqualTo(ensured.link().index());
            JsonNode data = ip.get("linkinfo").get("info_data");
            assertThat(ip.get("linkinfo").get("info_kind").asText()).isEqualTo("vxlan");
            assertThat(data.get("id").asInt()).isEqualTo(4242);
            assertThat(data.get("port").asInt()).isEqualTo(4789);
            assertThat(data.get("local").asText()).isEqualTo("198.18.0.1");
            assertThat(data.get("learning").asBoolean(true)).isFalse();
            assertThat(data.has("remote")).as("no default remote, so no flood entry").isFalse();
            assertThat(ip.get("mtu").asInt()).isEqualTo(1450);
            assertThat(ip.get("address").asText()).isEqualTo("0e:06:72:86:7a:84");
            assertThat(texts(ip.get("flags"))).contains("UP");
            assertThat(Witness.bridge(ns.name(), "fdb", "show", "dev", "shunt.vx")).as("a new device has no FDB entry").isEmpty();
        }
    }

    @Test
    void aMatchingDeviceIsAdoptedWithItsEntriesAndItsMtuMacAndStateFixedInPlace() {
        try (ScratchNamespace ns = ScratchNamespace.create("vxadopt")) {
            VxlanDevice device = new VxlanDevice(ns.netlink(), CONFIG);
            device.ensure();
            int index = device.find().orElseThrow().index();
            ip(ns, "link", "set", "shunt.vx", "down", "mtu", "1400", "address", "02:00:00:00:00:01");
            bridge(ns, "fdb", "add", "0e:00:00:00:00:02", "dev", "shunt.vx", "dst", "198.18.0.2", "self", "permanent");

            VxlanDevice.Ensured ensured = new VxlanDevice(ns.netlink(), CONFIG).ensure();

            assertThat(ensured.outcome()).isEqualTo(VxlanDevice.Outcome.ADOPTED);
            assertThat(ensured.changes()).containsExactly("mtu 1400 -> 1450", "mac 02:00:00:00:00:01 -> 0e:06:72:86:7a:84", "set up");
            assertThat(ensured.link().index()).as("the same device").isEqualTo(index);
            JsonNode ip = link(ns);
            assertThat(ip.get("ifindex").asInt()).isEqualTo(index);
            assertThat(ip.get("mtu").asInt()).isEqualTo(1450);
            assertThat(ip.get("address").asText()).isEqualTo("0e:06:72:86:7a:84");
            assertThat(texts(ip.get("flags"))).contains("UP");
            assertThat(fdbMacs(ns)).as("adopting keeps the FDB").containsExactly("0e:00:00:00:00:02");

            // Once it matches, ensuring again changes nothing.
            VxlanDevice.Ensured again = device.ensure();
            assertThat(again.outcome()).isEqualTo(VxlanDevice.Outcome.ADOPTED);
            assertThat(again.changes()).isEmpty();
            assertThat(link(ns).get("ifindex").asInt()).isEqualTo(index);
        }
    }

    @Test
    void aDeviceWithOtherTunnelParametersIsRecreated() {
        try (ScratchNamespace ns = ScratchNamespace.create("vxrecreate")) {
            // Made by hand the way it must not be: another VNI and port, learning on, a default remote.
            ip(ns, "link", "add", "shunt.vx", "type", "vxlan", "id", "7", "dstport", "8472", "local", "198.18.0.1",
                    "remote", "198.18.0.9", "learning");
            int oldIndex = link(ns).get("ifindex").asInt();
            assertThat(fdbMacs(ns)).as("the remote makes a flood entry").containsExactly("00:00:00:00:00:00");

            VxlanDevice.Ensured ensured = new VxlanDevice(ns.netlink(), CONFIG).ensure();

            assertThat(ensured.outcome()).isEqualTo(VxlanDevice.Outcome.RECREATED);
            assertThat(ensured.changes()).containsExactly("vni 7, wanted 4242", "port 8472, wanted 4789",
                    "learning on, wanted off", "remote 198.18.0.9, wanted none");
            JsonNode ip = link(ns);
            assertThat(ip.get("ifindex").asInt()).isNotEqualTo(oldIndex);
            JsonNode data = ip.get("linkinfo").get("info_data");
            assertThat(data.get("id").asInt()).isEqualTo(4242);
            assertThat(data.get("port").asInt()).isEqualTo(4789);
            assertThat(data.get("learning").asBoolean(true)).isFalse();
            assertThat(data.has("remote")).isFalse();
            assertThat(ip.get("address").asText()).isEqualTo("0e:06:72:86:7a:84");
            assertThat(fdbMacs(ns)).as("the flood entry went with the old device").isEmpty();
        }
    }

    @Test
    void anotherLocalAddressOrUnderlayDeviceOrKindIsRecreatedToo() {
        try (ScratchNamespace ns = ScratchNamespace.create("vxrecreate2")) {
            ns.netlink().links().add(VethSpec.of("shunt-u0", "shunt-u1"));
            int u0 = ns.netlink().links().get("shunt-u0").index();
            VxlanDevice device = new VxlanDevice(ns.netlink(), CONFIG);
            device.ensure();

            VxlanDevice.Ensured moved = new VxlanDevice(ns.netlink(), CONFIG.withLocal(v4("198.18.0.5")).withUnderlayDevice("shunt-u0")).ensure();

            assertThat(moved.outcome()).isEqualTo(VxlanDevice.Outcome.RECREATED);
            assertThat(moved.changes()).containsExactly("local 198.18.0.1, wanted 198.18.0.5",
                    "underlay device index 0, wanted " + u0 + " (shunt-u0)");
            JsonNode data = link(ns).get("linkinfo").get("info_data");
            assertThat(data.get("local").asText()).isEqualTo("198.18.0.5");
            assertThat(data.get("link").asText()).isEqualTo("shunt-u0");

            // A veth that took the name: Shunt's by its name, so replaced.
            device.remove();
            ns.netlink().links().add(VethSpec.of("shunt.vx", "shunt.vxpeer"));

            VxlanDevice.Ensured replaced = device.ensure();

            assertThat(replaced.outcome()).isEqualTo(VxlanDevice.Outcome.RECREATED);
            assertThat(replaced.changes()).containsExactly("kind veth, wanted vxlan");
            assertThat(link(ns).get("linkinfo").get("info_kind").asText()).isEqualTo("vxlan");
            assertThat(names(ns)).as("the veth's peer went with it").containsExactlyInAnyOrder("lo", "shunt-u0", "shunt-u1", "shunt.vx");
        }
    }

    @Test
    void removeDeletesTheDeviceOnce() {
        try (ScratchNamespace ns = ScratchNamespace.create("vxremove")) {
            VxlanDevice device = new VxlanDevice(ns.netlink(), CONFIG);
            device.ensure();

            assertThat(device.remove()).isTrue();
            assertThat(device.remove()).isFalse();
            assertThat(device.find()).isEmpty();
            assertThat(names(ns)).containsExactly("lo");
        }
    }

    @Test
    void aMissingUnderlayDeviceIsNamedAndNothingIsCreated() {
        try (ScratchNamespace ns = ScratchNamespace.create("vxnounder")) {
            VxlanDevice device = new VxlanDevice(ns.netlink(), CONFIG.withUnderlayDevice("shunt-nope"));

            assertThatThrownBy(device::ensure).isInstanceOf(IllegalStateException.class)
                    .hasMessage("underlay device 'shunt-nope' for shunt.vx does not exist");
            assertThat(names(ns)).containsExactly("lo");
        }
    }

    static JsonNode link(ScratchNamespace ns) {
        return Witness.ip(ns.name(), "link", "show", "shunt.vx").get(0);
    }

    static List<String> fdbMacs(ScratchNamespace ns) {
        List<String> out = new ArrayList<>();
        Witness.bridge(ns.name(), "fdb", "show", "dev", "shunt.vx").forEach(f -> out.add(f.get("mac").asText()));
        return out;
    }

    static List<String> names(ScratchNamespace ns) {
        List<String> out = new ArrayList<>();
        Witness.ip(ns.name(), "link", "show").forEach(l -> out.add(l.get("ifname").asText()));
        return out;
    }

    static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    static void ip(ScratchNamespace ns, String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "-n", ns.name()));
        cmd.addAll(List.of(args));
        Witness.run(cmd);
    }

    static void bridge(ScratchNamespace ns, String... args) {
        List<String> cmd = new ArrayList<>(List.of("bridge", "-n", ns.name()));
        cmd.addAll(List.of(args));
        Witness.run(cmd);
    }
}
