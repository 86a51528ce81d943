package dev.shunt.agent;

import dev.shunt.netns.NetworkNamespace;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Tests of pods across agents: one TCP conversation between two pod namespaces with real sockets. */
final class PodTcp {
    private PodTcp() {
    }

    /**
     * A server on {@code serverIp:serverPort} in {@code serverNs} answers "hello from" + the
     * address the connection came from; a client in {@code clientNs} connects to {@code host:port}
     * (the server itself, a ClusterIP, a node port) and returns what it read.
     */
    static String roundTrip(String clientNs, String serverNs, String serverIp, int serverPort, String host, int port)
            throws Exception {
        try (ServerSocketChannel listener = NetworkNamespace.named(serverNs).call(() -> {
            ServerSocketChannel l = ServerSocketChannel.open();
            l.bind(new InetSocketAddress(serverIp, serverPort));
            return l;
        })) {
            CompletableFuture<Void> served = CompletableFuture.runAsync(() -> {
                try (SocketChannel c = listener.accept()) {
                    String peer = ((InetSocketAddress) c.getRemoteAddress()).getAddress().getHostAddress();
                    c.write(ByteBuffer.wrap(("hello from " + peer).getBytes(StandardCharsets.UTF_8)));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            String got = NetworkNamespace.named(clientNs).call(() -> {
                try (SocketChannel c = SocketChannel.open()) {
                    c.socket().connect(new InetSocketAddress(host, port), 5000);
                    ByteBuffer buf = ByteBuffer.allocate(64);
                    while (c.read(buf) >= 0 && buf.hasRemaining()) {
                        // until the server closes
                    }
                    return new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8);
                }
            });
            served.get(10, TimeUnit.SECONDS);
            return got;
        }
    }
}
