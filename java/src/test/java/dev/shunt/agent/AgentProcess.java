package dev.shunt.agent;

import dev.shunt.ipam.Cidr;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * A real agent in a process of its own, for tests that {@code kill -9} it: started by the test
 * under {@code nsenter --net=/run/netns/NODE}, it runs {@link Agent#start}, prints "ready" once its
 * API serves, and stays until a signal: SIGTERM stops it gracefully, as {@code shunt agent} does;
 * SIGKILL leaves everything behind for the next agent to adopt.
 *
 * <p>Arguments: NODE POD_CIDR STATE_DIR SOCKET.
 */
public final class AgentProcess {
    private AgentProcess() {}

    public static void main(String[] args) throws Exception {
        String node = args[0];
        Agent agent = Agent.start(new AgentConfig(node, Cidr.parse(args[1]), Path.of(args[2]), Path.of(args[3]), 1450));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().unstarted(() -> {
            agent.close();
            stopped.countDown();
        }));
        System.out.println("ready");
        stopped.await();
    }
}
