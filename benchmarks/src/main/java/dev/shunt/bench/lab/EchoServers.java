package dev.shunt.bench.lab;

import dev.shunt.netns.NetworkNamespace;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

/**
 * The lab's backends: in each server pod's namespace a TCP server and a UDP server on the target
 * port, each on its own platform thread of the benchmark JVM (the sockets are created inside the
 * namespace and stay there). Both answer a 1-byte request with 1 byte: the server's number
 * ({@code '1'}, {@code '2'}), so a client can tell which endpoint the data plane picked. The TCP
 * server closes after replying, so the server side of every connection ends first and the client
 * (which closes with SO_LINGER 0) leaves no TIME_WAIT behind.
 */
final class EchoServers implements AutoCloseable {
    private final List<ServerSocket> tcp = new ArrayList<>();
    private final List<DatagramSocket> udp = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean closed;

    EchoServers(List<String> namespaces, int port) {
        try {
            for (int i = 0; i < namespaces.size(); i++) {
                byte id = (byte) ('1' + i);
                NetworkNamespace ns = NetworkNamespace.named(namespaces.get(i));
                ServerSocket server = ns.call(() -> {
                    ServerSocket s = new ServerSocket();
                    s.setReuseAddress(true);
                    s.bind(new InetSocketAddress(port), 1024);
                    return s;
                });
                tcp.add(server);
                DatagramSocket datagrams = ns.call(() -> new DatagramSocket(new InetSocketAddress(port)));
                udp.add(datagrams);
                threads.add(Thread.ofPlatform().daemon().name("lab-tcp-" + id).start(() -> serveTcp(server, id)));
                threads.add(Thread.ofPlatform().daemon().name("lab-udp-" + id).start(() -> serveUdp(datagrams, id)));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private void serveTcp(ServerSocket server, byte id) {
        byte[] one = new byte[1];
        while (!closed) {
            try (Socket s = server.accept()) {
                s.setTcpNoDelay(true);
                s.setSoTimeout(2000);
                InputStream in = s.getInputStream();
                if (in.read(one) == 1) {
                    OutputStream out = s.getOutputStream();
                    out.write(id);
                    out.flush();
                }
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                // a client reset or timed out: the next accept serves the next connection
            }
        }
    }

    private void serveUdp(DatagramSocket socket, byte id) {
        byte[] buffer = new byte[64];
        DatagramPacket request = new DatagramPacket(buffer, buffer.length);
        DatagramPacket reply = new DatagramPacket(new byte[] {id}, 1);
        while (!closed) {
            try {
                request.setLength(buffer.length);
                socket.receive(request);
                reply.setSocketAddress(request.getSocketAddress());
                socket.send(reply);
            } catch (IOException e) {
                if (closed) {
                    return;
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (ServerSocket s : tcp) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        for (DatagramSocket s : udp) {
            s.close();
        }
        for (Thread t : threads) {
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
