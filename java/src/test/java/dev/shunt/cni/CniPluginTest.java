package dev.shunt.cni;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shunt.lab.ScratchNamespace;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.shunt.cni.CniRequestTest.env;
import static dev.shunt.cni.NetworkConfigTest.utf8;
import static org.assertj.core.api.Assertions.assertThat;

/** The verbs against recording attachments: what reaches the node, and the JSON that comes back. */
class CniPluginTest {
    private final RecordingAttachments node = new RecordingAttachments();
    private final CniPlugin plugin = new CniPlugin(node);

    private static JsonNode json(String text) throws Exception {
        return NetworkConfig.JSON.readTree(text);
    }

    @Test
    void versionListsWhatShuntSpeaksInTheVersionAsked() {
        assertThat(plugin.handle(Map.of("CNI_COMMAND", "VERSION"), utf8("{\"cniVersion\":\"1.0.0\"}")))
                .isEqualTo(new CniPlugin.Reply(0, "{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"0.4.0\",\"1.0.0\",\"1.1.0\"]}"));
        assertThat(plugin.handle(Map.of("CNI_COMMAND", "VERSION"), new byte[0]).stdout())
                .isEqualTo("{\"cniVersion\":\"1.1.0\",\"supportedVersions\":[\"0.4.0\",\"1.0.0\",\"1.1.0\"]}");
        assertThat(plugin.handle(Map.of("CNI_COMMAND", "VERSION"), utf8("garbage")).ok()).isTrue();
        assertThat(node.calls).isEmpty();
    }

    @Test
    void delReachesTheNodeWithThePodNameAndPrintsNothing() {
        CniPlugin.Reply reply = plugin.handle(env("DEL", "CNI_NETNS", null, "CNI_ARGS", "K8S_POD_NAME=web-1"), utf8(CniRequestTest.CONFIG));
        assertThat(reply).isEqualTo(new CniPlugin.Reply(0, ""));
        assertThat(node.calls).containsExactly("delete 0123456789abcdef0123/eth0 web-1");
    }

    @Test
    void gcHandsTheValidAttachmentsToTheNode() {
        String config = "{\"cniVersion\":\"1.1.0\",\"name\":\"shunt\",\"type\":\"shunt-cni\","
                + "\"cni.dev/valid-attachments\":[{\"containerID\":\"b\",\"ifname\":\"eth0\"},{\"containerID\":\"a\",\"ifname\":\"eth0\"}]}";
        assertThat(plugin.handle(env("GC"), utf8(config)).ok()).isTrue();
        assertThat(node.calls).containsExactly("collect shunt [a/eth0, b/eth0]");
    }

    @Test
    void statusIsErrorFiftyWhenTheNodeCannotAddPods() throws Exception {
        assertThat(plugin.handle(env("STATUS"), utf8(CniRequestTest.CONFIG))).isEqualTo(new CniPlugin.Reply(0, ""));
        node.unavailable = "the pod CIDR 10.244.1.0/24 is full (254 addresses held)";
        CniPlugin.Reply reply = plugin.handle(env("STATUS"), utf8(CniRequestTest.CONFIG));
        assertThat(reply.code()).isEqualTo(50);
        JsonNode error = json(reply.stdout());
        assertThat(error.get("cniVersion").asText()).isEqualTo("1.1.0");
        assertThat(error.get("msg").asText()).isEqualTo("cannot add pods now");
        assertThat(error.get("details").asText()).isEqualTo(node.unavailable);
    }

    @Test
    void checkWithoutPrevResultIsErrorSevenAndCheckOfAnUnknownAttachmentIs111() throws Exception {
        CniPlugin.Reply none = plugin.handle(env("CHECK"), utf8(CniRequestTest.CONFIG));
        assertThat(none.code()).isEqualTo(7);
        assertThat(json(none.stdout()).get("details").asText()).isEqualTo("CHECK needs the prevResult of the attachment's ADD");
        String config = "{\"cniVersion\":\"0.4.0\",\"name\":\"shunt\",\"type\":\"shunt-cni\",\"prevResult\":{\"cniVersion\":\"0.4.0\","
                + "\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/run/netns/shunt-t-ctr-1\"}],"
                + "\"ips\":[{\"version\":\"4\",\"address\":\"10.244.1.2/32\",\"interface\":0}]}}";
        CniPlugin.Reply unknown = plugin.handle(env("CHECK"), utf8(config));
        assertThat(unknown.code()).isEqualTo(111);
        assertThat(json(unknown.stdout()).get("cniVersion").asText()).isEqualTo("0.4.0");
        assertThat(node.calls).containsExactly("check 0123456789abcdef0123/eth0 /run/netns/shunt-t-ctr-1");
    }

    @Test
    void addIntoANamespaceThatIsNotThereIsErrorFourAndReachesNothing() throws Exception {
        CniPlugin.Reply reply = plugin.handle(env("ADD", "CNI_NETNS", "/run/netns/shunt-t-nope-zz9"), utf8(CniRequestTest.CONFIG));
        assertThat(reply.code()).isEqualTo(4);
        assertThat(json(reply.stdout()).get("details").asText()).startsWith("CNI_NETNS /run/netns/shunt-t-nope-zz9 is not a network namespace");
        assertThat(node.calls).isEmpty();
    }

    @Test
    void addNeverPlumbsTheHostsOrThePluginsOwnNamespace() throws Exception {
        // As the agent runs: its API thread in the node's namespace, the process started elsewhere.
        try (ScratchNamespace nodeNs = ScratchNamespace.create("node")) {
            for (String own : List.of("/proc/thread-self/ns/net", "/proc/self/ns/net")) {
                CniPlugin.Reply reply = nodeNs.namespace().call(() -> plugin.handle(env("ADD", "CNI_NETNS", own), utf8(CniRequestTest.CONFIG)));
                assertThat(reply.code()).isEqualTo(4);
                assertThat(json(reply.stdout()).get("details").asText()).isEqualTo("CNI_NETNS " + own + " is " + own + ", not a container's namespace");
            }
        }
        // Refused as init's namespace, or (where a sandbox hides PID 1) as one Shunt cannot enter.
        assertThat(plugin.handle(env("ADD", "CNI_NETNS", "/proc/1/ns/net"), utf8(CniRequestTest.CONFIG)).code()).isEqualTo(4);
        assertThat(node.calls).isEmpty();
    }

    @Test
    void anAddWhoseDelegatedIpamPluginIsNotInCniPathMakesNothing() throws Exception {
        String config = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"shunt-cni\",\"ipam\":{\"type\":\"no-such-ipam\"}}";
        CniPlugin.Reply reply = plugin.handle(env("DEL", "CNI_PATH", "/nonexistent"), utf8(config));
        assertThat(reply.code()).isEqualTo(112);
        assertThat(json(reply.stdout()).get("details").asText()).isEqualTo("no executable 'no-such-ipam' in CNI_PATH [/nonexistent]");
        CniPlugin.Reply noPath = plugin.handle(env("DEL", "CNI_PATH", null), utf8(config));
        assertThat(noPath.code()).isEqualTo(4);
    }

    @Test
    void anUnexpectedFailureIsError999NotAnException() throws Exception {
        CniPlugin broken = new CniPlugin(new RecordingAttachments() {
            @Override
            public void delete(AttachmentKey key, String podName) {
                throw new IllegalStateException("netlink went away");
            }
        });
        CniPlugin.Reply reply = broken.handle(env("DEL"), utf8(CniRequestTest.CONFIG));
        assertThat(reply.code()).isEqualTo(999);
        assertThat(json(reply.stdout()).get("details").asText()).isEqualTo("java.lang.IllegalStateException: netlink went away");
    }
}
