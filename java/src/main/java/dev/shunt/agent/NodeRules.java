package dev.shunt.agent;

import dev.shunt.ipam.Cidr;
import dev.shunt.netns.NetworkNamespace;
import dev.shunt.sys.Fd;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The node's static nftables rules, in a table of their own ({@code ip shunt}) so they are
 * recognisably Shunt's and removed in one step. Their number never depends on pods or Services:
 * <ul>
 *   <li><b>node ports</b>: TCP and UDP to any local address of the node (not loopback) on
 *       30000-32767 are DNATed, port kept, to {@link AgentConfig#NODE_PORT_ADDRESS}, an address of
 *       the Service CIDR that no Service has: routed via {@code shunt0}, the packet reaches the
 *       fast path with the client's source address intact, and the fast path finds the Service by
 *       protocol and node port alone. Replies come back through {@code shunt0} from that address
 *       and the kernel's own conntrack turns them back into the node address. One rule, reached
 *       from prerouting (clients elsewhere) and output (clients on the node itself);</li>
 *   <li><b>pods to node ports</b>: a pod reaching a node port (its packets reach the host through
 *       the fast path and {@code shunt0}, and go back out of it after the DNAT) is masqueraded to
 *       the node's address, so the backend's reply returns through the host's conntrack instead of
 *       going straight to the pod from an address the pod never talked to;</li>
 *   <li><b>pod egress</b>: traffic from the cluster CIDR to anywhere outside it leaves the node
 *       masqueraded to the node's address.</li>
 * </ul>
 * docs/kernel-notes.md has why DNAT rather than policy routing or tc.
 *
 * <p>Loaded with {@code nft -f -} rather than nf_tables netlink messages: a rule is a bytecode of
 * expressions (payload loads, bitwise masks, comparisons, meta, fib, nat) that nft compiles and
 * checks against the running kernel; writing that by hand for a few static rules would duplicate
 * nft's compiler for no gain at run time (they are loaded once at start). Everything per pod and
 * per Service stays in netlink calls and the fast path.
 */
final class NodeRules {
    static final String TABLE = "shunt";

    private NodeRules() {}

    /**
     * Installs the table, or replaces it whole (a restarted agent's table is flushed and rewritten
     * in the same nft transaction, so no packet sees it half-made). Equivalent to:
     * {@code nft -f} of {@link #script}.
     */
    static void install(Fd namespace, Cidr clusterCidr, String hostPortDevice, String nodePortAddress) {
        nft(namespace, script(clusterCidr, hostPortDevice, nodePortAddress));
    }

    static String script(Cidr clusterCidr, String hostPortDevice, String nodePortAddress) {
        return String.join("\n", List.of(
                "add table ip " + TABLE,
                "flush table ip " + TABLE,
                "table ip " + TABLE + " {",
                "  chain node-ports {",
                "    fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto { tcp, udp } th dport 30000-32767"
                        + " dnat to " + nodePortAddress + " comment \"shunt: node ports to the fast path\"",
                "  }",
                "  chain prerouting {",
                "    type nat hook prerouting priority dstnat; policy accept;",
                "    jump node-ports",
                "  }",
                "  chain output {",
                // nft 1.0.6 knows the name "dstnat" for prerouting only; it is -100 here as well.
                "    type nat hook output priority -100; policy accept;",
                "    jump node-ports",
                "  }",
                "  chain pod-egress {",
                "    type nat hook postrouting priority srcnat; policy accept;",
                "    ip saddr " + clusterCidr + " ip daddr " + nodePortAddress
                        + " masquerade comment \"shunt: pods to node ports\"",
                "    ip saddr " + clusterCidr + " ip daddr != " + clusterCidr + " oifname != \"" + hostPortDevice
                        + "\" masquerade comment \"shunt: pod egress\"",
                "  }",
                "}", ""));
    }

    /** Removes the table and its rules. Equivalent to: {@code nft delete table ip shunt}. */
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
                throw new IllegalStateException("nft refused the node's rules (exit " + p.exitValue() + "): " + out.strip());
            }
            return null;
        });
    }
}
