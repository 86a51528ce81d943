package dev.shunt.cni;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * A plugin Shunt delegates to (an IPAM plugin such as {@code host-local}), executed as the spec's
 * section 4 says: found in CNI_PATH, given the same CNI_* environment (CNI_COMMAND set to the verb)
 * and the whole network configuration on stdin; its stdout is its result, its stderr goes to the
 * agent's stderr. It gets {@link #TIMEOUT} to answer, then it is killed.
 */
final class DelegatedPlugin {
    static final long TIMEOUT_SECONDS = 10;
    /** What the delegated plugin may need to find its own helpers. */
    private static final String PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private final String type;
    private final Path executable;

    private DelegatedPlugin(String type, Path executable) {
        this.type = type;
        this.executable = executable;
    }

    /** The plugin {@code type} from the first CNI_PATH directory that has it as an executable file. */
    static DelegatedPlugin find(String type, List<Path> cniPath) {
        if (cniPath.isEmpty()) {
            throw new CniError(CniError.INVALID_ENVIRONMENT, "invalid environment",
                    "CNI_PATH is not set, and the ipam plugin '" + type + "' must be found in it");
        }
        for (Path dir : cniPath) {
            Path candidate = dir.resolve(type);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return new DelegatedPlugin(type, candidate);
            }
        }
        throw new CniError(CniError.DELEGATED_PLUGIN_FAILED, "delegated plugin not found",
                "no executable '" + type + "' in CNI_PATH " + cniPath);
    }

    String type() {
        return type;
    }

    /**
     * Runs the plugin for {@code command} and returns its parsed stdout (null when it printed
     * nothing, as DEL, CHECK and GC may). An error result becomes that CniError (its own code);
     * anything else that goes wrong is error 112.
     *
     * @param env the caller's CNI_* variables; {@code overrides} replace or (null values) remove some
     */
    JsonNode run(String command, Map<String, String> env, Map<String, String> overrides, byte[] stdin) {
        ProcessBuilder builder = new ProcessBuilder(executable.toString());
        Map<String, String> childEnv = builder.environment();
        childEnv.clear();
        childEnv.put("PATH", PATH);
        childEnv.putAll(env);
        childEnv.put("CNI_COMMAND", command);
        overrides.forEach((k, v) -> {
            if (v == null) {
                childEnv.remove(k);
            } else {
                childEnv.put(k, v);
            }
        });
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw failed(command, "cannot start " + executable + ": " + e.getMessage());
        }
        try {
            CompletableFuture<byte[]> out = drain(process.getInputStream());
            CompletableFuture<byte[]> err = drain(process.getErrorStream());
            try (OutputStream in = process.getOutputStream()) {
                in.write(stdin);
            } catch (IOException e) {
                // it exited without reading everything: its answer says why
            }
            if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                throw failed(command, executable + " did not finish within " + TIMEOUT_SECONDS + " s (killed)");
            }
            String stdout = new String(out.get(TIMEOUT_SECONDS, TimeUnit.SECONDS), StandardCharsets.UTF_8).strip();
            String stderr = new String(err.get(TIMEOUT_SECONDS, TimeUnit.SECONDS), StandardCharsets.UTF_8).strip();
            if (!stderr.isEmpty()) {
                System.err.println("shunt agent: " + type + " " + command + ": " + stderr);
            }
            JsonNode answer = null;
            if (!stdout.isEmpty()) {
                try {
                    answer = NetworkConfig.JSON.readTree(stdout);
                } catch (IOException e) {
                    throw failed(command, type + " exited " + process.exitValue() + " with output that is not JSON: "
                            + CniVersion.abbreviate(stdout) + excerpt(stderr));
                }
            }
            if (process.exitValue() != 0) {
                if (answer != null && answer.isObject() && answer.has("code")) {
                    throw CniError.parse(answer, type + " " + command);
                }
                throw failed(command, type + " exited " + process.exitValue() + " without a CNI error" + excerpt(stderr));
            }
            return answer;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw failed(command, "interrupted while waiting for " + executable);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            throw failed(command, "cannot read the output of " + executable + ": " + e);
        } finally {
            process.destroyForcibly();
        }
    }

    /** Whether the plugin's VERSION lists {@code version} (a plugin that cannot say does not). */
    boolean speaks(CniVersion version, Map<String, String> env) {
        return supported(version, env).contains(version.toString());
    }

    /** The newest version up to {@code atMost} that the plugin's VERSION lists and Shunt speaks, if any. */
    java.util.Optional<CniVersion> newestUpTo(CniVersion atMost, Map<String, String> env) {
        List<String> theirs = supported(atMost, env);
        return CniVersion.SUPPORTED.reversed().stream()
                .filter(v -> v.compareTo(atMost) <= 0)
                .filter(v -> theirs.contains(v.toString()))
                .findFirst();
    }

    private List<String> supported(CniVersion asking, Map<String, String> env) {
        try {
            JsonNode answer = run("VERSION", env, Map.of(), ("{\"cniVersion\":\"" + asking + "\"}").getBytes(StandardCharsets.UTF_8));
            List<String> out = new java.util.ArrayList<>();
            if (answer != null) {
                answer.path("supportedVersions").forEach(v -> out.add(v.asText()));
            }
            return out;
        } catch (CniError e) {
            return List.of();
        }
    }

    private CniError failed(String command, String details) {
        return new CniError(CniError.DELEGATED_PLUGIN_FAILED, "delegated plugin " + type + " failed on " + command, details);
    }

    private static String excerpt(String stderr) {
        return stderr.isEmpty() ? "" : "; stderr: " + CniVersion.abbreviate(stderr);
    }

    private static CompletableFuture<byte[]> drain(InputStream stream) {
        CompletableFuture<byte[]> result = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try (stream) {
                result.complete(stream.readAllBytes());
            } catch (IOException e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }
}
