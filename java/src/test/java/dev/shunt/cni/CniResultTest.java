package dev.shunt.cni;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The result and error JSON, version by version, compared as exact strings. */
class CniResultTest {
    static final CniResult POD = new CniResult(
            List.of(new CniResult.Interface("shp0a1b2c3d", "02:00:00:00:00:01", 1450, null),
                    new CniResult.Interface("eth0", "02:00:00:00:00:02", 1450, "/run/netns/x")),
            List.of(new CniResult.IpConfig("10.244.1.5/32", "169.254.1.1", 1)),
            List.of(new CniResult.RouteEntry("169.254.1.1/32", null, 253), new CniResult.RouteEntry("0.0.0.0/0", "169.254.1.1", -1)),
            null);

    @Test
    void version040CarriesTheIpVersionAndNoScopeOrMtu() {
        assertThat(POD.toJson(CniVersion.V0_4_0)).isEqualTo("{\"cniVersion\":\"0.4.0\","
                + "\"interfaces\":[{\"name\":\"shp0a1b2c3d\",\"mac\":\"02:00:00:00:00:01\"},"
                + "{\"name\":\"eth0\",\"mac\":\"02:00:00:00:00:02\",\"sandbox\":\"/run/netns/x\"}],"
                + "\"ips\":[{\"version\":\"4\",\"address\":\"10.244.1.5/32\",\"gateway\":\"169.254.1.1\",\"interface\":1}],"
                + "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"169.254.1.1\"}]}");
    }

    @Test
    void version100DropsTheIpVersion() {
        assertThat(POD.toJson(CniVersion.V1_0_0)).isEqualTo("{\"cniVersion\":\"1.0.0\","
                + "\"interfaces\":[{\"name\":\"shp0a1b2c3d\",\"mac\":\"02:00:00:00:00:01\"},"
                + "{\"name\":\"eth0\",\"mac\":\"02:00:00:00:00:02\",\"sandbox\":\"/run/netns/x\"}],"
                + "\"ips\":[{\"address\":\"10.244.1.5/32\",\"gateway\":\"169.254.1.1\",\"interface\":1}],"
                + "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"169.254.1.1\"}]}");
    }

    @Test
    void version110AddsMtuAndTheLinkRouteWithItsScope() {
        assertThat(POD.toJson(CniVersion.V1_1_0)).isEqualTo("{\"cniVersion\":\"1.1.0\","
                + "\"interfaces\":[{\"name\":\"shp0a1b2c3d\",\"mac\":\"02:00:00:00:00:01\",\"mtu\":1450},"
                + "{\"name\":\"eth0\",\"mac\":\"02:00:00:00:00:02\",\"mtu\":1450,\"sandbox\":\"/run/netns/x\"}],"
                + "\"ips\":[{\"address\":\"10.244.1.5/32\",\"gateway\":\"169.254.1.1\",\"interface\":1}],"
                + "\"routes\":[{\"dst\":\"169.254.1.1/32\",\"scope\":253},{\"dst\":\"0.0.0.0/0\",\"gw\":\"169.254.1.1\"}]}");
    }

    @Test
    void eachVersionReadsBackWhatItWrote() throws Exception {
        for (CniVersion v : CniVersion.SUPPORTED) {
            JsonNode written = NetworkConfig.JSON.readTree(POD.toJson(v));
            CniResult read = CniResult.parse(written, "result");
            assertThat(read.interfaces()).extracting(CniResult.Interface::name).containsExactly("shp0a1b2c3d", "eth0");
            assertThat(read.ips()).containsExactly(new CniResult.IpConfig("10.244.1.5/32", "169.254.1.1", 1));
            assertThat(read.toJson(v)).as(v.toString()).isEqualTo(POD.toJson(v).replace(",\"mtu\":1450", v.atLeast(CniVersion.V1_1_0)
                    ? ",\"mtu\":1450" : ""));
        }
    }

    @Test
    void anIpamPluginsAbbreviatedResultParses() throws Exception {
        // What host-local prints for cniVersion 1.0.0.
        CniResult ipam = CniResult.parse(NetworkConfig.JSON.readTree("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.244.9.2/24\","
                + "\"gateway\":\"10.244.9.1\"}],\"dns\":{}}"), "host-local");
        assertThat(ipam.interfaces()).isEmpty();
        assertThat(ipam.ips()).containsExactly(new CniResult.IpConfig("10.244.9.2/24", "10.244.9.1", -1));
        assertThat(ipam.dns()).isEmpty();
        assertThatThrownBy(() -> CniResult.parse(NetworkConfig.JSON.readTree("{\"ips\":[{\"gateway\":\"1.2.3.4\"}]}"), "x"))
                .isInstanceOfSatisfying(CniError.class, e -> assertThat(e.details()).startsWith("x: an ips entry without an address"));
        assertThatThrownBy(() -> CniResult.parse(NetworkConfig.JSON.readTree("{\"ips\":[{\"address\":\"1.2.3.4/32\",\"interface\":3}]}"), "x"))
                .isInstanceOfSatisfying(CniError.class, e -> assertThat(e.details()).contains("names interface 3 of 0"));
        assertThatThrownBy(() -> CniResult.parse(NetworkConfig.JSON.readTree("{\"routes\":{}}"), "x"))
                .isInstanceOfSatisfying(CniError.class, e -> assertThat(e.code()).isEqualTo(7));
    }

    @Test
    void aResultAfterAPrevResultKeepsItAndShiftsItsOwnInterfaceIndexes() throws Exception {
        CniResult previous = CniResult.parse(NetworkConfig.JSON.readTree("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"lo\"}],"
                + "\"ips\":[{\"address\":\"127.0.0.1/8\",\"interface\":0}],\"dns\":{\"nameservers\":[\"10.96.0.10\"]}}"), "prevResult");
        CniResult merged = POD.after(previous);
        assertThat(merged.interfaces()).extracting(CniResult.Interface::name).containsExactly("lo", "shp0a1b2c3d", "eth0");
        assertThat(merged.ips()).extracting(CniResult.IpConfig::interfaceIndex).containsExactly(0, 2);
        assertThat(merged.dns().toString()).isEqualTo("{\"nameservers\":[\"10.96.0.10\"]}");
    }

    @Test
    void anErrorIsTheSpecsErrorObject() {
        CniError e = new CniError(7, "invalid network configuration", "\"name\" is missing");
        assertThat(e.toJson(CniVersion.V1_1_0))
                .isEqualTo("{\"cniVersion\":\"1.1.0\",\"code\":7,\"msg\":\"invalid network configuration\",\"details\":\"\\\"name\\\" is missing\"}");
        assertThat(new CniError(11, "try again", "").toJson(CniVersion.V0_4_0)).isEqualTo("{\"cniVersion\":\"0.4.0\",\"code\":11,\"msg\":\"try again\"}");
        ObjectNode delegated = NetworkConfig.JSON.createObjectNode().put("code", 1).put("msg", "incompatible CNI versions")
                .put("details", "config is \"1.1.0\", plugin supports [\"0.1.0\" ...]");
        CniError passed = CniError.parse(delegated, "host-local ADD");
        assertThat(passed.code()).isEqualTo(1);
        assertThat(passed.msg()).isEqualTo("incompatible CNI versions");
        assertThat(passed.details()).startsWith("host-local ADD: config is");
    }
}
