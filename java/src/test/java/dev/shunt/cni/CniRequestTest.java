package dev.shunt.cni;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.shunt.cni.NetworkConfigTest.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CniRequestTest {
    static final String CONFIG = "{\"cniVersion\":\"1.1.0\",\"name\":\"shunt\",\"type\":\"shunt-cni\"}";

    static Map<String, String> env(String command, String... pairs) {
        Map<String, String> env = new HashMap<>();
        env.put("CNI_COMMAND", command);
        env.put("CNI_CONTAINERID", "0123456789abcdef0123");
        env.put("CNI_NETNS", "/run/netns/shunt-t-ctr-1");
        env.put("CNI_IFNAME", "eth0");
        env.put("CNI_PATH", "/usr/lib/cni:/opt/cni/bin");
        for (int i = 0; i < pairs.length; i += 2) {
            if (pairs[i + 1] == null) {
                env.remove(pairs[i]);
            } else {
                env.put(pairs[i], pairs[i + 1]);
            }
        }
        return env;
    }

    static CniRequest parse(Map<String, String> env) {
        return CniRequest.parse(env, utf8(CONFIG));
    }

    static void failsWith(Map<String, String> env, String config, int code, String details) {
        assertThatThrownBy(() -> CniRequest.parse(env, utf8(config))).as(env.toString())
                .isInstanceOfSatisfying(CniError.class, e -> {
                    assertThat(e.code()).as(e.toString()).isEqualTo(code);
                    assertThat(e.details()).contains(details);
                });
    }

    @Test
    void anAddCarriesItsEnvironmentAndConfiguration() {
        CniRequest r = parse(env("ADD", "CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1"));
        assertThat(r.command()).isEqualTo(CniCommand.ADD);
        assertThat(r.key()).isEqualTo(new AttachmentKey("0123456789abcdef0123", "eth0"));
        assertThat(r.netns()).isEqualTo(Path.of("/run/netns/shunt-t-ctr-1"));
        assertThat(r.cniPath()).containsExactly(Path.of("/usr/lib/cni"), Path.of("/opt/cni/bin"));
        assertThat(r.args().get("K8S_POD_NAME")).isEqualTo("web-1");
        assertThat(r.config().name()).isEqualTo("shunt");
        assertThat(r.env()).containsEntry("CNI_IFNAME", "eth0").containsKey("CNI_ARGS");
        assertThat(r.podName()).isEqualTo("web-1");
    }

    @Test
    void eachVerbNeedsItsOwnVariables() {
        failsWith(env("ADD", "CNI_NETNS", null, "CNI_IFNAME", ""), CONFIG, 4, "CNI_NETNS, CNI_IFNAME are not set, and ADD needs them");
        failsWith(env("CHECK", "CNI_CONTAINERID", null), CONFIG, 4, "CNI_CONTAINERID is not set, and CHECK needs it");
        failsWith(env("GC", "CNI_PATH", null), CONFIG, 4, "CNI_PATH is not set, and GC needs it");
        // DEL may come without a namespace (it is gone); STATUS and GC without a container.
        assertThat(parse(env("DEL", "CNI_NETNS", null)).netns()).isNull();
        assertThat(parse(env("STATUS", "CNI_CONTAINERID", null, "CNI_IFNAME", null, "CNI_NETNS", null, "CNI_PATH", null)).command())
                .isEqualTo(CniCommand.STATUS);
        assertThat(parse(env("GC", "CNI_CONTAINERID", null, "CNI_IFNAME", null, "CNI_NETNS", null)).command()).isEqualTo(CniCommand.GC);
        failsWith(env(""), CONFIG, 4, "CNI_COMMAND is not set");
        failsWith(env("INIT"), CONFIG, 4, "CNI_COMMAND 'INIT' is none of");
    }

    @Test
    void containerIdsAndInterfaceNamesFollowTheSpec() {
        failsWith(env("ADD", "CNI_CONTAINERID", "-abc"), CONFIG, 4, "CNI_CONTAINERID '-abc'");
        failsWith(env("ADD", "CNI_CONTAINERID", "a/b"), CONFIG, 4, "CNI_CONTAINERID 'a/b'");
        failsWith(env("ADD", "CNI_CONTAINERID", "a".repeat(256)), CONFIG, 4, "CNI_CONTAINERID");
        failsWith(env("ADD", "CNI_IFNAME", "eth0123456789012"), CONFIG, 4, "CNI_IFNAME 'eth0123456789012'");
        for (String bad : List.of("..", ".", "et h0", "a:b", "a/b")) {
            failsWith(env("ADD", "CNI_IFNAME", bad), CONFIG, 4, "CNI_IFNAME '" + bad + "'");
        }
        failsWith(env("ADD", "CNI_NETNS", "netns/x"), CONFIG, 4, "CNI_NETNS 'netns/x' must be an absolute path");
        failsWith(env("ADD", "CNI_ARGS", "K8S_POD_NAME"), CONFIG, 4, "CNI_ARGS: 'K8S_POD_NAME' is not KEY=VALUE");
    }

    @Test
    void statusAndGcNeedAVersionOneOneConfiguration() {
        failsWith(env("GC"), CONFIG.replace("1.1.0", "1.0.0"), 1, "configuration version 1.0.0 does not allow GC (it needs 1.1.0)");
        failsWith(env("STATUS"), CONFIG.replace("1.1.0", "0.4.0"), 1, "configuration version 0.4.0 does not allow STATUS");
        assertThat(CniRequest.parse(env("CHECK"), utf8(CONFIG.replace("1.1.0", "0.4.0"))).config().cniVersion())
                .isEqualTo(CniVersion.V0_4_0);
    }

    @Test
    void versionNeedsNothing() {
        CniRequest r = CniRequest.parse(Map.of("CNI_COMMAND", "VERSION"), new byte[0]);
        assertThat(r.command()).isEqualTo(CniCommand.VERSION);
        assertThat(r.config()).isNull();
    }

    @Test
    void podNamesComeFromK8sPodNameElseTheContainerId() {
        assertThat(parse(env("ADD")).podName()).isEqualTo("c-0123456789ab");
        assertThat(parse(env("ADD", "CNI_CONTAINERID", "ABC_def.1")).podName()).isEqualTo("c-abc-def-1");
        assertThat(parse(env("ADD", "CNI_ARGS", "K8S_POD_NAME=My_Web.1")).podName()).isEqualTo("my-web-1");
        assertThat(parse(env("ADD", "CNI_ARGS", "K8S_POD_NAME=---")).podName()).isEqualTo("c-0123456789ab");
        assertThat(parse(env("ADD", "CNI_ARGS", "K8S_POD_NAME=web", "CNI_IFNAME", "net1")).podName()).isEqualTo("web-net1");
        String longName = parse(env("ADD", "CNI_ARGS", "K8S_POD_NAME=" + "a".repeat(52) + "-b")).podName();
        assertThat(longName).isEqualTo("a".repeat(52)).hasSize(52);
        assertThat(parse(env("ADD", "CNI_ARGS", "K8S_POD_NAME=" + "x".repeat(80))).podName()).hasSize(53);
    }

    @Test
    void labelsFromCniArgsWinOverTheConfigurations() {
        String config = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"args\":{\"cni\":{\"labels\":"
                + "[{\"key\":\"app\",\"value\":\"db\"},{\"key\":\"tier\",\"value\":\"back\"}]}}}";
        CniRequest r = CniRequest.parse(env("ADD", "CNI_ARGS", "IgnoreUnknown=1;SHUNT_LABELS=app:web,zone:a"), utf8(config));
        assertThat(r.labels()).isEqualTo(Map.of("app", "web", "tier", "back", "zone", "a"));
        failsWith(env("ADD", "CNI_ARGS", "SHUNT_LABELS=app"), CONFIG, 4, "SHUNT_LABELS needs key:value pairs");
        failsWith(env("ADD", "CNI_ARGS", "SHUNT_LABELS=app:w b"), CONFIG, 4, "label value 'w b'");
    }

    @Test
    void theEnvironmentIsCheckedBeforeTheConfiguration() {
        failsWith(env("ADD", "CNI_IFNAME", null), "not json", 4, "CNI_IFNAME");
        failsWith(env("ADD"), "not json", 6, "");
    }
}
