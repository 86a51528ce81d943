package dev.shunt.agent;

import dev.shunt.ipam.Cidr;
import dev.shunt.service.ServiceTable;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * A real agent in a process of its own, for tests that {@code kill -9} it: started by the test
 * under {@code nsenter --net=/run/netns/NODE}, it runs {@link Agent#start} and then takes the one
 * thing its API cannot do yet from stdin: "services BACKEND_IP" publishes the test's NodePort
 * Service (see {@link NodePortTest#nodePortService}) into its fast path, as a restarted agent's
 * control plane would restore its persisted Services. SIGTERM stops it gracefully, as
 * {@code shunt agent} does.
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
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            String[] f = line.split(" ");
            if (f[0].equals("services")) {
                agent.fastPath().setServices(ServiceTable.build(
                        List.of(NodePortTest.nodePortService(f[1], node, dev.shunt.service.Service.TrafficPolicy.LOCAL)), node));
                System.out.println("ok");
            }
        }
        stopped.await();
    }
}
