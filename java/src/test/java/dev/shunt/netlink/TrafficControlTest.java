package dev.shunt.netlink;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import dev.shunt.sys.BpfProgram;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static dev.shunt.netlink.RtnetlinkDescriptor.TC_H_CLSACT;
import static dev.shunt.netlink.RtnetlinkDescriptor.TC_H_CLSACT_HANDLE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class TrafficControlTest {
    private static final Duration ARRIVES = Duration.ofSeconds(3);
    private static final Duration SILENCE = Duration.ofSeconds(1);

    @Test
    void clsactQdiscIsAddedListedAndDeleted() {
        try (ScratchNamespace ns = ScratchNamespace.create("clsact")) {
            ns.netlink().links().add(VethSpec.of("shunt-q0", "shunt-q1"));
            TrafficControl tc = ns.netlink().trafficControl();
            int index = ns.netlink().links().get("shunt-q0").index();
            assertThat(tc.listQdiscs("shunt-q0")).extracting(Qdisc::kind).doesNotContain("clsact");

            tc.addClsact("shunt-q0");

            assertThat(tc.listQdiscs("shunt-q0")).filteredOn(q -> "clsact".equals(q.kind()))
                    .containsExactly(new Qdisc(index, "clsact", TC_H_CLSACT_HANDLE, TC_H_CLSACT));
            assertThat(tc.listQdiscs("shunt-q1")).extracting(Qdisc::kind).doesNotContain("clsact");
            JsonNode clsact = single(qdiscs(ns, "shunt-q0"), "clsact");
            assertThat(clsact.get("handle").asText()).isEqualTo("ffff:");
            assertThat(clsact.get("parent").asText()).isEqualTo("ffff:fff1");

            NetlinkException dup = catchThrowableOfType(NetlinkException.class, () -> tc.addClsact("shunt-q0"));
            assertThat(dup.errnoName()).isEqualTo("EEXIST");
            assertThat(dup.getMessage()).startsWith("tc qdisc add dev shunt-q0 clsact: EEXIST");

            tc.deleteClsact("shunt-q0");

            assertThat(tc.listQdiscs("shunt-q0")).extracting(Qdisc::kind).doesNotContain("clsact");
            assertThat(qdiscs(ns, "shunt-q0")).extracting(q -> q.get("kind").asText()).doesNotContain("clsact");
        }
    }

    @Test
    void bpfFilterIsAttachedAtIngressListedAndDeleted() {
        try (ScratchNamespace ns = ScratchNamespace.create("tcbpf")) {
            ns.netlink().links().add(VethSpec.of("shunt-f0", "shunt-f1"));
            TrafficControl tc = ns.netlink().trafficControl();
            tc.addClsact("shunt-f0");
            int programId;
            try (BpfProgram drop = BpfProgram.tcDrop()) {
                programId = drop.id();
                assertThat(programId).isPositive();

                tc.attachBpfIngress("shunt-f0", drop, 7);
            }
            // Shunt's fd is closed: the filter holds the program now.

            assertThat(tc.listIngressFilters("shunt-f0")).singleElement().satisfies(f -> {
                assertThat(f.kind()).isEqualTo("bpf");
                assertThat(f.priority()).isEqualTo(7);
                assertThat(f.protocol()).isEqualTo(RtnetlinkDescriptor.ETH_P_ALL);
                assertThat(f.handle()).isEqualTo(1);
                assertThat(f.bpfName()).isEqualTo("shunt_tc_drop");
                assertThat(f.bpfProgramId()).isEqualTo(programId);
                assertThat(f.directAction()).isTrue();
            });
            assertThat(tc.listEgressFilters("shunt-f0")).isEmpty();
            JsonNode filter = singleFilter(ns, "shunt-f0");
            assertThat(filter.get("kind").asText()).isEqualTo("bpf");
            assertThat(filter.get("pref").asInt()).isEqualTo(7);
            assertThat(filter.get("protocol").asText()).isEqualTo("all");
            JsonNode options = filter.get("options");
            assertThat(options.get("bpf_name").asText()).isEqualTo("shunt_tc_drop");
            assertThat(options.get("direct-action").asBoolean(false)).isTrue();
            assertThat(options.get("prog").get("id").asInt()).isEqualTo(programId);
            assertThat(options.get("prog").get("name").asText()).isEqualTo("shunt_tc_drop");
            assertThat(Witness.tc(ns.name(), "filter", "show", "dev", "shunt-f0", "egress")).isEmpty();

            tc.deleteIngressFilters("shunt-f0", 7);

            assertThat(tc.listIngressFilters("shunt-f0")).isEmpty();
            assertThat(Witness.tc(ns.name(), "filter", "show", "dev", "shunt-f0", "ingress")).isEmpty();
            assertThat(single(qdiscs(ns, "shunt-f0"), "clsact")).as("clsact stays").isNotNull();

            tc.deleteClsact("shunt-f0");
            assertThat(qdiscs(ns, "shunt-f0")).extracting(q -> q.get("kind").asText()).doesNotContain("clsact");
        }
    }

    @Test
    void deletingClsactTakesItsFiltersWithIt() {
        try (ScratchNamespace ns = ScratchNamespace.create("tcdel")) {
            ns.netlink().links().add(VethSpec.of("shunt-g0", "shunt-g1"));
            TrafficControl tc = ns.netlink().trafficControl();
            tc.addClsact("shunt-g0");
            try (BpfProgram drop = BpfProgram.tcDrop()) {
                tc.attachBpfIngress("shunt-g0", drop, 1);
                tc.attachBpfEgress("shunt-g0", drop, 2);
            }
            assertThat(tc.listEgressFilters("shunt-g0")).extracting(TcFilter::priority).containsExactly(2);

            tc.deleteClsact("shunt-g0");

            // Without clsact there is no ingress/egress parent to list.
            assertThat(Witness.tc(ns.name(), "filter", "show", "dev", "shunt-g0", "ingress")).isEmpty();
            assertThat(qdiscs(ns, "shunt-g0")).extracting(q -> q.get("kind").asText()).doesNotContain("clsact");
        }
    }

    @Test
    void attachingWithoutClsactIsRefusedWithTheKernelsReason() {
        try (ScratchNamespace ns = ScratchNamespace.create("tcnoq")) {
            ns.netlink().links().add(VethSpec.of("shunt-h0", "shunt-h1"));
            TrafficControl tc = ns.netlink().trafficControl();

            NetlinkException e;
            try (BpfProgram drop = BpfProgram.tcDrop()) {
                e = catchThrowableOfType(NetlinkException.class, () -> tc.attachBpfIngress("shunt-h0", drop, 1));
            }

            assertThat(e.errnoName()).isEqualTo("EINVAL");
            assertThat(e.kernelMessage()).isEqualTo("Parent Qdisc doesn't exists"); // sic, the kernel's spelling
            assertThat(e.getMessage()).isEqualTo("tc filter add dev shunt-h0 ingress prio 1 bpf da name shunt_tc_drop: "
                    + "EINVAL (Invalid argument): kernel: Parent Qdisc doesn't exists");
        }
    }

    @Test
    void tcDropAtIngressStopsRealPacketsUntilTheFilterIsDeleted() {
        try (ScratchNamespace a = ScratchNamespace.create("tcpkt-a");
             ScratchNamespace b = ScratchNamespace.create("tcpkt-b")) {
            VethLink link = VethLink.connect(a, b, "shunt-ta", "shunt-tb", 10);
            TrafficControl tc = b.netlink().trafficControl();
            tc.addClsact("shunt-tb");
            try (Traffic udp = Traffic.udp(a, b, link.bAddress())) {
                assertThat(udp.sendAndReceive(ARRIVES)).as("before the filter: the datagram arrives").isTrue();
                assertThat(Traffic.ping(a, link.bAddress())).as("ping before the filter").isTrue();

                try (BpfProgram drop = BpfProgram.tcDrop()) {
                    tc.attachBpfIngress("shunt-tb", drop, 1);
                }

                assertThat(udp.countArriving(5, SILENCE)).as("datagrams arriving while tc drops at ingress").isZero();
                assertThat(Traffic.ping(a, link.bAddress())).as("ping while tc drops at ingress").isFalse();
                JsonNode filter = singleFilter(b, "shunt-tb");
                assertThat(filter.get("options").get("bpf_name").asText()).isEqualTo("shunt_tc_drop");

                tc.deleteIngressFilters("shunt-tb", 1);

                assertThat(udp.anyArrivesWithin(ARRIVES)).as("after the filter is deleted: datagrams arrive").isTrue();
                assertThat(Traffic.ping(a, link.bAddress())).as("ping after the filter is deleted").isTrue();
            }
        }
    }

    private static List<JsonNode> qdiscs(ScratchNamespace ns, String dev) {
        List<JsonNode> out = new ArrayList<>();
        Witness.tc(ns.name(), "qdisc", "show", "dev", dev).forEach(out::add);
        return out;
    }

    private static JsonNode single(List<JsonNode> qdiscs, String kind) {
        List<JsonNode> found = qdiscs.stream().filter(q -> q.get("kind").asText().equals(kind)).toList();
        assertThat(found).as("tc qdisc show: " + kind).hasSize(1);
        return found.get(0);
    }

    /** The one filter of {@code tc -j filter show dev DEV ingress} (the per-priority chain head has no options). */
    private static JsonNode singleFilter(ScratchNamespace ns, String dev) {
        List<JsonNode> found = new ArrayList<>();
        Witness.tc(ns.name(), "filter", "show", "dev", dev, "ingress").forEach(f -> {
            if (f.has("options")) {
                found.add(f);
            }
        });
        assertThat(found).as("tc filter show dev " + dev + " ingress").hasSize(1);
        return found.get(0);
    }
}
