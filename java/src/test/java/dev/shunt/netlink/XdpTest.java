package dev.shunt.netlink;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import dev.shunt.sys.BpfProgram;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class XdpTest {
    private static final Duration ARRIVES = Duration.ofSeconds(3);
    private static final Duration SILENCE = Duration.ofSeconds(1);

    @Test
    void nativeXdpDropIsAttachedReportedAndDetached() {
        try (ScratchNamespace ns = ScratchNamespace.create("xdp")) {
            Links links = ns.netlink().links();
            links.add(VethSpec.of("shunt-x0", "shunt-x1"));
            assertThat(links.get("shunt-x1").xdpProgramId()).isZero();
            assertThat(links.get("shunt-x1").xdpMode()).isNull();

            int programId;
            try (BpfProgram drop = BpfProgram.xdpDrop()) {
                programId = drop.id();
                links.attachXdp("shunt-x1", drop, XdpMode.DRIVER);
            }

            Link x1 = links.get("shunt-x1");
            assertThat(x1.xdpProgramId()).isEqualTo(programId);
            assertThat(x1.xdpMode()).isEqualTo(XdpMode.DRIVER);
            assertThat(links.get("shunt-x0").xdpProgramId()).as("the peer has none").isZero();
            JsonNode xdp = Witness.ip(ns.name(), "link", "show", "shunt-x1").get(0).get("xdp");
            assertThat(xdp).as("ip -d link show: xdp").isNotNull();
            assertThat(xdp.get("mode").asInt()).as("XDP_ATTACHED_DRV").isEqualTo(1);
            assertThat(xdp.get("prog").get("id").asInt()).isEqualTo(programId);
            assertThat(xdp.get("prog").get("name").asText()).isEqualTo("shunt_xdp_drop");

            links.detachXdp("shunt-x1", XdpMode.DRIVER);

            assertThat(links.get("shunt-x1").xdpProgramId()).isZero();
            assertThat(links.get("shunt-x1").xdpMode()).isNull();
            assertThat(Witness.ip(ns.name(), "link", "show", "shunt-x1").get(0).has("xdp")).isFalse();
        }
    }

    @Test
    void genericXdpIsReportedAsGeneric() {
        try (ScratchNamespace ns = ScratchNamespace.create("xdpgen")) {
            Links links = ns.netlink().links();
            links.add(VethSpec.of("shunt-y0", "shunt-y1"));

            int programId;
            try (BpfProgram drop = BpfProgram.xdpDrop()) {
                programId = drop.id();
                links.attachXdp("shunt-y0", drop, XdpMode.GENERIC);
            }

            assertThat(links.get("shunt-y0").xdpMode()).isEqualTo(XdpMode.GENERIC);
            assertThat(links.get("shunt-y0").xdpProgramId()).isEqualTo(programId);
            JsonNode xdp = Witness.ip(ns.name(), "link", "show", "shunt-y0").get(0).get("xdp");
            assertThat(xdp.get("mode").asInt()).as("XDP_ATTACHED_SKB").isEqualTo(2);
            assertThat(xdp.get("prog").get("id").asInt()).isEqualTo(programId);

            links.detachXdp("shunt-y0", XdpMode.GENERIC);

            assertThat(links.get("shunt-y0").xdpMode()).isNull();
            assertThat(Witness.ip(ns.name(), "link", "show", "shunt-y0").get(0).has("xdp")).isFalse();
        }
    }

    @Test
    void xdpDropStopsRealPacketsAndStaysAttachedAfterShuntClosesItsFd() {
        try (ScratchNamespace a = ScratchNamespace.create("xdppkt-a");
             ScratchNamespace b = ScratchNamespace.create("xdppkt-b")) {
            VethLink link = VethLink.connect(a, b, "shunt-xa", "shunt-xb", 11);
            Links links = b.netlink().links();
            try (Traffic udp = Traffic.udp(a, b, link.bAddress())) {
                assertThat(udp.sendAndReceive(ARRIVES)).as("before XDP: the datagram arrives").isTrue();
                assertThat(Traffic.ping(a, link.bAddress())).as("ping before XDP").isTrue();

                BpfProgram drop = BpfProgram.xdpDrop();
                int programId = drop.id();
                try {
                    links.attachXdp("shunt-xb", drop, XdpMode.DRIVER);
                } finally {
                    drop.close();
                }
                assertThat(drop.fd().isOpen()).isFalse();

                // The kernel holds its own reference: still attached, still dropping.
                assertThat(links.get("shunt-xb").xdpProgramId()).isEqualTo(programId);
                assertThat(Witness.ip(b.name(), "link", "show", "shunt-xb").get(0).get("xdp").get("prog").get("id").asInt())
                        .isEqualTo(programId);
                assertThat(udp.countArriving(5, SILENCE)).as("datagrams arriving while XDP drops").isZero();
                assertThat(Traffic.ping(a, link.bAddress())).as("ping while XDP drops").isFalse();
                assertThat(links.get("shunt-xb").xdpProgramId()).as("still attached after the traffic").isEqualTo(programId);

                links.detachXdp("shunt-xb", XdpMode.DRIVER);

                assertThat(links.get("shunt-xb").xdpProgramId()).isZero();
                assertThat(udp.anyArrivesWithin(ARRIVES)).as("after detach: datagrams arrive").isTrue();
                assertThat(Traffic.ping(a, link.bAddress())).as("ping after detach").isTrue();
            }
        }
    }
}
