package dev.shunt.state;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A Kubernetes {@code v1} Service manifest, read into a {@link Service} and written from one.
 *
 * <p>Decisions where Shunt differs from Kubernetes, each refused with the field's path rather
 * than half-done: type LoadBalancer and ExternalName (ClusterIP or NodePort only); {@code
 * clusterIP: None}, a headless Service (no virtual IP: Kubernetes leaves those to DNS, which
 * Shunt does not serve, and kube-proxy programs nothing for them either); a named {@code
 * targetPort} (Shunt's pods declare no container ports to look the name up in); SCTP; IPv6 and
 * dual stack. Services need a selector (their endpoints are the pods it selects). Fields that
 * Kubernetes has but Shunt does not implement (externalIPs, loadBalancer*, ...) are ignored with a
 * warning, as are unknown ones; server-set fields ({@code status}, {@code metadata.uid}, ...)
 * and descriptive ones (labels, annotations, appProtocol) are ignored silently, so the output of
 * {@code kubectl get -o yaml} applies.
 */
final class ServiceManifest {
    static final String API_VERSION = "v1";
    /** Kubernetes Service spec fields Shunt does not implement: ignored with a warning that says so. */
    private static final Set<String> NOT_SUPPORTED = Set.of("externalIPs", "externalName", "loadBalancerIP",
            "loadBalancerSourceRanges", "loadBalancerClass", "healthCheckNodePort", "allocateLoadBalancerNodePorts",
            "publishNotReadyAddresses", "trafficDistribution");
    private static final int MAX_AFFINITY_SECONDS = 86400;

    private ServiceManifest() {}

    /** The Service named {@code name} from the manifest's fields (metadata done); empty if anything is wrong. */
    static Optional<Service> read(Fields root, String name) {
        Problems problems = root.problems();
        int errorsBefore = problems.errorCount();
        root.ignore("status");
        Optional<Fields> spec = root.requiredObject("spec");
        if (spec.isEmpty()) {
            return Optional.empty();
        }
        Fields s = spec.get();
        String type = readType(s);
        String clusterIp = readClusterIp(s);
        readIpFamilies(s);
        Optional<Map<String, String>> selector = s.stringMap("selector");
        if (selector.isPresent() && selector.get().isEmpty()) {
            problems.error(s.pathOf("selector"), "missing: Shunt's Services take their endpoints from the pods a selector picks");
        } else {
            selector.ifPresent(labels -> ValueRules.labels(problems, s.pathOf("selector"), labels, true));
        }
        List<Service.Port> ports = readPorts(s, type);
        int affinity = readAffinity(s);
        String external = s.oneOf("externalTrafficPolicy", Service.CLUSTER, Service.LOCAL).orElse(Service.CLUSTER);
        if (external.equals(Service.LOCAL) && Service.CLUSTER_IP.equals(type)) {
            problems.error(s.pathOf("externalTrafficPolicy"), "Local applies to NodePort Services (this one is " + type + ")");
        }
        String internal = s.oneOf("internalTrafficPolicy", Service.CLUSTER, Service.LOCAL).orElse(Service.CLUSTER);
        s.finish(NOT_SUPPORTED);
        if (problems.errorCount() != errorsBefore) {
            return Optional.empty();
        }
        return Optional.of(new Service(name, type, clusterIp, ports, selector.orElseThrow(), affinity, external, internal));
    }

    /** The type; null if it is wrong (and the checks that depend on it are left out: one error, not three). */
    private static String readType(Fields s) {
        if (s.has("type") && !s.raw("type").orElseThrow().isTextual()) {
            s.string("type");
            return null;
        }
        Optional<String> type = s.string("type");
        if (type.isEmpty() || type.get().equals(Service.CLUSTER_IP) || type.get().equals(Service.NODE_PORT)) {
            return type.orElse(Service.CLUSTER_IP);
        }
        s.problems().error(s.pathOf("type"), Fields.quote(type.get()) + " is not supported: ClusterIP or NodePort"
                + (type.get().equals("LoadBalancer") ? " (a NodePort Service behind a load balancer of your own does the same)" : ""));
        return null;
    }

    private static String readClusterIp(Fields s) {
        Problems problems = s.problems();
        Optional<String> clusterIp = s.string("clusterIP");
        List<String> clusterIps = new ArrayList<>();
        s.list("clusterIPs").ifPresent(list -> {
            for (Fields.Element e : list) {
                if (e.value().isTextual()) {
                    clusterIps.add(e.value().textValue());
                } else {
                    problems.error(e.path(), "expected a string, not " + Fields.describe(e.value()));
                }
            }
        });
        if (clusterIps.size() > 1) {
            problems.error(s.pathOf("clusterIPs"), "has " + clusterIps.size() + " addresses; Shunt's Services are single-stack IPv4");
        }
        if (clusterIps.size() == 1 && clusterIp.isPresent() && !clusterIps.getFirst().equals(clusterIp.get())) {
            problems.error(s.pathOf("clusterIPs"), "[" + Fields.quote(clusterIps.getFirst()) + "] differs from clusterIP "
                    + Fields.quote(clusterIp.get()));
        }
        String given = clusterIp.orElse(clusterIps.isEmpty() ? "" : clusterIps.getFirst());
        String at = s.pathOf(clusterIp.isPresent() ? "clusterIP" : "clusterIPs");
        if (given.isEmpty()) {
            return "";
        }
        if (given.equals("None")) {
            problems.error(at, "None (a headless Service) is not supported: a headless Service has no virtual IP to "
                    + "balance, only DNS records, and Shunt serves no DNS");
            return "";
        }
        return ValueRules.ipv4(problems, at, given).orElse("");
    }

    /** Shunt's Services are single-stack IPv4: what these fields say must agree. */
    private static void readIpFamilies(Fields s) {
        s.list("ipFamilies").ifPresent(list -> {
            for (Fields.Element e : list) {
                if (!e.value().isTextual() || !e.value().textValue().equals("IPv4")) {
                    s.problems().error(e.path(), Fields.describe(e.value()) + " is not supported: Shunt's Services are IPv4");
                }
            }
        });
        s.oneOf("ipFamilyPolicy", "SingleStack", "PreferDualStack", "RequireDualStack").ifPresent(policy -> {
            if (policy.equals("RequireDualStack")) {
                s.problems().error(s.pathOf("ipFamilyPolicy"), "RequireDualStack is not supported: Shunt's Services are single-stack IPv4");
            }
        });
    }

    private static List<Service.Port> readPorts(Fields s, String type) {
        Problems problems = s.problems();
        Optional<List<Fields.Element>> list = s.list("ports");
        if (list.isEmpty()) {
            return List.of();
        }
        if (list.get().isEmpty()) {
            problems.error(s.pathOf("ports"), "missing: a Service needs at least one port");
            return List.of();
        }
        List<Service.Port> ports = new ArrayList<>();
        Map<String, String> names = new HashMap<>();
        Map<String, String> numbers = new HashMap<>();
        Map<String, String> nodePorts = new HashMap<>();
        for (Fields.Element element : list.get()) {
            Optional<Fields> port = Fields.of(element.value(), element.path(), problems);
            if (port.isEmpty()) {
                continue;
            }
            Fields p = port.get();
            String index = element.path().substring(element.path().lastIndexOf('['));
            String name = p.string("name").flatMap(n -> n.isEmpty() ? Optional.of(n)
                    : ValueRules.name(problems, p.pathOf("name"), n, ValueRules.PORT_NAME, "port",
                    "1-63 lower-case letters, digits and '-', starting and ending with a letter or digit")).orElse("");
            if (!name.isEmpty() && names.putIfAbsent(name, index) != null) {
                problems.error(p.pathOf("name"), Fields.quote(name) + " is the name of ports" + names.get(name) + " too");
            }
            String protocol = p.string("protocol").orElse("TCP");
            if (!protocol.equals("TCP") && !protocol.equals("UDP")) {
                problems.error(p.pathOf("protocol"), Fields.quote(protocol) + " is not supported: TCP or UDP");
            }
            OptionalInt number = p.integer("port", 1, 65535, "is not a port number (1-65535)");
            if (!p.has("port")) {
                problems.error(p.pathOf("port"), "missing");
            }
            if (number.isPresent() && numbers.putIfAbsent(protocol + "/" + number.getAsInt(), index) != null) {
                problems.error(p.pathOf("port"), number.getAsInt() + "/" + protocol + " is the port of ports"
                        + numbers.get(protocol + "/" + number.getAsInt()) + " too");
            }
            int target = readTargetPort(p, number.orElse(0));
            OptionalInt nodePort = p.integer("nodePort", 30000, 32767, "is not a node port (30000-32767)");
            if (nodePort.isPresent() && Service.CLUSTER_IP.equals(type)) {
                problems.error(p.pathOf("nodePort"), "a node port needs type NodePort (this Service is " + type + ")");
            }
            if (nodePort.isPresent() && nodePorts.putIfAbsent(protocol + "/" + nodePort.getAsInt(), index) != null) {
                problems.error(p.pathOf("nodePort"), nodePort.getAsInt() + "/" + protocol + " is the node port of ports"
                        + nodePorts.get(protocol + "/" + nodePort.getAsInt()) + " too");
            }
            p.ignore("appProtocol");
            p.finish();
            ports.add(new Service.Port(name, protocol, number.orElse(0), target, nodePort.orElse(0)));
        }
        return ports;
    }

    /** The target port: a number (the port itself if left out); a named one is refused. */
    private static int readTargetPort(Fields p, int port) {
        Optional<JsonNode> raw = p.raw("targetPort");
        if (raw.isPresent() && raw.get().isTextual()) {
            String name = raw.get().textValue();
            p.problems().error(p.pathOf("targetPort"), Fields.quote(name) + " is a named port; Shunt takes target ports "
                    + "as numbers only (its pods declare no ports to look names up in)"
                    + (name.strip().matches("[0-9]{1,5}") ? ": write it without quotes" : ""));
            return port;
        }
        return p.integer("targetPort", 1, 65535, "is not a port number (1-65535)").orElse(port);
    }

    private static int readAffinity(Fields s) {
        Problems problems = s.problems();
        String affinity = s.oneOf("sessionAffinity", "None", "ClientIP").orElse("None");
        Optional<Fields> config = s.object("sessionAffinityConfig");
        if (config.isEmpty()) {
            return affinity.equals("ClientIP") ? Service.DEFAULT_AFFINITY_SECONDS : 0;
        }
        if (!affinity.equals("ClientIP")) {
            problems.error(s.pathOf("sessionAffinityConfig"), "applies to sessionAffinity ClientIP only (this Service has "
                    + affinity + ")");
        }
        int seconds = Service.DEFAULT_AFFINITY_SECONDS;
        Optional<Fields> clientIp = config.get().object("clientIP");
        if (clientIp.isPresent()) {
            seconds = clientIp.get().integer("timeoutSeconds", 1, MAX_AFFINITY_SECONDS, "is outside 1-" + MAX_AFFINITY_SECONDS
                    + " seconds").orElse(seconds);
            clientIp.get().finish();
        }
        config.get().finish();
        return affinity.equals("ClientIP") ? seconds : 0;
    }

    /** The manifest of {@code service}; with {@code endpoints} (not null) under {@code status}, which reading ignores. */
    static ObjectNode write(Service service, List<Endpoint> endpoints) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode out = f.objectNode().put("apiVersion", API_VERSION).put("kind", Kind.SERVICE.manifestKind());
        out.putObject("metadata").put("name", service.name());
        ObjectNode spec = out.putObject("spec");
        spec.put("type", service.type());
        if (!service.clusterIp().isEmpty()) {
            spec.put("clusterIP", service.clusterIp());
        }
        ObjectNode selector = spec.putObject("selector");
        service.selector().forEach(selector::put);
        var ports = spec.putArray("ports");
        for (Service.Port p : service.ports()) {
            ObjectNode port = ports.addObject();
            if (!p.name().isEmpty()) {
                port.put("name", p.name());
            }
            port.put("protocol", p.protocol()).put("port", p.port()).put("targetPort", p.targetPort());
            if (p.nodePort() != 0) {
                port.put("nodePort", p.nodePort());
            }
        }
        spec.put("sessionAffinity", service.affinityTimeoutSeconds() > 0 ? "ClientIP" : "None");
        if (service.affinityTimeoutSeconds() > 0) {
            spec.putObject("sessionAffinityConfig").putObject("clientIP").put("timeoutSeconds", service.affinityTimeoutSeconds());
        }
        if (service.type().equals(Service.NODE_PORT)) {
            spec.put("externalTrafficPolicy", service.externalTrafficPolicy());
        }
        spec.put("internalTrafficPolicy", service.internalTrafficPolicy());
        if (endpoints != null) {
            var list = out.putObject("status").putArray("endpoints");
            for (Endpoint e : endpoints) {
                list.addObject().put("pod", e.pod()).put("node", e.node()).put("ip", e.ip())
                        .put("ready", e.ready()).put("serving", e.serving()).put("terminating", e.terminating());
            }
        }
        return out;
    }
}
