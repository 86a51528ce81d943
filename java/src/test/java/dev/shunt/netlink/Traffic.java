package dev.shunt.netlink;

import dev.shunt.lab.ScratchNamespace;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Real packets between two scratch namespaces: a UDP receiver whose socket lives in one namespace,
 * a sender whose socket lives in the other, and ping run with {@code ip netns exec}. Every wait is
 * bounded in time.
 */
final class Traffic implements AutoCloseable {
    private final DatagramChannel sender;
    private final DatagramChannel receiver;
    private final InetSocketAddress target;
    private int sequence;

    private Traffic(DatagramChannel sender, DatagramChannel receiver, InetSocketAddress target) {
        this.sender = sender;
        this.receiver = receiver;
        this.target = target;
    }

    /**
     * A UDP socket bound to {@code toAddress} (ephemeral port) opened inside {@code to}, and an
     * unbound UDP socket opened inside {@code from}: the sockets stay in their namespaces whichever
     * thread uses them.
     */
    static Traffic udp(ScratchNamespace from, ScratchNamespace to, InetAddress toAddress) {
        DatagramChannel receiver = to.namespace().call(() -> {
            DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET);
            ch.bind(new InetSocketAddress(toAddress, 0));
            ch.configureBlocking(false);
            return ch;
        });
        try {
            DatagramChannel sender = from.namespace().call(() -> DatagramChannel.open(StandardProtocolFamily.INET));
            InetSocketAddress bound = (InetSocketAddress) receiver.getLocalAddress();
            return new Traffic(sender, receiver, new InetSocketAddress(toAddress, bound.getPort()));
        } catch (IOException | RuntimeException e) {
            closeQuietly(receiver);
            throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
    }

    /**
     * Sends one datagram with a fresh payload, then polls the receiver for {@code wait}; true if
     * exactly that payload arrived.
     */
    boolean sendAndReceive(Duration wait) {
        String payload = "shunt-probe-" + (++sequence);
        try {
            sender.send(ByteBuffer.wrap(payload.getBytes(StandardCharsets.US_ASCII)), target);
            return awaitPayload(payload, wait);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Sends a datagram every 200 ms for at most {@code timeout} and reports whether any arrived
     * (the first may wait in the neighbour queue while ARP resolves).
     */
    boolean anyArrivesWithin(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        do {
            if (sendAndReceive(Duration.ofMillis(200))) {
                return true;
            }
        } while (System.nanoTime() - deadline < 0);
        return false;
    }

    /** Sends {@code count} datagrams over about {@code wait} and returns how many arrived. */
    int countArriving(int count, Duration wait) {
        int arrived = 0;
        for (int i = 0; i < count; i++) {
            if (sendAndReceive(wait.dividedBy(count))) {
                arrived++;
            }
        }
        return arrived;
    }

    private boolean awaitPayload(String payload, Duration wait) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(2048);
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            buffer.clear();
            SocketAddress source = receiver.receive(buffer);
            if (source != null) {
                buffer.flip();
                if (StandardCharsets.US_ASCII.decode(buffer).toString().equals(payload)) {
                    return true;
                }
                continue; // an older probe that arrived late: keep reading
            }
            if (System.nanoTime() - deadline >= 0) {
                return false;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for a datagram", e);
            }
        }
    }

    /** {@code ip netns exec NS ping -c1 -W1 ADDRESS}: true if it got a reply. */
    static boolean ping(ScratchNamespace from, InetAddress address) {
        List<String> cmd = List.of("ip", "netns", "exec", from.name(), "ping", "-n", "-c1", "-W1",
                address.getHostAddress());
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("timed out: " + cmd);
            }
            return p.exitValue() == 0;
        } catch (IOException e) {
            throw new AssertionError("cannot run " + cmd, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted: " + cmd, e);
        }
    }

    @Override
    public void close() {
        closeQuietly(sender);
        closeQuietly(receiver);
    }

    private static void closeQuietly(DatagramChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing a UDP socket cannot lose data; nothing to report
        }
    }
}
