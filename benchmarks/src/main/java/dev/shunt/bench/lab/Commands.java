package dev.shunt.bench.lab;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the lab's external tools (ip, iptables-restore, nft, conntrack), failing loudly with their output. */
final class Commands {
    private static final long TIMEOUT_SECONDS = 600;

    private Commands() {
    }

    /** Runs {@code command}; returns stdout; a non-zero exit throws with stderr. */
    static String run(String... command) {
        return feed(null, command);
    }

    /** Runs {@code command} with {@code input} on its stdin; returns stdout; a non-zero exit throws with stderr. */
    static String feed(String input, String... command) {
        Process process;
        try {
            process = new ProcessBuilder(command).redirectErrorStream(false).start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + String.join(" ", command) + ": " + e.getMessage(), e);
        }
        try {
            // stdin is fed on its own thread: a large ruleset would otherwise fill the pipe while
            // the tool is blocked writing its own output.
            Thread feeder = Thread.ofPlatform().daemon().start(() -> {
                try (OutputStream in = process.getOutputStream()) {
                    if (input != null) {
                        in.write(input.getBytes(StandardCharsets.UTF_8));
                    }
                } catch (IOException ignored) {
                    // the tool exited early; its exit status says why
                }
            });
            byte[][] err = new byte[1][];
            Thread errReader = Thread.ofPlatform().daemon().start(() -> err[0] = readAll(process.getErrorStream()));
            byte[] out = readAll(process.getInputStream());
            if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " did not finish in " + TIMEOUT_SECONDS + " s");
            }
            feeder.join();
            errReader.join();
            if (process.exitValue() != 0) {
                throw new IllegalStateException(abbreviate(command) + " failed (exit " + process.exitValue() + "): "
                        + new String(err[0], StandardCharsets.UTF_8).strip());
            }
            return new String(out, StandardCharsets.UTF_8);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + String.join(" ", command), e);
        }
    }

    /** Like {@link #run} but a failure is ignored (for clean-up of things that may already be gone). */
    static void runQuietly(String... command) {
        try {
            run(command);
        } catch (RuntimeException ignored) {
            // best effort
        }
    }

    /** {@code ip netns exec NS command...}: runs a tool inside a lab namespace (netfilter tools have no -n flag). */
    static String[] in(String namespace, String... command) {
        String[] full = new String[command.length + 4];
        full[0] = "ip";
        full[1] = "netns";
        full[2] = "exec";
        full[3] = namespace;
        System.arraycopy(command, 0, full, 4, command.length);
        return full;
    }

    private static String abbreviate(String[] command) {
        String text = String.join(" ", List.of(command));
        return text.length() > 200 ? text.substring(0, 200) + "..." : text;
    }

    private static byte[] readAll(InputStream in) {
        try (in) {
            return in.readAllBytes();
        } catch (IOException e) {
            return ("(unreadable: " + e.getMessage() + ")").getBytes(StandardCharsets.UTF_8);
        }
    }
}
