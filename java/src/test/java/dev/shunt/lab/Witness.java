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
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
            byte[] out = p.getInputStream().readAllBytes();
            byte[] err = p.getErrorStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("timed out: " + cmd);
            }
            if (p.exitValue() != 0) {
                throw new AssertionError(cmd + " exited " + p.exitValue() + ": " + new String(err, StandardCharsets.UTF_8));
            }
            return new String(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new AssertionError("cannot run " + cmd, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted: " + cmd, e);
        }
    }

    /** Runs a command to completion (30 s at most) and returns its standard output whatever its exit code. */
    public static String runAllowingFailure(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("timed out: " + cmd);
            }
            return new String(out, StandardCharsets.UTF_8);
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
