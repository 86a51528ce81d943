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

    @Option(names = "--pod-cidr", required = true, paramLabel = "CIDR", description = "This node's pod CIDR, e.g. 10.244.1.0/24.")
    String podCidr;

    @Option(names = "--state", paramLabel = "DIR", description = "State directory (default: ${DEFAULT-VALUE}).")
    Path state = AgentConfig.DEFAULT_STATE;

    @Option(names = "--socket", paramLabel = "PATH", description = "API socket (default: ${DEFAULT-VALUE}).")
    Path socket = AgentConfig.DEFAULT_SOCKET;

    @Option(names = "--mtu", paramLabel = "N", description = "Pod interface MTU (default: ${DEFAULT-VALUE}).")
    int mtu = AgentConfig.DEFAULT_MTU;

    @Override
    public void run() {
        AgentConfig config = new AgentConfig(node, Cidr.parse(podCidr), state, socket, mtu);
        Agent agent = Agent.start(config);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().unstarted(() -> {
            agent.close();
            stopped.countDown();
        }));
        spec.commandLine().getOut().printf("shunt agent: node %s, pods %s, %d pods adopted, API on %s%n", node, podCidr,
                agent.pods().size(), socket);
        spec.commandLine().getOut().flush();
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
