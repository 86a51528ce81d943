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
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * The lab's backends: in each server pod's namespace a TCP server and a UDP server on the target
 * port, each on its own platform thread of the benchmark JVM (the sockets are created inside the
 * namespace and stay there). Both answer a 1-byte request with 1 byte: the server's number
 * ({@code '1'}, {@code '2'}), so a client can tell which endpoint the data plane picked. The TCP
 * server closes after replying, so the server side of every connection ends first and the client
 * (which closes with SO_LINGER 0) leaves no TIME_WAIT behind.
 *
 * <p>Beside them, a bulk sink on the bulk port: it reads a connection until the client's FIN into
 * one direct buffer (no copy into the Java heap, as a C receiver would read), then answers with
 * the byte count it received (8 bytes, big-endian) and its number (1 byte), and closes; so a
 * client knows how much was delivered, not only how much it handed to its socket. One connection
 * at a time (the benchmarks send one transfer at a time); a connection idle for {@value
 * #BULK_IDLE_MILLIS} ms is dropped without an answer, so a stalled data plane cannot hold the sink.
 */
final class EchoServers implements AutoCloseable {
    static final int BULK_IDLE_MILLIS = 3000;
    private static final int BULK_BUFFER = 1 << 18;

    private final List<ServerSocket> tcp = new ArrayList<>();
    private final List<DatagramSocket> udp = new ArrayList<>();
    private final List<ServerSocketChannel> bulk = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean closed;

    EchoServers(List<String> namespaces, int port, int bulkPort) {
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
                ServerSocketChannel sink = ns.call(() -> {
                    ServerSocketChannel c = ServerSocketChannel.open();
                    c.setOption(StandardSocketOptions.SO_REUSEADDR, true);
                    c.bind(new InetSocketAddress(bulkPort), 64);
                    return c;
                });
                bulk.add(sink);
                threads.add(Thread.ofPlatform().daemon().name("lab-bulk-" + id).start(() -> serveBulk(sink, id)));
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

    private void serveBulk(ServerSocketChannel server, byte id) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(BULK_BUFFER);
        ByteBuffer answer = ByteBuffer.allocate(9);
        while (!closed) {
            try (SocketChannel c = server.accept(); Selector selector = Selector.open()) {
                c.configureBlocking(false);
                c.register(selector, SelectionKey.OP_READ);
                long received = 0;
                long lastData = System.nanoTime();
                boolean finished = false;
                while (!finished && !closed) {
                    buffer.clear();
                    int n = c.read(buffer);
                    if (n < 0) {
                        finished = true;
                    } else if (n > 0) {
                        received += n;
                        lastData = System.nanoTime();
                    } else if (System.nanoTime() - lastData > BULK_IDLE_MILLIS * 1_000_000L) {
                        break; // idle: the client or the data plane gave up; no answer
                    } else {
                        // Short waits, so that close() is noticed within one of them.
                        selector.select(100);
                        selector.selectedKeys().clear();
                    }
                }
                if (finished) {
                    answer.clear();
                    answer.putLong(received).put(id).flip();
                    // 9 bytes into an empty send buffer: one write takes them all, unless the peer is gone.
                    c.write(answer);
                }
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                // a client reset: the next accept serves the next transfer
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (ServerSocketChannel s : bulk) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
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
