package dev.shunt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import dev.shunt.netlink.IpPrefix;
import dev.shunt.netlink.VethSpec;
import dev.shunt.netns.NetworkNamespace;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.ThreadLocalRandom;

import static org.assertj.core.api.Assertions.assertThat;

public class CliTest {
    /** One CLI run: exit code and what it printed. */
    public record Result(int exit, String out, String err) {}

    /** Runs the {@code shunt} command in-process, capturing its output. */
    public static Result shunt(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(exit, out.toString(), err.toString());
    }

    @Test
    void versionPrintsTheProjectVersion() {
        Result r = shunt("--version");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).startsWith("shunt ").contains("Java 25");
    }

    @Test
    void netnsAddListDelRoundTripIsVisibleToIp() {
        String name = "shunt-t-cli-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 24), 36);
        try {
            assertThat(shunt("netns", "add", name).exit()).isZero();
            assertThat(Witness.run(java.util.List.of("ip", "netns", "list"))).contains(name);
            assertThat(shunt("netns", "list").out().lines()).contains(name);

            Result dup = shunt("netns", "add", name);
            assertThat(dup.exit()).isEqualTo(Main.EXIT_FAILURE);
            assertThat(dup.err()).isEqualTo("shunt: error: network namespace '" + name + "' already exists (/run/netns/" + name + ")\n");

            assertThat(shunt("netns", "del", name).exit()).isZero();
            assertThat(Witness.run(java.util.List.of("ip", "netns", "list"))).doesNotContain(name);
        } finally {
            if (NetworkNamespace.exists(name)) {
                NetworkNamespace.named(name).delete();
            }
        }
    }

    @Test
    void deletingAMissingNamespaceIsAOneLineError() {
        Result r = shunt("netns", "del", "shunt-t-nope-zz9");
        assertThat(r.exit()).isEqualTo(Main.EXIT_FAILURE);
        assertThat(r.err().lines()).hasSize(1);
        assertThat(r.err()).startsWith("shunt: error: network namespace 'shunt-t-nope-zz9' does not exist");
    }

    @Test
    void linkListShowsWhatIpShows() throws Exception {
        try (ScratchNamespace ns = ScratchNamespace.create("cli-link")) {
            ns.netlink().links().add(VethSpec.of("shunt-c0", "shunt-c1").withMtu(1400));
            ns.netlink().links().setUp("shunt-c0");
            ns.netlink().links().setUp("shunt-c1");
            ns.netlink().addresses().add("shunt-c0", IpPrefix.parse("10.244.9.1/24"));
            ns.netlink().addresses().add("shunt-c0", IpPrefix.parse("fd00:244::1/64"));

            Result r = shunt("link", "list", "--netns", ns.name(), "--json");
            assertThat(r.exit()).as(r.err()).isZero();
            JsonNode rows = new ObjectMapper().readTree(r.out());
            JsonNode ip = Witness.ip(ns.name(), "addr", "show");
            assertThat(rows).hasSize(ip.size());
            for (JsonNode witness : ip) {
                JsonNode row = find(rows, witness.get("ifname").asText());
                assertThat(row.get("index").asInt()).isEqualTo(witness.get("ifindex").asInt());
                assertThat(row.get("mtu").asInt()).isEqualTo(witness.get("mtu").asInt());
                assertThat(row.get("state").asText()).isEqualTo(witness.get("operstate").asText());
                assertThat(row.get("mac").asText()).isEqualTo(witness.get("address").asText());
                for (JsonNode addr : witness.get("addr_info")) {
                    assertThat(row.get("addresses").toString())
                            .contains(addr.get("local").asText() + "/" + addr.get("prefixlen").asInt());
                }
            }
            JsonNode c0 = find(rows, "shunt-c0");
            assertThat(c0.get("kind").asText()).isEqualTo("veth");
            assertThat(c0.get("adminUp").asBoolean()).isTrue();
            assertThat(c0.get("addresses").toString()).contains("10.244.9.1/24", "fd00:244::1/64");

            Result table = shunt("link", "list", "--netns", ns.name());
            assertThat(table.exit()).isZero();
            assertThat(table.out().lines().findFirst().orElseThrow()).startsWith("INDEX").contains("NAME", "KIND", "STATE", "MTU", "MAC", "ADDRESSES");
            assertThat(table.out()).containsPattern("shunt-c0 +veth +UP +1400 .*10\\.244\\.9\\.1/24 fd00:244::1/64");
        }
    }

    @Test
    void linkListInAMissingNamespaceFailsClearly() {
        Result r = shunt("link", "list", "--netns", "shunt-t-nope-zz9");
        assertThat(r.exit()).isEqualTo(Main.EXIT_FAILURE);
        assertThat(r.err()).startsWith("shunt: error: network namespace 'shunt-t-nope-zz9' does not exist");
    }

    @Test
    void unknownCommandsAndBadArgumentsExitTwoWithOneLineAndUsage() {
        for (String[] args : new String[][] {{"bogus"}, {"netns", "frobnicate"}, {"link", "list", "--colour"},
                {"netns", "add"}, {"netns"}, {}}) {
            Result r = shunt(args);
            assertThat(r.exit()).as(String.join(" ", args)).isEqualTo(Main.EXIT_USAGE);
            assertThat(r.out()).as(String.join(" ", args)).isEmpty();
            String first = r.err().lines().findFirst().orElseThrow();
            assertThat(first).as(String.join(" ", args)).startsWith("shunt: ");
            assertThat(r.err()).as(String.join(" ", args)).contains("Usage: shunt");
        }
    }

    private static JsonNode find(JsonNode rows, String name) {
        for (JsonNode row : rows) {
            if (row.get("name").asText().equals(name)) {
                return row;
            }
        }
        throw new AssertionError("no row for " + name + " in " + rows);
    }
}
