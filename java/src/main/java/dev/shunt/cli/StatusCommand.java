package dev.shunt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.agent.AgentConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;

/** {@code shunt status}: the node the agent runs, its pods and its overlay peers. */
@Command(name = "status", mixinStandardHelpOptions = true, description = "Show the agent's node, pods and overlay.")
final class StatusCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Option(names = "--socket", paramLabel = "PATH", description = "The agent's API socket (default: ${DEFAULT-VALUE}).")
    Path socket = AgentConfig.DEFAULT_SOCKET;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override
    public void run() {
        JsonNode status = new AgentClient(socket).json("GET", "/v1/status", null);
        try {
            ObjectMapper mapper = new ObjectMapper();
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(mapper.writerWithDefaultPrettyPrinter().writeValueAsString(status));
                return;
            }
            out.printf("node      %s (pods %s)%n", status.path("node").asText(), status.path("podCidr").asText());
            out.printf("pods      %d%n", status.path("pods").asInt());
            out.printf("uptime    %d s%n", status.path("uptimeSeconds").asLong());
            JsonNode overlay = status.path("overlay");
            if (overlay.isMissingNode()) {
                out.println("overlay   none (a node alone; start the agent with --underlay-ip to join others)");
            } else {
                out.printf("overlay   %s on %s, VNI %d, UDP %d, MTU %d, VTEP %s%n", overlay.path("device").asText(),
                        overlay.path("underlayIp").asText(), overlay.path("vni").asInt(), overlay.path("port").asInt(),
                        overlay.path("mtu").asInt(), overlay.path("vtepMac").asText());
                for (JsonNode p : overlay.path("peers")) {
                    out.printf("  peer    %-16s %-15s pods %-18s VTEP %s%n", p.path("node").asText(), p.path("underlayIp").asText(),
                            p.path("podCidr").asText(), p.path("vtepMac").asText());
                }
            }
            JsonNode etcd = status.path("etcd");
            if (etcd.isMissingNode()) {
                out.println("etcd      none (nodes come from manifests: shunt apply)");
            } else {
                // The store's line names the endpoint: "connected since T (URL)" or "retrying since T (URL): error".
                out.printf("etcd      %s%n", etcd.path("store").asText());
                out.printf("  lease   %s %s (TTL %d s) holding %s under %s; %d nodes at watch revision %d%n",
                        etcd.path("lease").asText(), etcd.path("leaseId").asText(), etcd.path("leaseTtlSeconds").asLong(),
                        etcd.path("subnet").asText(), etcd.path("prefix").asText(), etcd.path("nodes").asInt(),
                        etcd.path("watchRevision").asLong());
                if (etcd.has("appliedRevision")) {
                    out.printf("  state   %d Services, %d pods of other nodes; applied revision %d%s%n",
                            etcd.path("services").asInt(), etcd.path("remotePods").asInt(), etcd.path("appliedRevision").asLong(),
                            etcd.path("resumedFromRevision").asLong() > 0
                                    ? " (resumed after " + etcd.path("resumedFromRevision").asLong() + ")" : "");
                }
                if (etcd.has("podError")) {
                    out.printf("  pods    not written to etcd: %s%n", etcd.path("podError").asText());
                }
                if (etcd.has("lost")) {
                    out.printf("  LOST    %s%n", etcd.path("lost").asText());
                }
                if (etcd.has("leaseError")) {
                    out.printf("  error   %s%n", etcd.path("leaseError").asText());
                }
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot print the agent's answer: " + e.getMessage(), e);
        }
    }
}
