package dev.shunt.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.cli.CliTest.Result;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static dev.shunt.cli.CliTest.shunt;

/** Tests of agent processes: waiting on {@code shunt status --json} until a condition holds. */
final class AgentStatusPoll {
    private static final ObjectMapper JSON = new ObjectMapper();

    private AgentStatusPoll() {
    }

    /**
     * Polls the agent's status every 100 ms until {@code ok} holds, for at most {@code seconds}
     * (a liveness bound, not a timing: choose it above any lease TTL plus etcd's expiry check).
     */
    static JsonNode await(Path sock, long seconds, Predicate<JsonNode> ok, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            Result r = shunt("status", "--json", "--socket", sock.toString());
            if (r.exit() == 0) {
                last = JSON.readTree(r.out());
                if (ok.test(last)) {
                    return last;
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("not within " + seconds + " s: " + what + "; last status: " + last);
    }

    /**
     * Waits until the API of the agent process {@code p} answers on {@code sock}, for at most
     * {@code seconds}; if it does not (or the process exits), kills it and fails with its log.
     */
    static Process awaitApi(Process p, String node, Path sock, long seconds, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline && p.isAlive()) {
            if (shunt("status", "--json", "--socket", sock.toString()).exit() == 0) {
                return p;
            }
            Thread.sleep(100);
        }
        p.destroyForcibly();
        throw new AssertionError("agent " + node + " did not answer within " + seconds + " s (alive: " + p.isAlive() + "):\n"
                + Files.readString(log));
    }
}
