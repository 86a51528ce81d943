package dev.shunt.lab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The independent witness: iproute2's and ethtool's own JSON output, read in tests to check what
 * Shunt's netlink client did (and never used by main code).
 */
public final class Witness {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Witness() {}

    /** {@code ip -j -d -n NS ARGS...} parsed; an empty output is an empty array. */
    public static JsonNode ip(String ns, String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "-j", "-d", "-n", ns));
        cmd.addAll(List.of(args));
        return json(cmd);
    }

    /** {@code bridge -j -n NS ARGS...} parsed. */
    public static JsonNode bridge(String ns, String... args) {
        List<String> cmd = new ArrayList<>(List.of("bridge", "-j", "-n", ns));
        cmd.addAll(List.of(args));
        return json(cmd);
    }

    /** {@code tc -j -n NS ARGS...} parsed. */
    public static JsonNode tc(String ns, String... args) {
        List<String> cmd = new ArrayList<>(List.of("tc", "-j", "-n", ns));
        cmd.addAll(List.of(args));
        return json(cmd);
    }

    /** {@code ip netns exec NS ethtool --json ARGS...} parsed. */
    public static JsonNode ethtool(String ns, String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns, "ethtool", "--json"));
        cmd.addAll(List.of(args));
        return json(cmd);
    }

    /** Runs a command to completion (30 s at most) and returns its standard output; throws on a non-zero exit. */
    public static String run(List<String> cmd) {
        Finished f = exec(cmd, false);
        if (f.exit() != 0) {
            throw new AssertionError(cmd + " exited " + f.exit() + ": " + f.err());
        }
        return f.out();
    }

    /** Runs a command to completion (30 s at most) and returns its output (stderr included) whatever its exit code. */
    public static String runAllowingFailure(List<String> cmd) {
        return exec(cmd, true).out();
    }

    private record Finished(int exit, String out, String err) {}

    private static Finished exec(List<String> cmd, boolean mergeStderr) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(mergeStderr).start();
            byte[] out = p.getInputStream().readAllBytes();
            byte[] err = mergeStderr ? new byte[0] : p.getErrorStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("timed out: " + cmd);
            }
            return new Finished(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new AssertionError("cannot run " + cmd, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted: " + cmd, e);
        }
    }

    private static JsonNode json(List<String> cmd) {
        String out = run(cmd).strip();
        try {
            return out.isEmpty() ? JSON.createArrayNode() : JSON.readTree(out);
        } catch (IOException e) {
            throw new AssertionError("not JSON from " + cmd + ": " + out, e);
        }
    }
}
