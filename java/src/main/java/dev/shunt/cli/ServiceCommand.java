package dev.shunt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code shunt service add|del|list}: Services through the agent's API. Syntax errors are caught
 * here (exit 2); whether a name, ClusterIP or node port is free, and whether they are in range, is
 * the agent's to say (exit 1 with its message).
 */
@Command(name = "service", aliases = "svc", mixinStandardHelpOptions = true,
        description = "Create, delete and list Services (through the agent).",
        subcommands = {ServiceCommand.Add.class, ServiceCommand.Del.class, ServiceCommand.ListServices.class})
final class ServiceCommand implements Runnable {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** [NAME=]PORT[/PROTO][:TARGETPORT] */
    private static final Pattern PORT = Pattern.compile("(?:([a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?)=)?([0-9]{1,5})(?:/([A-Za-z]+))?(?::([0-9]{1,5}))?");
    private static final Pattern AFFINITY = Pattern.compile("(?i)(client-?ip)(?::([0-9]{1,5}))?");
    private static final Pattern IPV4 = Pattern.compile("(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}");

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing subcommand: add, del or list");
    }

    @Command(name = "add", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Create a Service; prints its ClusterIP (and, for a NodePort Service, its node ports in --port order).",
                    "Its endpoints are this node's pods whose labels match every --selector, kept current as pods come and go."})
    static final class Add implements Runnable {
        @Spec
        CommandSpec spec;
        @Mixin
        AgentSocket agent;

        @Parameters(paramLabel = "NAME", description = "A DNS label: lower-case letters, digits and '-'.")
        String name;

        @Option(names = "--port", required = true, paramLabel = "[NAME=]PORT/PROTO[:TARGETPORT]",
                description = "A port clients use, its protocol (tcp or udp; tcp if left out) and the pods' port "
                        + "(the same if left out), e.g. 80/tcp:8080 or dns=53/udp. Repeatable.")
        List<String> ports;

        @Option(names = "--selector", required = true, paramLabel = "KEY=VALUE",
                description = "A label the pods must carry. Repeatable: all must match.")
        LinkedHashMap<String, String> selector;

        @Option(names = "--type", paramLabel = "TYPE", description = "ClusterIP (default) or NodePort.")
        String type = "ClusterIP";

        @Option(names = "--node-port", paramLabel = "N",
                description = "The node port of the first --port, then of the second, ... (NodePort only; "
                        + "allocated from 30000-32767 when not given).")
        List<Integer> nodePorts;

        @Option(names = "--cluster-ip", paramLabel = "IP", description = "The ClusterIP (default: the lowest free one in 10.96.0.0/12).")
        String clusterIp;

        @Option(names = "--affinity", paramLabel = "client-ip[:SECONDS]|none",
                description = "ClientIP session affinity, for SECONDS (default 10800), or none (the default).")
        String affinity;

        @Option(names = "--external-traffic-policy", paramLabel = "POLICY",
                description = "Cluster (default) or Local: node-port traffic goes to this node's endpoints only, and "
                        + "the backend sees the client's address.")
        String externalPolicy;

        @Option(names = "--internal-traffic-policy", paramLabel = "POLICY",
                description = "Cluster (default) or Local: pods' ClusterIP traffic goes to their own node's endpoints only.")
        String internalPolicy;

        @Option(names = "--json", description = "Print the created Service as JSON.")
        boolean json;

        @Override
        public void run() {
            String kind = oneOf("--type", type, "ClusterIP", "NodePort");
            String external = externalPolicy == null ? null : oneOf("--external-traffic-policy", externalPolicy, "Cluster", "Local");
            String internal = internalPolicy == null ? null : oneOf("--internal-traffic-policy", internalPolicy, "Cluster", "Local");
            List<Integer> given = nodePorts == null ? List.of() : nodePorts;
            if (!given.isEmpty() && !kind.equals("NodePort")) {
                throw bad("--node-port needs --type NodePort");
            }
            if (given.size() > ports.size()) {
                throw bad(given.size() + " --node-port values for " + ports.size() + " --port values");
            }
            if ("Local".equals(external) && !kind.equals("NodePort")) {
                throw bad("--external-traffic-policy Local needs --type NodePort");
            }
            if (clusterIp != null && !IPV4.matcher(clusterIp).matches()) {
                throw bad("--cluster-ip '" + clusterIp + "' is not an IPv4 address");
            }
            ObjectNode body = JSON.createObjectNode().put("name", name).put("type", kind);
            if (clusterIp != null) {
                body.put("clusterIp", clusterIp);
            }
            ArrayNode portList = body.putArray("ports");
            for (int i = 0; i < ports.size(); i++) {
                ObjectNode p = parsePort(ports.get(i));
                if (i < given.size()) {
                    p.put("nodePort", given.get(i));
                }
                portList.add(p);
            }
            ObjectNode sel = body.putObject("selector");
            selector.forEach(sel::put);
            body.put("affinitySeconds", affinitySeconds());
            if (external != null) {
                body.put("externalTrafficPolicy", external);
            }
            if (internal != null) {
                body.put("internalTrafficPolicy", internal);
            }
            JsonNode created = agent.client().json("POST", "/v1/services", body.toString());
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(pretty(created));
                return;
            }
            StringBuilder line = new StringBuilder(created.get("clusterIp").asText());
            if (created.get("type").asText().equals("NodePort")) {
                for (JsonNode p : created.get("ports")) {
                    line.append(' ').append(p.get("nodePort").asInt());
                }
            }
            out.println(line);
        }

        private ObjectNode parsePort(String text) {
            Matcher m = PORT.matcher(text);
            if (!m.matches()) {
                throw bad("--port '" + text + "' is not [NAME=]PORT/PROTO[:TARGETPORT], e.g. 80/tcp:8080");
            }
            int port = Integer.parseInt(m.group(3));
            int target = m.group(5) == null ? port : Integer.parseInt(m.group(5));
            String protocol = m.group(4) == null ? "tcp" : m.group(4).toLowerCase(Locale.ROOT);
            if (port < 1 || port > 65535 || target < 1 || target > 65535) {
                throw bad("--port '" + text + "': ports are 1-65535");
            }
            if (!protocol.equals("tcp") && !protocol.equals("udp")) {
                throw bad("--port '" + text + "': the protocol is tcp or udp");
            }
            ObjectNode p = JSON.createObjectNode();
            if (m.group(1) != null) {
                p.put("name", m.group(1));
            }
            return p.put("protocol", protocol.toUpperCase(Locale.ROOT)).put("port", port).put("targetPort", target);
        }

        private int affinitySeconds() {
            if (affinity == null || affinity.equalsIgnoreCase("none")) {
                return 0;
            }
            Matcher m = AFFINITY.matcher(affinity);
            if (!m.matches()) {
                throw bad("--affinity '" + affinity + "' is not client-ip[:SECONDS] or none");
            }
            int seconds = m.group(2) == null ? 10800 : Integer.parseInt(m.group(2));
            if (seconds < 1 || seconds > 86400) {
                throw bad("--affinity timeout " + seconds + " s is outside 1-86400");
            }
            return seconds;
        }

        private String oneOf(String option, String value, String... allowed) {
            for (String a : allowed) {
                if (a.equalsIgnoreCase(value)) {
                    return a;
                }
            }
            throw bad(option + " '" + value + "' is not one of " + String.join(", ", allowed));
        }

        private ParameterException bad(String message) {
            return new ParameterException(spec.commandLine(), message);
        }
    }

    @Command(name = "del", aliases = "delete", mixinStandardHelpOptions = true,
            description = "Delete a Service (its flows are purged).")
    static final class Del implements Runnable {
        @Mixin
        AgentSocket agent;

        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        public void run() {
            agent.client().json("DELETE", "/v1/services/" + name, null);
        }
    }

    @Command(name = "list", aliases = "ls", mixinStandardHelpOptions = true,
            description = {"List Services: type, ClusterIP, ports (PORT/PROTO[:TARGETPORT]), node ports, affinity, selector;",
                    "then one line per endpoint: its pod, IP and conditions (ready, serving, terminating)."})
    static final class ListServices implements Runnable {
        @Spec
        CommandSpec spec;
        @Mixin
        AgentSocket agent;

        @Option(names = "--json", description = "Print JSON.")
        boolean json;

        @Override
        public void run() {
            JsonNode services = agent.client().json("GET", "/v1/services", null);
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(pretty(services));
                return;
            }
            String row = "%-20s %-10s %-15s %-24s %-14s %-18s %-20s %s%n";
            out.printf(row, "NAME", "TYPE", "CLUSTER-IP", "PORTS", "NODE-PORTS", "AFFINITY", "SELECTOR", "ENDPOINTS");
            for (JsonNode s : services) {
                List<String> ports = new ArrayList<>();
                List<String> nodePorts = new ArrayList<>();
                for (JsonNode p : s.get("ports")) {
                    String proto = p.get("protocol").asText().toLowerCase(Locale.ROOT);
                    String name = p.path("name").asText();
                    ports.add((name.isEmpty() ? "" : name + "=") + p.get("port").asInt() + "/" + proto
                            + (p.get("targetPort").asInt() != p.get("port").asInt() ? ":" + p.get("targetPort").asInt() : ""));
                    if (p.get("nodePort").asInt() != 0) {
                        nodePorts.add(p.get("nodePort").asInt() + "/" + proto);
                    }
                }
                int ready = 0;
                int terminating = 0;
                for (JsonNode e : s.get("endpoints")) {
                    ready += e.get("ready").asBoolean() ? 1 : 0;
                    terminating += e.get("terminating").asBoolean() ? 1 : 0;
                }
                String affinity = s.get("sessionAffinity").asText().equals("ClientIP")
                        ? "ClientIP(" + s.get("sessionAffinityTimeoutSeconds").asInt() + "s)" : "None";
                out.printf(row, s.get("name").asText(), s.get("type").asText(), s.get("clusterIp").asText(),
                        String.join(",", ports), nodePorts.isEmpty() ? "-" : String.join(",", nodePorts), affinity,
                        PodCommand.labels(s.get("selector")),
                        ready + " ready" + (terminating > 0 ? ", " + terminating + " terminating" : ""));
                for (JsonNode e : s.get("endpoints")) {
                    List<String> conditions = new ArrayList<>();
                    for (String c : new String[] {"ready", "serving", "terminating"}) {
                        if (e.get(c).asBoolean()) {
                            conditions.add(c);
                        }
                    }
                    out.printf("  endpoint %-24s %-15s %s%n", e.get("pod").asText(), e.get("ip").asText(),
                            conditions.isEmpty() ? "-" : String.join(",", conditions));
                }
            }
        }
    }

    static String pretty(JsonNode json) {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
