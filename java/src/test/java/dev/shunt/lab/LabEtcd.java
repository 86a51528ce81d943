package dev.shunt.lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A one-member etcd server (Debian's {@code /usr/bin/etcd}) for a test, run inside a scratch
 * namespace on its loopback, with its data in a directory the test owns. It can be killed and
 * started again on the same data, on the same or another client port. Its log goes to
 * {@code etcd.log} next to the data, and is quoted when it does not come up.
 *
 * <p>Fixed ports are safe here: nothing else listens inside a namespace the test just made.
 * {@code 127.0.0.1} (not a 198.18 address) is deliberate: a client socket that ends up in the root
 * namespace by mistake gets a connection refused from the host's loopback instead of leaving the
 * machine by its default route.
 */
public final class LabEtcd implements AutoCloseable {
    public static final int CLIENT_PORT = 2379;
    public static final int OTHER_CLIENT_PORT = 2479;
    private static final int PEER_PORT = 2380;
    private static final long READY_TIMEOUT_MS = 20_000;

    private final ScratchNamespace namespace;
    private final String host;
    private final Path dataDir;
    private final Path log;
    private Process process;
    private int clientPort;

    private LabEtcd(ScratchNamespace namespace, String host, Path workDir) {
        this.namespace = namespace;
        this.host = host;
        this.dataDir = workDir.resolve("data");
        this.log = workDir.resolve("etcd.log");
    }

    /** Starts etcd in {@code namespace} (whose loopback it brings up) on {@link #CLIENT_PORT}. */
    public static LabEtcd start(ScratchNamespace namespace, Path workDir) {
        namespace.netlink().links().setUp("lo");
        LabEtcd etcd = new LabEtcd(namespace, "127.0.0.1", workDir);
        etcd.startOn(CLIENT_PORT);
        return etcd;
    }

    /**
     * Starts etcd in {@code namespace} on {@code host}, an address of that namespace on a lab
     * underlay (198.18.0.0/15), so that other scratch namespaces on the same underlay reach it: the
     * node namespaces of a multi-node test, whose agents run in processes of their own.
     */
    public static LabEtcd startOnUnderlay(ScratchNamespace namespace, String host, Path workDir) {
        namespace.netlink().links().setUp("lo");
        LabEtcd etcd = new LabEtcd(namespace, host, workDir);
        etcd.startOn(CLIENT_PORT);
        return etcd;
    }

    /** {@code http://HOST:PORT} of the current (or last) run (HOST 127.0.0.1 unless started on another). */
    public String endpoint() {
        return "http://" + host + ":" + clientPort;
    }

    public static String endpoint(int port) {
        return "http://127.0.0.1:" + port;
    }

    public ScratchNamespace namespace() {
        return namespace;
    }

    /** Starts etcd again on the same data; waits until it answers a health check. */
    public synchronized void startOn(int port) {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("etcd is running (pid " + process.pid() + ")");
        }
        clientPort = port;
        String peer = "http://127.0.0.1:" + PEER_PORT;
        List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=" + namespace.namespace().path(), "/usr/bin/etcd",
                "--name", "shunt-t",
                "--data-dir", dataDir.toString(),
                "--listen-client-urls", "http://" + host + ":" + port,
                "--advertise-client-urls", "http://" + host + ":" + port,
                "--listen-peer-urls", peer,
                "--initial-advertise-peer-urls", peer,
                "--initial-cluster", "shunt-t=" + peer,
                "--initial-cluster-state", "new",
                "--logger", "zap",
                "--log-level", "warn"));
        try {
            process = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + cmd, e);
        }
        awaitHealthy();
    }

    /** SIGKILL, as a crash or a pulled cable would look to the client; waits until the process is gone. */
    public synchronized void kill() {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("etcd (pid " + process.pid() + ") did not die after SIGKILL");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while killing etcd", e);
        }
        process = null;
    }

    /** {@code etcdctl ARGS} against the current endpoint, from inside the namespace; its output. */
    public String etcdctl(String... args) {
        List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=" + namespace.namespace().path(),
                "etcdctl", "--endpoints", endpoint(), "--dial-timeout", "1s", "--command-timeout", "3s"));
        cmd.addAll(List.of(args));
        return Witness.run(cmd);
    }

    /** The server's log so far (for assertion messages). */
    public String logText() {
        try {
            return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e + ")";
        }
    }

    @Override
    public synchronized void close() {
        kill();
    }

    private void awaitHealthy() {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(READY_TIMEOUT_MS);
        String last = "";
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("etcd exited with " + process.exitValue() + ":\n" + logText());
            }
            List<String> cmd = List.of("nsenter", "--net=" + namespace.namespace().path(), "etcdctl",
                    "--endpoints", endpoint(), "--dial-timeout", "500ms", "--command-timeout", "1s", "endpoint", "health");
            last = Witness.runAllowingFailure(cmd);
            if (last.contains("is healthy")) {
                return;
            }
            sleep(100);
        }
        kill();
        throw new IllegalStateException("etcd did not become healthy within " + READY_TIMEOUT_MS + " ms: " + last + "\n" + logText());
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
