package dev.shunt.cli;

import dev.shunt.agent.Agent;
import dev.shunt.agent.AgentConfig;
import dev.shunt.ipam.Cidr;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/** {@code shunt agent}: runs the node agent in the foreground until SIGTERM or SIGINT. */
@Command(name = "agent", mixinStandardHelpOptions = true, description = "Run the node agent (as root, in the node's network namespace).")
final class AgentCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Option(names = "--node", required = true, paramLabel = "NAME", description = "This node's name.")
    String node;

    @Option(names = "--pod-cidr", paramLabel = "CIDR", description = "This node's pod CIDR, e.g. 10.244.1.0/24. "
            + "Required without --etcd; with it the node claims a free /24 of 10.244.0.0/16 (if given, it must be the claimed one).")
    String podCidr;

    @Option(names = "--state", paramLabel = "DIR", description = "State directory (default: ${DEFAULT-VALUE}).")
    Path state = AgentConfig.DEFAULT_STATE;

    @Option(names = "--socket", paramLabel = "PATH", description = "API socket (default: ${DEFAULT-VALUE}).")
    Path socket = AgentConfig.DEFAULT_SOCKET;

    @Option(names = "--mtu", paramLabel = "N", description = "Pod interface MTU (default: ${DEFAULT-VALUE}).")
    int mtu = AgentConfig.DEFAULT_MTU;

    @Option(names = "--offloads", paramLabel = "on|off", description = "Pods' and shunt0's TX checksum, TSO and GSO offloads, "
            + "carried through the fast path with virtio-net headers; on needs a kernel that takes PACKET_VNET_HDR "
            + "(checked at start, `shunt stats` shows the outcome). Default: ${DEFAULT-VALUE}.")
    String offloads = "on";

    @Option(names = "--underlay-ip", paramLabel = "IP", description = "This node's address on the underlay: "
            + "with it the agent creates the VXLAN overlay (shunt.vx) to other nodes; without it the node is alone.")
    String underlayIp;

    @Option(names = "--vni", paramLabel = "N", description = "VXLAN network identifier (default: ${DEFAULT-VALUE}).")
    int vni = AgentConfig.Overlay.DEFAULT_VNI;

    @Option(names = "--vxlan-port", paramLabel = "PORT", description = "VXLAN UDP port (default: ${DEFAULT-VALUE}).")
    int vxlanPort = AgentConfig.Overlay.DEFAULT_PORT;

    @Option(names = "--etcd", paramLabel = "URL", description = "The cluster's etcd, e.g. http://198.18.1.254:2379: "
            + "the node claims its pod subnet there and learns the other nodes from it (needs --underlay-ip).")
    String etcd;

    @Option(names = "--etcd-prefix", paramLabel = "PREFIX", description = "Key prefix in etcd (default: ${DEFAULT-VALUE}).")
    String etcdPrefix = dev.shunt.state.etcd.KeyLayout.DEFAULT_PREFIX;

    @Option(names = "--lease-ttl", paramLabel = "SECONDS", description = "TTL of the lease holding the node's subnet: "
            + "a node whose agent is gone leaves the others' overlay this long after (default: ${DEFAULT-VALUE}).")
    long leaseTtl = AgentConfig.EtcdSettings.DEFAULT_LEASE_TTL_SECONDS;

    @Override
    public void run() {
        if (podCidr == null && etcd == null) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--pod-cidr is required without --etcd");
        }
        if (etcd != null && underlayIp == null) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--etcd needs --underlay-ip (the address other nodes reach this one at, recorded with its subnet)");
        }
        if (!offloads.equals("on") && !offloads.equals("off")) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--offloads must be on or off, not " + offloads);
        }
        AgentConfig.Overlay overlay = null;
        if (underlayIp != null) {
            java.net.InetAddress ip;
            try {
                ip = java.net.InetAddress.ofLiteral(underlayIp);
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--underlay-ip: not an IP address: " + underlayIp);
            }
            if (!(ip instanceof java.net.Inet4Address v4)) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--underlay-ip must be IPv4 for now: " + underlayIp);
            }
            overlay = new AgentConfig.Overlay(v4, vni, vxlanPort);
        }
        AgentConfig.EtcdSettings etcdSettings = null;
        if (etcd != null) {
            try {
                etcdSettings = new AgentConfig.EtcdSettings(etcd, etcdPrefix, leaseTtl);
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
        }
        AgentConfig config = new AgentConfig(node, podCidr == null ? null : Cidr.parse(podCidr), state, socket, mtu,
                offloads.equals("on"), overlay, etcdSettings);
        Agent agent = Agent.start(config);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().unstarted(() -> {
            agent.close();
            stopped.countDown();
        }));
        spec.commandLine().getOut().printf("shunt agent: node %s, pods %s, %d pods adopted, API on %s%n", node, agent.config().podCidr(),
                agent.pods().size(), socket);
        spec.commandLine().getOut().flush();
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
