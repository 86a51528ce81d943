package dev.shunt.netlink;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import dev.shunt.sys.Fd;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class LinksTest {
    @Test
    void vethPairWithPeerInAnotherNamespaceIsSeenByShuntAndByIp() {
        try (ScratchNamespace a = ScratchNamespace.create("veth-a");
             ScratchNamespace b = ScratchNamespace.create("veth-b");
             Fd bFd = b.namespace().openFd()) {
            a.netlink().links().add(VethSpec.of("shunt-va", "shunt-vb").withPeerNamespace(bFd).withMtu(1450));

            Link va = a.netlink().links().get("shunt-va");
            Link vb = b.netlink().links().get("shunt-vb");
            assertThat(va.kind()).isEqualTo("veth");
            assertThat(vb.kind()).isEqualTo("veth");
            assertThat(va.mtu()).isEqualTo(1450);
            assertThat(va.parentIndex()).isEqualTo(vb.index());
            assertThat(a.netlink().links().find("shunt-vb")).isEmpty();

            JsonNode ipA = Witness.ip(a.name(), "link", "show", "shunt-va").get(0);
            assertThat(ipA.get("ifindex").asInt()).isEqualTo(va.index());
            assertThat(ipA.get("mtu").asInt()).isEqualTo(1450);
            assertThat(ipA.get("linkinfo").get("info_kind").asText()).isEqualTo("veth");
            assertThat(ipA.get("address").asText()).isEqualTo(va.mac().toString());
            JsonNode ipB = Witness.ip(b.name(), "link", "show", "shunt-vb").get(0);
            assertThat(ipB.get("ifindex").asInt()).isEqualTo(vb.index());
        }
    }
}
