package dev.shunt.cni;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NetworkConfigTest {
    static byte[] utf8(String json) {
        return json.getBytes(StandardCharsets.UTF_8);
    }

    static NetworkConfig parse(String json) {
        return NetworkConfig.parse(utf8(json));
    }

    static void failsWith(String json, int code, String details) {
        assertThatThrownBy(() -> parse(json)).as(json).isInstanceOfSatisfying(CniError.class, e -> {
            assertThat(e.code()).as(e.toString()).isEqualTo(code);
            assertThat(e.details()).contains(details);
        });
    }

    @Test
    void aPlainConfigurationUsesShuntsIpam() {
        NetworkConfig c = parse("{\"cniVersion\":\"1.0.0\",\"name\":\"shunt\",\"type\":\"shunt-cni\",\"socket\":\"/run/shunt/shunt.sock\",\"mtu\":9000}");
        assertThat(c.cniVersion()).isEqualTo(CniVersion.V1_0_0);
        assertThat(c.name()).isEqualTo("shunt");
        assertThat(c.type()).isEqualTo("shunt-cni");
        assertThat(c.delegatesIpam()).isFalse();
        assertThat(c.ipamType()).isEqualTo("shunt");
        assertThat(c.labels()).isEmpty();
        assertThat(c.validAttachments()).isEmpty();
        assertThat(c.prevResult()).isNull();
        assertThat(c.dns()).isNull();
        assertThat(parse("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"t\",\"ipam\":{\"type\":\"shunt\"}}").delegatesIpam()).isFalse();
    }

    @Test
    void anIpamSectionOfAnotherTypeIsDelegated() {
        NetworkConfig c = parse("{\"cniVersion\":\"0.4.0\",\"name\":\"n\",\"type\":\"shunt-cni\","
                + "\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.244.9.0/24\"}]]},\"dns\":{\"nameservers\":[\"10.96.0.10\"]}}");
        assertThat(c.delegatesIpam()).isTrue();
        assertThat(c.ipamType()).isEqualTo("host-local");
        assertThat(c.dns().toString()).isEqualTo("{\"nameservers\":[\"10.96.0.10\"]}");
        assertThat(new String(c.bytes(), StandardCharsets.UTF_8)).contains("\"ranges\"");
    }

    @Test
    void labelsComeFromArgsCniLabelsAsTheConventionsWriteThem() {
        NetworkConfig c = parse("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"t\",\"args\":{\"cni\":{\"labels\":"
                + "[{\"key\":\"app\",\"value\":\"web\"},{\"key\":\"example.com/tier\",\"value\":\"\"}]}}}");
        assertThat(c.labels()).isEqualTo(Map.of("app", "web", "example.com/tier", ""));
        failsWith("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"t\",\"args\":{\"cni\":{\"labels\":[{\"key\":\"a b\",\"value\":\"x\"}]}}}",
                7, "label key 'a b'");
        failsWith("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"t\",\"args\":{\"cni\":{\"labels\":[{\"key\":\"a\",\"value\":\"x y\"}]}}}",
                7, "label value 'x y'");
        failsWith("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"t\",\"args\":{\"cni\":{\"labels\":{\"app\":\"web\"}}}}",
                7, "must be a list");
        failsWith("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"t\",\"args\":{\"cni\":{\"labels\":[{\"key\":\"app\"}]}}}",
                7, "must be a list of {\"key\"");
        failsWith("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"t\",\"args\":[]}", 7, "\"args\" and \"args.cni\" must be objects");
    }

    @Test
    void gcReadsBothNamesOfTheValidAttachmentsList() {
        NetworkConfig c = parse("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"t\","
                + "\"cni.dev/valid-attachments\":[{\"containerID\":\"a1\",\"ifname\":\"eth0\"}],"
                + "\"cni.dev/attachments\":[{\"containerID\":\"b2\",\"ifname\":\"net1\"}]}");
        assertThat(c.validAttachments()).containsExactly(new AttachmentKey("a1", "eth0"), new AttachmentKey("b2", "net1"));
        failsWith("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"t\",\"cni.dev/valid-attachments\":[{\"containerID\":\"a1\"}]}",
                7, "cni.dev/valid-attachments");
        failsWith("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"t\",\"cni.dev/attachments\":\"a1\"}", 7, "must be a list");
    }

    @Test
    void whatIsNotOneJsonObjectIsErrorSix() {
        for (String bad : List.of("", "   ", "[]", "\"x\"", "42", "null", "{", "{\"cniVersion\":\"1.0.0\",}", "{} {}", "{\"a\":1} x",
                "{'cniVersion':'1.0.0'}", "{\"a\":NaN}")) {
            assertThatThrownBy(() -> parse(bad)).as("'%s'", bad)
                    .isInstanceOfSatisfying(CniError.class, e -> assertThat(e.code()).as(e.toString()).isEqualTo(6));
        }
        assertThatThrownBy(() -> NetworkConfig.parse(new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0xff, '"', '}'}))
                .isInstanceOfSatisfying(CniError.class, e -> assertThat(e.code()).isEqualTo(6));
        assertThatThrownBy(() -> parse("[".repeat(5000))).isInstanceOfSatisfying(CniError.class, e -> assertThat(e.code()).isEqualTo(6));
    }

    @Test
    void theVersionIsCheckedBeforeTheContent() {
        failsWith("{\"name\":\"n\",\"type\":\"t\"}", 1, "no cniVersion");
        failsWith("{\"cniVersion\":\"0.3.1\"}", 1, "cniVersion '0.3.1' is not one Shunt speaks");
        failsWith("{\"cniVersion\":100}", 1, "cniVersion '100'");
    }

    @Test
    void missingOrMistypedFieldsAreErrorSevenSayingWhich() {
        failsWith("{\"cniVersion\":\"1.0.0\",\"type\":\"t\"}", 7, "\"name\" is missing");
        failsWith("{\"cniVersion\":\"1.0.0\",\"name\":\"n\"}", 7, "\"type\" is missing");
        failsWith("{\"cniVersion\":\"1.0.0\",\"name\":5,\"type\":\"t\"}", 7, "\"name\" must be a string");
        failsWith("{\"cniVersion\":\"1.0.0\",\"name\":\"-n\",\"type\":\"t\"}", 7, "\"name\" '-n' must start with a letter or digit");
        failsWith("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"ipam\":\"host-local\"}", 7, "\"ipam\" must be an object");
        failsWith("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"ipam\":{}}", 7, "\"type\" is missing");
        failsWith("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"ipam\":{\"type\":\"../../bin/sh\"}}", 7, "is not a plugin's file name");
        failsWith("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"ipam\":{\"type\":\"host\\u0000local\"}}", 7, "is not a plugin's file name");
        failsWith("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"ipam\":{\"type\":\"..\"}}", 7, "is not a plugin's file name");
        failsWith("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"dns\":[]}", 7, "\"dns\" must be an object");
        failsWith("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"prevResult\":1}", 7, "\"prevResult\" must be an object");
    }

    @Test
    void theReplyVersionIsReadEvenFromABrokenConfiguration() {
        assertThat(NetworkConfig.replyVersion(utf8("{\"cniVersion\":\"0.4.0\",\"name\":5}"))).isEqualTo(CniVersion.V0_4_0);
        assertThat(NetworkConfig.replyVersion(utf8("{\"cniVersion\":\"0.3.1\"}"))).isEqualTo(CniVersion.V1_1_0);
        assertThat(NetworkConfig.replyVersion(utf8("{nope"))).isEqualTo(CniVersion.V1_1_0);
        assertThat(NetworkConfig.replyVersion(new byte[0])).isEqualTo(CniVersion.V1_1_0);
    }
}
