package dev.shunt.agent;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** What the agent tests share around a real agent: a name-saying backend, and one teardown. */
final class AgentTeardown {
    private AgentTeardown() {}

    /**
     * Closes what a test opened (servers, connections, subscriptions; best effort, newest first),
     * then deletes every pod of each agent and stops it. Null agents (never started) are skipped.
     */
    static void stop(List<? extends AutoCloseable> opened, Agent... agents) {
        for (AutoCloseable c : opened.reversed()) {
            try {
                c.close();
            } catch (Exception ignored) {
                // best effort: the namespaces go next
            }
        }
        for (Agent agent : agents) {
            if (agent != null) {
                for (String pod : agent.pods().keySet()) {
                    agent.deletePod(pod);
                }
                agent.close();
            }
        }
    }

    /**
     * A backend on port 8080 in the pod's namespace that says its name on each connection and
     * closes it; the server is added to {@code opened} for {@link #stop}.
     */
    static void serveName(PodRecord pod, List<AutoCloseable> opened) {
        // pod.namespace(): a CNI pod's namespace is a path the runtime gave, not a name.
        ServerSocketChannel server = pod.namespace().call(() ->
                ServerSocketChannel.open().bind(new InetSocketAddress(pod.ip(), 8080)));
        opened.add(server);
        Thread.ofPlatform().daemon().name("backend-" + pod.name()).start(() -> {
            while (server.isOpen()) {
                try (SocketChannel c = server.accept()) {
                    c.write(ByteBuffer.wrap((pod.name() + "\n").getBytes(StandardCharsets.US_ASCII)));
                } catch (IOException e) {
                    if (!server.isOpen()) {
                        return;
                    }
                }
            }
        });
    }
}
