package dev.shunt.netlink;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import dev.shunt.sys.Errno;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EthtoolTest {
    private static final String DEV = "shunt-ea";
    private static final String PEER = "shunt-eb";

    /** Turns one of ethtool's short names on or off through Shunt. */
    private interface Switch {
        void set(Ethtool ethtool, String dev, boolean on);
    }

    @Test
    void offloadsTurnOffAndOnAgainAsSeenByShuntAndByEthtool() {
        try (ScratchNamespace ns = ScratchNamespace.create("ethtool")) {
            ns.netlink().links().add(VethSpec.of(DEV, PEER));
            Ethtool ethtool = ns.netlink().ethtool();

            // ethtool -K DEV rx: witness name rx-checksumming, kernel name rx-checksum.
            toggle(ns, Ethtool::rxChecksum, "rx-checksumming", List.of("rx-checksum"));
            // ethtool -K DEV tx: every changeable tx-checksum-* (on veth: ip-generic and sctp).
            toggle(ns, Ethtool::txChecksum, "tx-checksumming", List.of("tx-checksum-ip-generic", "tx-checksum-sctp"));
            // ethtool -K DEV tso.
            toggle(ns, Ethtool::tso, "tcp-segmentation-offload", List.of("tx-tcp-segmentation",
                    "tx-tcp-ecn-segmentation", "tx-tcp-mangleid-segmentation", "tx-tcp6-segmentation"));
            // ethtool -K DEV gso / gro: witness names generic-*-offload for tx-generic-segmentation / rx-gro.
            toggle(ns, Ethtool::gso, "generic-segmentation-offload", List.of("tx-generic-segmentation"));
            toggle(ns, Ethtool::gro, "generic-receive-offload", List.of("rx-gro"));

            // The changes were made on DEV only; its peer kept veth's defaults.
            assertThat(ethtool.features(PEER).isActive("rx-checksum")).isTrue();
            assertSameAsWitness(ns, ethtool.features(PEER), Witness.ethtool(ns.name(), "-k", PEER).get(0));
        }
    }

    @Test
    void featuresByKernelNameInOneRequest() {
        try (ScratchNamespace ns = ScratchNamespace.create("ethtool-set")) {
            ns.netlink().links().add(VethSpec.of(DEV, PEER));
            Ethtool ethtool = ns.netlink().ethtool();
            Map<String, Boolean> wanted = new LinkedHashMap<>();
            wanted.put("rx-gro", true);
            wanted.put("tx-scatter-gather-fraglist", false);
            wanted.put("tx-udp-segmentation", false);

            ethtool.setFeatures(DEV, wanted);

            Features shunt = ethtool.features(DEV);
            JsonNode witness = Witness.ethtool(ns.name(), "-k", DEV).get(0);
            assertThat(shunt.isActive("rx-gro")).isTrue();
            assertThat(shunt.isActive("tx-scatter-gather-fraglist")).isFalse();
            assertThat(shunt.isActive("tx-udp-segmentation")).isFalse();
            assertThat(witness.get("generic-receive-offload").get("active").asBoolean()).isTrue();
            assertThat(witness.get("tx-scatter-gather-fraglist").get("active").asBoolean()).isFalse();
            assertThat(witness.get("tx-udp-segmentation").get("active").asBoolean()).isFalse();
            assertSameAsWitness(ns, shunt, witness);
        }
    }

    @Test
    void fixedFeatureIsRefusedNotSilentlyIgnored() {
        try (ScratchNamespace ns = ScratchNamespace.create("ethtool-fixed")) {
            Ethtool ethtool = ns.netlink().ethtool();
            Features lo = ethtool.features("lo");
            JsonNode witness = Witness.ethtool(ns.name(), "-k", "lo").get(0);
            assertThat(witness.get("rx-checksumming").get("fixed").asBoolean()).isTrue();
            assertThat(lo.isFixed("rx-checksum")).isTrue();
            assertThat(lo.isActive("rx-checksum")).isTrue();
            assertSameAsWitness(ns, lo, witness);

            assertThatThrownBy(() -> ethtool.rxChecksum("lo", false))
                    .isInstanceOf(FixedFeatureException.class)
                    .hasMessageContaining("ethtool -K lo rx off")
                    .hasMessageContaining("rx-checksum is fixed on lo");
            assertThatThrownBy(() -> ethtool.setFeatures("lo", Map.of("rx-checksum", false)))
                    .isInstanceOf(FixedFeatureException.class)
                    .hasMessageContaining("rx-checksum");
            // Every tx-checksum-* of lo is fixed, so "tx off" cannot do anything: refused, naming them.
            assertThatThrownBy(() -> ethtool.txChecksum("lo", false))
                    .isInstanceOf(FixedFeatureException.class)
                    .satisfies(e -> assertThat(((FixedFeatureException) e).features())
                            .contains("tx-checksum-ip-generic").allMatch(f -> f.startsWith("tx-checksum-")));
            assertThat(Witness.ethtool(ns.name(), "-k", "lo").get(0).get("rx-checksumming").get("active").asBoolean()).isTrue();
            assertThat(Witness.ethtool(ns.name(), "-k", "lo").get(0).get("tx-checksum-ip-generic").get("active").asBoolean()).isTrue();

            // Asking a fixed feature for the state it is fixed in has nothing to change, so it is no error.
            ethtool.rxChecksum("lo", true);
        }
    }

    @Test
    void featureHeldBackByAnotherIsReportedAndComesOnWithIt() {
        try (ScratchNamespace ns = ScratchNamespace.create("ethtool-dep")) {
            ns.netlink().links().add(VethSpec.of(DEV, PEER));
            Ethtool ethtool = ns.netlink().ethtool();
            ethtool.txChecksum(DEV, false);
            // Without tx checksumming the kernel drops TSO from the active features, though it stays requested.
            assertThat(ethtool.features(DEV).isActive("tx-tcp-segmentation")).isFalse();
            assertThat(ethtool.features(DEV).requested()).contains("tx-tcp-segmentation");

            assertThatThrownBy(() -> ethtool.tso(DEV, true))
                    .isInstanceOf(IllegalStateException.class)
                    .isNotInstanceOf(FixedFeatureException.class)
                    .hasMessageContaining("ethtool -K " + DEV + " tso on")
                    .hasMessageContaining("tx-tcp-segmentation stays off")
                    .hasMessageContaining("held back by a feature");
            JsonNode tso = Witness.ethtool(ns.name(), "-k", DEV).get(0).get("tx-tcp-segmentation");
            assertThat(tso.get("active").asBoolean()).isFalse();
            assertThat(tso.get("requested").asBoolean()).isTrue();

            ethtool.txChecksum(DEV, true);
            assertThat(ethtool.features(DEV).isActive("tx-tcp-segmentation")).isTrue();
            assertThat(Witness.ethtool(ns.name(), "-k", DEV).get(0).get("tx-tcp-segmentation").get("active").asBoolean()).isTrue();
        }
    }

    @Test
    void unknownDeviceAndUnknownFeatureFailClearly() {
        try (ScratchNamespace ns = ScratchNamespace.create("ethtool-nodev")) {
            ns.netlink().links().add(VethSpec.of(DEV, PEER));
            Ethtool ethtool = ns.netlink().ethtool();
            assertThatThrownBy(() -> ethtool.features("shunt-nope"))
                    .isInstanceOf(NetlinkException.class)
                    .hasMessageContaining("ethtool -k shunt-nope")
                    .hasMessageContaining("ENODEV")
                    .satisfies(e -> assertThat(((NetlinkException) e).errno()).isEqualTo(Errno.ENODEV));
            assertThatThrownBy(() -> ethtool.gro("shunt-nope", true))
                    .isInstanceOf(NetlinkException.class)
                    .hasMessageContaining("shunt-nope")
                    .hasMessageContaining("ENODEV");
            assertThatThrownBy(() -> ethtool.setFeatures(DEV, Map.of("rx-warp-drive", true)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("no feature named rx-warp-drive");
        }
    }

    /**
     * Turns a feature group off and on again on DEV, checking after each step with Shunt's reader
     * and with {@code ethtool --json -k}; then puts it back the way it was.
     */
    private static void toggle(ScratchNamespace ns, Switch feature, String witnessName, List<String> kernelNames) {
        Ethtool ethtool = ns.netlink().ethtool();
        boolean initially = Witness.ethtool(ns.name(), "-k", DEV).get(0).get(witnessName).get("active").asBoolean();
        for (boolean on : initially ? new boolean[] {false, true} : new boolean[] {true, false}) {
            feature.set(ethtool, DEV, on);
            Features shunt = ethtool.features(DEV);
            JsonNode witness = Witness.ethtool(ns.name(), "-k", DEV).get(0);
            String step = witnessName + " " + (on ? "on" : "off");
            assertThat(witness.get(witnessName).get("active").asBoolean()).as(step + ": ethtool " + witnessName).isEqualTo(on);
            for (String name : kernelNames) {
                assertThat(shunt.isActive(name)).as(step + ": Shunt " + name).isEqualTo(on);
                assertThat(shunt.changeable()).as(step + ": Shunt changeable").contains(name);
                if (witness.has(name)) { // ethtool prints some single features under a legacy name only
                    assertThat(witness.get(name).get("active").asBoolean()).as(step + ": ethtool " + name).isEqualTo(on);
                }
            }
            assertSameAsWitness(ns, shunt, witness);
        }
    }

    /** Every feature ethtool shows under its kernel name has the same active and fixed state in Shunt. */
    private static void assertSameAsWitness(ScratchNamespace ns, Features shunt, JsonNode witness) {
        List<String> compared = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = witness.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            JsonNode state = field.getValue();
            if (!state.isObject() || state.get("fixed").isNull() || !shunt.active().containsKey(field.getKey())) {
                continue; // "ifname", ethtool's group names, legacy names
            }
            String name = field.getKey();
            assertThat(shunt.isActive(name)).as(ns.name() + " " + shunt.device() + " " + name + " active")
                    .isEqualTo(state.get("active").asBoolean());
            assertThat(shunt.isFixed(name)).as(ns.name() + " " + shunt.device() + " " + name + " fixed")
                    .isEqualTo(state.get("fixed").asBoolean());
            assertThat(shunt.requested().contains(name)).as(ns.name() + " " + shunt.device() + " " + name + " requested")
                    .isEqualTo(state.get("requested").asBoolean());
            compared.add(name);
        }
        assertThat(compared).as("features compared with ethtool").hasSizeGreaterThan(20);
    }
}
