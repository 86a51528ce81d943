package dev.shunt.ipam;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A child JVM running {@link IpamCrashChild}, with its stdout read line by line on a thread. Only
 * complete lines (ending in a newline) count: a line cut by a kill is dropped.
 *
 * <p>The class path is the code sources of the main and the test classes, nothing else: the ipam
 * package needs only the JDK. This does not depend on how the test runner sets
 * {@code java.class.path} (surefire 3.5 on JDK 25 passes the real class path in an argument file;
 * with a manifest-only booter jar it would hold just {@code surefirebooter-*.jar}).
 */
final class ChildJvm implements AutoCloseable {
    static final String JAVA = Path.of(System.getProperty("java.home"), "bin", "java").toString();

    /**
     * Flags for a fast start (about 0.2 s here): C1 only, serial GC, a small heap, no perf data, the
     * JDK's default CDS archive. (A dynamic AppCDS archive would save a little more but cannot be
     * dumped with directories on the class path.)
     */
    static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>(List.of(JAVA, "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-Xms16m", "-Xmx64m", "-Xss512k", "-XX:-UsePerfData"));
        cmd.addAll(List.of("-cp", classPath(), IpamCrashChild.class.getName()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    static String classPath() {
        return location(IpamStore.class) + File.pathSeparator + location(IpamCrashChild.class);
    }

    private static String location(Class<?> type) {
        try {
            return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    final Process process;
    final long startNanos = System.nanoTime();
    private final Path stderr;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final List<String> all = new ArrayList<>();
    private final Thread reader;
    private volatile boolean eof;
    private volatile int partialBytes;

    ChildJvm(List<String> command, Path stderr) throws IOException {
        this.stderr = stderr;
        this.process = new ProcessBuilder(command).redirectError(stderr.toFile()).start();
        this.reader = Thread.ofPlatform().daemon().name("child-stdout-" + process.pid()).start(this::read);
    }

    private void read() {
        try (InputStream in = new BufferedInputStream(process.getInputStream())) {
            ByteArrayOutputStream line = new ByteArrayOutputStream(128);
            int b;
            while ((b = in.read()) != -1) {
                if (b == '\n') {
                    lines.add(line.toString(StandardCharsets.US_ASCII));
                    line.reset();
                } else {
                    line.write(b);
                }
            }
            partialBytes = line.size();
        } catch (IOException e) {
            // the pipe broke with the child: what was read is what counts
        } finally {
            eof = true;
            lines.add(EOF);
        }
    }

    private static final String EOF = "\u0000eof";

    /** Waits for the first complete line; null if the child ended or the time ran out first. */
    String awaitFirstLine(long timeoutMillis) throws InterruptedException {
        String first = lines.poll(timeoutMillis, TimeUnit.MILLISECONDS);
        if (first == null || first.equals(EOF)) {
            return null;
        }
        all.add(first);
        return first;
    }

    /**
     * SIGKILL, then waits for the child and for the end of its output. Sent through the
     * {@link ProcessHandle}: {@link Process#destroyForcibly()} also sends SIGKILL on Linux, but then
     * closes the parent's end of the child's stdout at once, throwing away lines the child wrote
     * before it died that the reader had not read yet (acknowledgements the ledger would miss).
     */
    void kill() throws InterruptedException {
        process.toHandle().destroyForcibly();
        finish();
    }

    /** Waits (bounded) for the child to exit on its own. */
    boolean awaitExit(long timeoutMillis) throws InterruptedException {
        if (!process.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
            return false;
        }
        finish();
        return true;
    }

    private void finish() throws InterruptedException {
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("child " + process.pid() + " did not die in 30 s");
        }
        reader.join(30_000);
        if (!eof) {
            throw new IllegalStateException("child " + process.pid() + "'s stdout did not end in 30 s");
        }
    }

    /** Every complete line the child wrote (call after {@link #kill} or {@link #awaitExit}). */
    List<String> lines() {
        List<String> rest = new ArrayList<>();
        lines.drainTo(rest);
        for (String l : rest) {
            if (!l.equals(EOF)) {
                all.add(l);
            }
        }
        return all;
    }

    /** Bytes of a last line cut without its newline. */
    int partialBytes() {
        return partialBytes;
    }

    String stderr() {
        try {
            return Files.exists(stderr) ? Files.readString(stderr, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(cannot read " + stderr + ": " + e + ")";
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
        }
    }
}
