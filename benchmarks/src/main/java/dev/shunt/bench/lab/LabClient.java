package dev.shunt.bench.lab;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;

import static dev.shunt.bench.lab.ServiceLab.BULK_PORT;
import static dev.shunt.bench.lab.ServiceLab.PORT;
import static dev.shunt.bench.lab.ServiceLab.VIP;

/**
 * The client side of the lab, the same code for every data plane: requests and transfers to the
 * measured Service's VIP from whatever network namespace the calling thread is in (a benchmark
 * thread that entered the client pod, or a {@code NetworkNamespace.call}).
 */
public final class LabClient {
    /** How long {@link #bulkTransfer} waits for the sink's count after its last byte (in-flight data must drain). */
    static final long TRANSFER_ANSWER_MILLIS = 2000;

    private LabClient() {
    }

    /** A TCP request from the calling thread's namespace: connect, 1 byte, 1 byte back, close with RST. Returns the server's byte. */
    public static int tcpRequest(int timeoutMillis) throws IOException {
        try (Socket s = new Socket()) {
            s.setOption(StandardSocketOptions.SO_LINGER, 0);
            s.setTcpNoDelay(true);
            s.setSoTimeout(timeoutMillis);
            s.connect(new InetSocketAddress(VIP, PORT), timeoutMillis);
            OutputStream out = s.getOutputStream();
            out.write('?');
            InputStream in = s.getInputStream();
            int reply = in.read();
            if (reply < 0) {
                throw new IOException("connection closed without a reply");
            }
            return reply;
        }
    }

    /** What one bulk transfer delivered: bytes the server counted, which server, and whether the time limit cut it short. */
    public record Transfer(long delivered, int server, boolean cutShort) {}

    /**
     * One bulk TCP transfer from the calling thread's namespace through the VIP's bulk port: a new
     * connection, {@code bytes} written from {@code chunk} (a direct buffer, written again and
     * again) or as much as {@code maxMillis} allows, whichever ends first, then FIN; it ends when
     * the sink answers with the count it received, so the time covers delivery, not only the
     * hand-over to the socket. Non-blocking writes with a selector keep every wait bounded: the
     * answer must come within {@value #TRANSFER_ANSWER_MILLIS} ms after the last write, else
     * (like a refused or reset connection) an IOException. Closed with RST (SO_LINGER 0), as the
     * requests are, so no TIME_WAIT piles up.
     */
    public static Transfer bulkTransfer(ByteBuffer chunk, long bytes, long maxMillis) throws IOException {
        long deadline = System.nanoTime() + maxMillis * 1_000_000L;
        try (SocketChannel channel = SocketChannel.open(); Selector selector = Selector.open()) {
            channel.setOption(StandardSocketOptions.SO_LINGER, 0);
            channel.socket().connect(new InetSocketAddress(VIP, BULK_PORT), (int) Math.clamp(maxMillis, 1, 1000));
            channel.configureBlocking(false);
            SelectionKey key = channel.register(selector, SelectionKey.OP_WRITE);
            ByteBuffer out = chunk.duplicate();
            out.limit(0);
            long sent = 0;
            while (sent < bytes) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                if (!out.hasRemaining()) {
                    out.clear().limit((int) Math.min(out.capacity(), bytes - sent));
                }
                int n = channel.write(out);
                sent += n;
                if (n == 0) {
                    selector.select(Math.max(1, left / 1_000_000));
                    selector.selectedKeys().clear();
                }
            }
            channel.shutdownOutput();
            key.interestOps(SelectionKey.OP_READ);
            ByteBuffer answer = ByteBuffer.allocate(9);
            long answerBy = System.nanoTime() + TRANSFER_ANSWER_MILLIS * 1_000_000L;
            while (answer.hasRemaining()) {
                if (channel.read(answer) < 0) {
                    throw new IOException("the sink closed after " + answer.position() + " of 9 answer bytes (" + sent + " bytes sent)");
                }
                long left = answerBy - System.nanoTime();
                if (answer.hasRemaining()) {
                    if (left <= 0) {
                        throw new IOException("no answer from the sink " + TRANSFER_ANSWER_MILLIS + " ms after " + sent + " bytes");
                    }
                    selector.select(Math.max(1, left / 1_000_000));
                    selector.selectedKeys().clear();
                }
            }
            answer.flip();
            long delivered = answer.getLong();
            if (delivered != sent) {
                throw new IOException("the sink received " + delivered + " of " + sent + " bytes");
            }
            return new Transfer(delivered, answer.get(), sent < bytes);
        }
    }

    /** A UDP request from a new socket (a new source port, so a new flow). Returns the server's byte. */
    public static int udpRequest(int timeoutMillis) throws IOException {
        try (DatagramSocket s = new DatagramSocket()) {
            s.setSoTimeout(timeoutMillis);
            s.send(new DatagramPacket(new byte[] {'?'}, 1, new InetSocketAddress(VIP, PORT)));
            DatagramPacket reply = new DatagramPacket(new byte[8], 8);
            s.receive(reply);
            return reply.getData()[0];
        }
    }
}
