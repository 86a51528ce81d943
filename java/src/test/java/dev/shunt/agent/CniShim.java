package dev.shunt.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Runs the real native/shunt-cni binary (target/shunt-cni, built by the module's compile phase) as
 * a runtime does: the CNI environment and nothing else, the network configuration on stdin.
 */
final class CniShim {
    static final Path BINARY = Path.of("target", "shunt-cni").toAbsolutePath();
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One run: exit code, stdout, stderr and how long it took. */
    record Run(int exit, String out, String err, long millis) {
        JsonNode json() {
            try {
                return JSON.readTree(out);
            } catch (IOException e) {
                throw new AssertionError("not JSON on stdout: '" + out + "' (stderr: " + err + ")", e);
            }
        }

        /** The CNI error code, after checking that the run failed with one error result on stdout. */
        int code() {
            assertThat(exit).as("exit of a failed call; stdout %s", out).isEqualTo(1);
            JsonNode error = json();
            assertThat(error.get("msg").asText()).isNotEmpty();
            assertThat(error.get("cniVersion").asText()).isIn("0.4.0", "1.0.0", "1.1.0");
            return error.get("code").asInt();
        }

        String details() {
            return json().path("details").asText();
        }

        Run ok() {
            assertThat(exit).as("exit; stdout %s stderr %s", out, err).isZero();
            return this;
        }
    }

    private CniShim() {}

    /** {@code pairs}: environment variables (KEY, VALUE, ...); a null value leaves that variable unset. */
    static Map<String, String> env(String... pairs) {
        Map<String, String> env = new HashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            if (pairs[i + 1] != null) {
                env.put(pairs[i], pairs[i + 1]);
            }
        }
        return env;
    }

    static Run run(Map<String, String> env, String stdin) {
        return run(env, stdin.getBytes(StandardCharsets.UTF_8));
    }

    static Run run(Map<String, String> env, byte[] stdin) {
        assertThat(Files.isExecutable(BINARY)).as("%s is built by 'mvn compile'", BINARY).isTrue();
        ProcessBuilder builder = new ProcessBuilder(BINARY.toString());
        builder.environment().clear();
        builder.environment().putAll(env);
        long start = System.nanoTime();
        try {
            Process p = builder.start();
            CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> {
                try {
                    return p.getErrorStream().readAllBytes();
                } catch (IOException e) {
                    return new byte[0];
                }
            });
            try (OutputStream in = p.getOutputStream()) {
                in.write(stdin);
            } catch (IOException e) {
                // it stopped reading (it may answer without its stdin, e.g. VERSION); its answer tells
            }
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("shunt-cni did not finish within 60 s");
            }
            return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8).strip(),
                    new String(err.get(10, TimeUnit.SECONDS), StandardCharsets.UTF_8), (System.nanoTime() - start) / 1_000_000);
        } catch (IOException | java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new AssertionError("cannot run " + BINARY, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
