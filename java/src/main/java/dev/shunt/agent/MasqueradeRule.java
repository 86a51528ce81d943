package dev.shunt.agent;

import dev.shunt.ipam.Cidr;
import dev.shunt.netns.NetworkNamespace;
import dev.shunt.sys.Fd;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The one static kernel rule for pod egress: traffic from the cluster CIDR to anywhere outside it
 * leaves the node masqueraded to the node's address, in a table of its own ({@code ip shunt}) so
 * it is recognisably Shunt's and removed in one step. Its size never depends on pods or Services.
 *
 * <p>Loaded with {@code nft -f -} rather than nf_tables netlink messages: a rule is a bytecode of
 * expressions (payload loads, bitwise masks, comparisons, meta, masq) that nft compiles and checks
 * against the running kernel; writing that by hand for one static rule would duplicate nft's
 * compiler for no gain at run time (it is loaded once at start). Everything per pod and per
 * Service stays in netlink calls and the fast path.
 */
final class MasqueradeRule {
    static final String TABLE = "shunt";

    private MasqueradeRule() {}

    /** Installs (or replaces) the rule in the namespace {@code namespace} refers to. */
    static void install(Fd namespace, Cidr clusterCidr, String hostPortDevice) {
        nft(namespace, String.join("\n", List.of(
                "add table ip " + TABLE,
                "flush table ip " + TABLE,
                "table ip " + TABLE + " {",
                "  chain pod-egress {",
                "    type nat hook postrouting priority srcnat; policy accept;",
                "    ip saddr " + clusterCidr + " ip daddr != " + clusterCidr + " oifname != \"" + hostPortDevice
                        + "\" masquerade comment \"shunt: pod egress\"",
                "  }",
                "}", "")));
    }

    /** Removes the table and its rule. Equivalent to: {@code nft delete table ip shunt}. */
    static void remove(Fd namespace) {
        nft(namespace, "add table ip " + TABLE + "\ndelete table ip " + TABLE + "\n");
    }

    private static void nft(Fd namespace, String script) {
        // The child inherits the network namespace of the thread that starts it.
        NetworkNamespace.callIn(namespace, "nft", () -> {
            Process p = new ProcessBuilder("nft", "-f", "-").redirectErrorStream(true).start();
            p.getOutputStream().write(script.getBytes(StandardCharsets.US_ASCII));
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("nft did not finish within 30 s");
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException("nft refused the pod egress rule (exit " + p.exitValue() + "): " + out.strip());
            }
            return null;
        });
    }

}
