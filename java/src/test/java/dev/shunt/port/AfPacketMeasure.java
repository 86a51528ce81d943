package dev.shunt.port;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Side-by-side figures on the {@link PodsThroughNode} lab (not a unit test: run it on purpose with
 * {@code -Dtest=AfPacketMeasure}; {@code -Dmeasure.seconds=N} per figure, default 5). For each
 * path: ping RTT (ping -i 0.01 for N s), TCP request/response on one connection (1 byte each way,
 * TCP_NODELAY) and TCP connect/request/response/close, both from a Java client in pod-a to a Java
 * server in pod-b. Paths: the kernel routing the node (ip_forward=1, no ports), and the forwarder on
 * two AfPacketPorts (TPACKET_V2 RX and TX rings) spinning 0 or 20000 empty rounds before epoll.
 */
class AfPacketMeasure {
    private static final int SECONDS = Integer.getInteger("measure.seconds", 5);
    private static final Pattern RTT = Pattern.compile("= ([0-9.]+)/([0-9.]+)/([0-9.]+)/([0-9.]+) ms");

    @Test
    void kernelVersusForwarder() throws Exception {
        List<String> rows = new ArrayList<>();
        rows.add("kernel " + System.getProperty("os.version") + ", " + Runtime.getRuntime().availableProcessors()
                + " CPUs, " + SECONDS + " s per figure, run " + Integer.getInteger("measure.run", 1));
        rows.add(String.format(Locale.ROOT, "%-44s %8s %8s %8s %10s %10s", "path", "ping min", "avg", "max",
                "TCP RR/s", "TCP CRR/s"));
        try (PodsThroughNode lab = PodsThroughNode.create(PodsThroughNode.Mode.KERNEL)) {
            rows.add(row("kernel: ip_forward=1, no ports", lab));
        }
        for (int spin : new int[] {0, 20_000}) {
            try (PodsThroughNode lab = PodsThroughNode.create(PodsThroughNode.Mode.PORTS)) {
                AfPacketPort[] ports = lab.openPorts(AfPacketPort.Config.defaults());
                try (AfPacketPort a = ports[0]; AfPacketPort b = ports[1];
                     TwoPortForwarder ignored = lab.forwarder(a, b, spin)) {
                    rows.add(row("AfPacketPort V2 rings, spin " + spin + " then epoll", lab));
                    rows.add("    " + AfPacketPortTest.describe(a));
                    rows.add("    " + AfPacketPortTest.describe(b));
                }
            }
        }
        rows.forEach(System.out::println);
    }

    private static String row(String path, PodsThroughNode lab) throws Exception {
        if (!PortLab.ping(lab.podA, PodsThroughNode.POD_B_IP, 1)) {
            throw new AssertionError(path + ": pods cannot reach each other");
        }
        double[] rtt = ping(lab);
        double rr = tcpRequestResponse(lab, false);
        double crr = tcpRequestResponse(lab, true);
        return String.format(Locale.ROOT, "%-44s %8.3f %8.3f %8.3f %10.0f %10.0f", path, rtt[0], rtt[1], rtt[2], rr, crr);
    }

    /** ping -i 0.01 for SECONDS: min/avg/max/mdev in ms. */
    private static double[] ping(PodsThroughNode lab) throws Exception {
        int count = SECONDS * 100;
        Process p = new ProcessBuilder("ip", "netns", "exec", lab.podA.name(), "ping", "-n", "-q", "-c",
                Integer.toString(count), "-i", "0.01", "-W", "1", PodsThroughNode.POD_B_IP).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(SECONDS * 3L + 10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("ping did not finish");
        }
        Matcher m = RTT.matcher(out);
        if (!m.find()) {
            throw new AssertionError("no rtt line in: " + out);
        }
        return new double[] {Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2)),
                Double.parseDouble(m.group(3)), Double.parseDouble(m.group(4))};
    }

    /**
     * 1-byte request, 1-byte response for SECONDS, from pod-a to pod-b; transactions per second.
     * {@code newConnectionEach}: connect, request, response, close per transaction (CRR).
     */
    private static double tcpRequestResponse(PodsThroughNode lab, boolean newConnectionEach) throws Exception {
        try (ServerSocket server = lab.podB.namespace().call(() ->
                new ServerSocket(0, 512, PortLab.ip(PodsThroughNode.POD_B_IP)))) {
            server.setSoTimeout(2_000);
            Thread echo = Thread.ofPlatform().daemon().name("rr-server").start(() -> serve(server));
            InetSocketAddress target = new InetSocketAddress(PodsThroughNode.POD_B_IP, server.getLocalPort());
            long start = System.nanoTime();
            // The whole client loop runs on one thread inside pod-a, so every socket it opens is pod-a's.
            long transactions = lab.podA.namespace().call(() -> clientLoop(target, newConnectionEach));
            double seconds = (System.nanoTime() - start) / 1e9;
            server.close();
            echo.join(5_000);
            return transactions / seconds;
        }
    }

    private static long clientLoop(InetSocketAddress target, boolean newConnectionEach) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(SECONDS);
        long transactions = 0;
        Socket s = null;
        try {
            while (System.nanoTime() - deadline < 0) {
                if (s == null) {
                    s = new Socket();
                    s.setTcpNoDelay(true);
                    s.setSoLinger(true, 0); // RST on close: no TIME_WAIT pile-up in CRR
                    s.connect(target, 2_000);
                    s.setSoTimeout(2_000);
                }
                s.getOutputStream().write(1);
                if (s.getInputStream().read() != 1) {
                    throw new AssertionError("bad response");
                }
                transactions++;
                if (newConnectionEach) {
                    s.close();
                    s = null;
                }
            }
        } finally {
            if (s != null) {
                s.close();
            }
        }
        return transactions;
    }

    private static void serve(ServerSocket server) {
        while (!server.isClosed()) {
            try (Socket s = server.accept()) {
                s.setTcpNoDelay(true);
                s.setSoTimeout(2_000);
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                for (int b; (b = in.read()) >= 0; ) {
                    out.write(b);
                }
            } catch (IOException e) {
                // closed server, timeout, or reset client: next connection
            }
        }
    }
}
