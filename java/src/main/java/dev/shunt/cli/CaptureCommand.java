package dev.shunt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.nio.file.Path;

/**
 * {@code shunt capture}: the agent records the next frames a fast-path port receives and sends and
 * writes them as a pcap file (readable by tcpdump -r, Wireshark). The file is written by the agent,
 * so the path is resolved here to an absolute one.
 */
@Command(name = "capture", mixinStandardHelpOptions = true,
        description = {"Record the next N frames a fast-path port receives and sends (before and after the fast path "
                + "rewrites them) into a pcap file written by the agent.",
                "Waits until N frames are captured or the timeout passes, then prints how many were written."})
final class CaptureCommand implements Runnable {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;
    @Mixin
    AgentSocket agent;

    @Option(names = "--port", required = true, paramLabel = "NAME", description = "A pod's name, or 'host' for the host port.")
    String port;

    @Option(names = "-c", required = true, paramLabel = "N", description = "How many frames (1-1000000).")
    int count;

    @Option(names = "-w", required = true, paramLabel = "FILE.pcap", description = "Where the agent writes the pcap file.")
    Path file;

    @Option(names = "--snaplen", paramLabel = "BYTES", description = "Bytes kept of each frame (default: ${DEFAULT-VALUE}).")
    int snaplen = 2048;

    @Option(names = "--timeout", paramLabel = "SECONDS", description = "Give up waiting after this long and write what was captured (default: ${DEFAULT-VALUE}).")
    int timeoutSeconds = 60;

    @Override
    public void run() {
        if (count < 1 || count > 1_000_000) {
            throw new ParameterException(spec.commandLine(), "-c " + count + " is outside 1-1000000");
        }
        if (snaplen < 64 || snaplen > 262144) {
            throw new ParameterException(spec.commandLine(), "--snaplen " + snaplen + " is outside 64-262144");
        }
        if (timeoutSeconds < 1 || timeoutSeconds > 86400) {
            throw new ParameterException(spec.commandLine(), "--timeout " + timeoutSeconds + " is outside 1-86400");
        }
        Path target = file.toAbsolutePath().normalize();
        ObjectNode body = JSON.createObjectNode().put("port", port).put("count", count).put("file", target.toString())
                .put("snaplen", snaplen).put("timeoutSeconds", timeoutSeconds);
        AgentClient client = agent.client();
        JsonNode status = client.json("POST", "/v1/captures", body.toString());
        long id = status.get("id").asLong();
        spec.commandLine().getErr().printf("shunt: capturing %d frames on %s to %s%n", count, port, target);
        long deadline = System.nanoTime() + (timeoutSeconds + 10) * 1_000_000_000L;
        while (status.get("state").asText().equals("capturing")) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("the agent did not finish capture " + id + " in time");
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for capture " + id);
            }
            status = client.json("GET", "/v1/captures/" + id, null);
        }
        if (!status.get("state").asText().equals("written")) {
            throw new IllegalStateException(status.path("error").asText("capture " + id + " failed"));
        }
        int captured = status.get("captured").asInt();
        spec.commandLine().getOut().printf("%d frames captured to %s%s%n", captured, target,
                captured < count ? " (timed out after " + timeoutSeconds + " s waiting for " + count + ")" : "");
    }
}
