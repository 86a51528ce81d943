package dev.shunt.netlink;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.shunt.netlink.RtnetlinkDescriptor.IFA_F_NODAD;
import static dev.shunt.netlink.RtnetlinkDescriptor.IFA_F_PERMANENT;
import static dev.shunt.netlink.RtnetlinkDescriptor.RT_SCOPE_UNIVERSE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class AddressesTest {
    @Test
    void ipv4AddressIsAddedListedAndDeleted() {
        try (ScratchNamespace ns = ScratchNamespace.create("addr4")) {
            ns.netlink().links().add(VethSpec.of("shunt-a0", "shunt-a1"));
            int index = ns.netlink().links().get("shunt-a0").index();
            IpPrefix pod = IpPrefix.parse("10.244.1.5/24");
            IpPrefix second = IpPrefix.parse("10.244.9.1/32");

            ns.netlink().addresses().add("shunt-a0", pod);
            ns.netlink().addresses().add("shunt-a0", second);

            assertThat(ns.netlink().addresses().list("shunt-a0")).containsExactly(
                    new Address(index, pod, RT_SCOPE_UNIVERSE, IFA_F_PERMANENT),
                    new Address(index, second, RT_SCOPE_UNIVERSE, IFA_F_PERMANENT));
            assertThat(ns.netlink().addresses().list("shunt-a1")).isEmpty();
            assertThat(ns.netlink().addresses().list()).extracting(Address::prefix).contains(pod, second);
            assertThat(witness(ns, "shunt-a0", "inet")).containsExactly(prefixes("10.244.1.5/24", "10.244.9.1/32"));
            JsonNode info = Witness.ip(ns.name(), "addr", "show", "dev", "shunt-a0").get(0).get("addr_info").get(0);
            assertThat(info.get("scope").asText()).isEqualTo("global");

            ns.netlink().addresses().delete("shunt-a0", pod);

            assertThat(ns.netlink().addresses().list("shunt-a0")).extracting(Address::prefix).containsExactly(second);
            assertThat(witness(ns, "shunt-a0", "inet")).containsExactly(prefixes("10.244.9.1/32"));
            ns.netlink().addresses().delete("shunt-a0", second);
            assertThat(ns.netlink().addresses().list("shunt-a0")).isEmpty();
            assertThat(witness(ns, "shunt-a0", "inet")).isEmpty();
        }
    }

    @Test
    void ipv6AddressIsAddedWithoutDadListedAndDeleted() {
        try (ScratchNamespace ns = ScratchNamespace.create("addr6")) {
            ns.netlink().links().add(VethSpec.of("shunt-b0", "shunt-b1"));
            int index = ns.netlink().links().get("shunt-b0").index();
            IpPrefix pod = IpPrefix.parse("fd00:10:244:1::5/64");

            ns.netlink().addresses().add("shunt-b0", pod);

            assertThat(ns.netlink().addresses().list("shunt-b0")).filteredOn(a -> !a.prefix().isIpv4())
                    .containsExactly(new Address(index, pod, RT_SCOPE_UNIVERSE, IFA_F_PERMANENT | IFA_F_NODAD));
            assertThat(witness(ns, "shunt-b0", "inet6")).containsExactly(prefixes("fd00:10:244:1::5/64"));
            JsonNode info = Witness.ip(ns.name(), "addr", "show", "dev", "shunt-b0").get(0).get("addr_info").get(0);
            assertThat(info.get("nodad").asBoolean(false)).isTrue();
            assertThat(info.has("tentative")).as("no DAD, so never tentative").isFalse();

            ns.netlink().addresses().delete("shunt-b0", pod);

            assertThat(ns.netlink().addresses().list("shunt-b0")).isEmpty();
            assertThat(witness(ns, "shunt-b0", "inet6")).isEmpty();
        }
    }

    @Test
    void ipv6AddressOnALinkThatIsUpSitsBesideTheLinkLocalOne() {
        try (ScratchNamespace ns = ScratchNamespace.create("addr6up")) {
            ns.netlink().links().add(VethSpec.of("shunt-c0", "shunt-c1"));
            ns.netlink().links().setUp("shunt-c0");
            ns.netlink().links().setUp("shunt-c1");
            IpPrefix pod = IpPrefix.parse("fd00:10:244:2::7/120");

            ns.netlink().addresses().add("shunt-c0", pod);

            Eventually.within(java.time.Duration.ofSeconds(5), () -> {
                List<Address> mine = ns.netlink().addresses().list("shunt-c0");
                assertThat(mine).extracting(Address::prefix).contains(pod);
                assertThat(mine).filteredOn(a -> a.scope() == RtnetlinkDescriptor.RT_SCOPE_LINK)
                        .extracting(a -> a.prefix().address().getHostAddress()).singleElement()
                        .asString().startsWith("fe80:");
                assertThat(witness(ns, "shunt-c0", "inet6"))
                        .containsExactlyInAnyOrderElementsOf(mine.stream().map(Address::prefix).toList());
            });
        }
    }

    @Test
    void addingAnExistingAddressIsRefusedWithEexist() {
        try (ScratchNamespace ns = ScratchNamespace.create("addrdup")) {
            ns.netlink().links().add(VethSpec.of("shunt-d0", "shunt-d1"));
            Addresses addresses = ns.netlink().addresses();
            addresses.add("shunt-d0", IpPrefix.parse("10.244.3.1/24"));
            addresses.add("shunt-d0", IpPrefix.parse("fd00:10:244:3::1/64"));

            NetlinkException v4 = catchThrowableOfType(NetlinkException.class,
                    () -> addresses.add("shunt-d0", IpPrefix.parse("10.244.3.1/24")));
            NetlinkException v6 = catchThrowableOfType(NetlinkException.class,
                    () -> addresses.add("shunt-d0", IpPrefix.parse("fd00:10:244:3::1/64")));

            assertThat(v4.errnoName()).isEqualTo("EEXIST");
            assertThat(v4.getMessage()).startsWith("ip addr add 10.244.3.1/24 dev shunt-d0: EEXIST (File exists)");
            assertThat(v6.errnoName()).isEqualTo("EEXIST");
            assertThat(v6.getMessage()).startsWith("ip addr add fd00:10:244:3::1/64 dev shunt-d0: EEXIST (File exists)");
            assertThat(addresses.list("shunt-d0")).hasSize(2);
            assertThat(witness(ns, "shunt-d0", null)).containsExactly(prefixes("10.244.3.1/24", "fd00:10:244:3::1/64"));
        }
    }

    @Test
    void deletingAnAddressThatIsNotThereIsRefusedWithEaddrnotavail() {
        try (ScratchNamespace ns = ScratchNamespace.create("addrdel")) {
            ns.netlink().links().add(VethSpec.of("shunt-e0", "shunt-e1"));

            NetlinkException e = catchThrowableOfType(NetlinkException.class,
                    () -> ns.netlink().addresses().delete("shunt-e0", IpPrefix.parse("10.244.4.1/24")));

            assertThat(e.errnoName()).isEqualTo("EADDRNOTAVAIL");
            assertThat(e.getMessage()).startsWith("ip addr del 10.244.4.1/24 dev shunt-e0: EADDRNOTAVAIL");
        }
    }

    /** {@code ip -j addr show dev DEV}'s addresses (local/prefixlen), of one family ("inet", "inet6") or all. */
    private static List<IpPrefix> witness(ScratchNamespace ns, String dev, String family) {
        List<IpPrefix> out = new ArrayList<>();
        for (JsonNode info : Witness.ip(ns.name(), "addr", "show", "dev", dev).get(0).get("addr_info")) {
            if (family == null || family.equals(info.get("family").asText())) {
                out.add(IpPrefix.parse(info.get("local").asText() + "/" + info.get("prefixlen").asInt()));
            }
        }
        return out;
    }

    private static IpPrefix[] prefixes(String... texts) {
        return java.util.Arrays.stream(texts).map(IpPrefix::parse).toArray(IpPrefix[]::new);
    }
}
