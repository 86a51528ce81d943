package dev.shunt.agent;

import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;

import java.util.List;

/** Tests of several agents: an underlay /24 on a bridge (shunt-br0) in its own namespace, one veth per node. */
final class TestUnderlay {
    private TestUnderlay() {
    }

    /**
     * Puts {@code bridgeIp}/24 on a bridge in {@code bridge} and wires each node to it: a veth
     * named {@code vethPrefix + i + "b"} on the bridge, {@code eth0} with {@code addresses[i]}/24 in
     * {@code nodes[i]}. Everything lives in the scratch namespaces and goes with them.
     */
    static void build(ScratchNamespace bridge, String bridgeIp, ScratchNamespace[] nodes, String[] addresses, String vethPrefix) {
        Witness.run(List.of("ip", "-n", bridge.name(), "link", "add", "shunt-br0", "type", "bridge"));
        Witness.run(List.of("ip", "-n", bridge.name(), "addr", "add", bridgeIp + "/24", "dev", "shunt-br0"));
        Witness.run(List.of("ip", "-n", bridge.name(), "link", "set", "shunt-br0", "up"));
        for (int i = 0; i < nodes.length; i++) {
            String veth = vethPrefix + i + "b";
            Witness.run(List.of("ip", "-n", bridge.name(), "link", "add", veth, "type", "veth", "peer", "name", "eth0",
                    "netns", nodes[i].name()));
            Witness.run(List.of("ip", "-n", bridge.name(), "link", "set", veth, "master", "shunt-br0", "up"));
            Witness.run(List.of("ip", "-n", nodes[i].name(), "addr", "add", addresses[i] + "/24", "dev", "eth0"));
            Witness.run(List.of("ip", "-n", nodes[i].name(), "link", "set", "eth0", "up"));
        }
    }
}
