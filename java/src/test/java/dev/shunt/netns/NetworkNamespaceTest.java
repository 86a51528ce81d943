package dev.shunt.netns;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.StreamSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NetworkNamespaceTest {
    @Test
    void createdNamespaceIsListedByIpAndByShunt() {
        try (ScratchNamespace ns = ScratchNamespace.create("list")) {
            assertThat(NetworkNamespace.list()).contains(ns.name());
            assertThat(NetworkNamespace.exists(ns.name())).isTrue();
            assertThat(ipNetnsNames()).contains(ns.name());
            // ip can work inside it: a fresh namespace has exactly one link, lo, down.
            JsonNode links = Witness.ip(ns.name(), "link", "show");
            assertThat(links).hasSize(1);
            assertThat(links.get(0).get("ifname").asText()).isEqualTo("lo");
        }
    }

    @Test
    void deleteRemovesItForIpToo() {
        ScratchNamespace ns = ScratchNamespace.create("del");
        String name = ns.name();
        ns.namespace().delete();
        assertThat(NetworkNamespace.exists(name)).isFalse();
        assertThat(ipNetnsNames()).doesNotContain(name);
        ns.close(); // nothing left to remove: must not throw
    }

    @Test
    void codeRunsInsideTheNamespaceOnItsOwnThread() throws Exception {
        String outside = Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString();
        try (ScratchNamespace ns = ScratchNamespace.create("enter")) {
            String inside = ns.namespace().call(() -> Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString());
            assertThat(inside).startsWith("net:[").isNotEqualTo(outside);
            // The same namespace every time: the pin, not a new one per call.
            assertThat(ns.namespace().call(() -> Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString()))
                    .isEqualTo(inside);
            // And the calling thread is untouched.
            assertThat(Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString()).isEqualTo(outside);
            assertThat(ns.namespace().threadIdInside()).isNotEqualTo(dev.shunt.sys.Syscalls.gettid());
        }
    }

    @Test
    void sysctlsAreWrittenInsideTheNamespaceOnly() {
        try (ScratchNamespace ns = ScratchNamespace.create("sysctl")) {
            assertThat(ns.namespace().getSysctl("net.ipv4.ip_forward")).isEqualTo("0");
            ns.namespace().setSysctl("net.ipv4.ip_forward", "1");
            assertThat(ns.namespace().getSysctl("net.ipv4.ip_forward")).isEqualTo("1");
            assertThat(Witness.run(List.of("ip", "netns", "exec", ns.name(), "sysctl", "-n", "net.ipv4.ip_forward")).strip())
                    .isEqualTo("1");
            ns.namespace().setSysctl("net/ipv4/conf/lo/rp_filter", "2");
            assertThat(ns.namespace().getSysctl("net/ipv4/conf/lo/rp_filter")).isEqualTo("2");
            assertThatThrownBy(() -> ns.namespace().setSysctl("net.ipv4.no_such_knob", "1"))
                    .isInstanceOf(NetnsException.class).hasMessageContaining("no such sysctl: net.ipv4.no_such_knob");
        }
    }

    @Test
    void exceptionsInsideTheNamespaceReachTheCaller() {
        try (ScratchNamespace ns = ScratchNamespace.create("throw")) {
            assertThatThrownBy(() -> ns.namespace().call(() -> {
                throw new IllegalStateException("boom inside");
            })).isInstanceOf(IllegalStateException.class).hasMessage("boom inside");
        }
    }

    @Test
    void duplicateInvalidAndMissingNamesGiveClearErrors() {
        try (ScratchNamespace ns = ScratchNamespace.create("dup")) {
            assertThatThrownBy(() -> NetworkNamespace.create(ns.name()))
                    .isInstanceOf(NetnsException.class)
                    .hasMessage("network namespace '" + ns.name() + "' already exists (/run/netns/" + ns.name() + ")");
        }
        assertThatThrownBy(() -> NetworkNamespace.create("bad/name")).isInstanceOf(NetnsException.class)
                .hasMessageContaining("invalid network namespace name 'bad/name'");
        assertThatThrownBy(() -> NetworkNamespace.create("..")).isInstanceOf(NetnsException.class);
        assertThatThrownBy(() -> NetworkNamespace.named("shunt-t-missing-zz9"))
                .isInstanceOf(NetnsException.class)
                .hasMessageStartingWith("network namespace 'shunt-t-missing-zz9' does not exist");
        assertThat(NetworkNamespace.list()).doesNotContain("bad", "shunt-t-missing-zz9");
    }

    private static List<String> ipNetnsNames() {
        String out = Witness.run(List.of("ip", "-j", "netns", "list"));
        JsonNode all = out.isBlank() ? com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.arrayNode() : readJson(out);
        return StreamSupport.stream(all.spliterator(), false).map(n -> n.get("name").asText()).toList();
    }

    private static JsonNode readJson(String text) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(text);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }
}
