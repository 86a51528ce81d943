package dev.shunt.agent;

import dev.shunt.ipam.Cidr;
import dev.shunt.service.Endpoint;
import dev.shunt.service.Protocol;
import dev.shunt.service.Service;
import dev.shunt.service.ServicePort;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The node's Services: validation of requests, ClusterIP and node-port allocation, and the
 * endpoints of each Service (the pods whose labels match its selector). Pure logic, no kernel and
 * no files: the agent persists what this accepts ({@link ServiceStore}) and publishes what
 * {@link #resolve} returns to the fast path. Not thread-safe (the agent serialises changes).
 *
 * <p>ClusterIPs come from {@link AgentConfig#SERVICE_CIDR}, lowest free address first. Never
 * handed out: the network address, the last address, and {@value #KUBERNETES_IP}, which Kubernetes
 * keeps for the "kubernetes" Service (the API server's); a request may still name it explicitly,
 * as that Service will. Node ports come from {@value ServicePort#NODE_PORT_MIN}-{@value
 * ServicePort#NODE_PORT_MAX}, lowest free first; as in Kubernetes a number belongs to one Service
 * (whatever the protocol), which may use it for both TCP and UDP.
 *
 * <p>Why not the {@code ipam} package's store: it picks the next free address itself and cannot
 * claim a requested one (a {@code --cluster-ip}), and a second durable store would have to be kept
 * in step with the Service records across crashes (allocate, then save the Service: a kill between
 * the two leaks the address). Here the saved Services are the allocations.
 */
final class ServiceRegistry {
    static final String KUBERNETES_IP = "10.96.0.1";
    private static final Cidr CIDR = AgentConfig.SERVICE_CIDR;
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final int MAX_AFFINITY_SECONDS = 86400;

    private final String node;
    private final Map<String, ServiceSpec> services = new TreeMap<>();

    /** One endpoint as the API shows it: the pod behind it and its conditions. */
    record EndpointView(String pod, String ip, String node, boolean ready, boolean serving, boolean terminating) {}

    /** A Service as the API shows it: its spec and its current endpoints. */
    record ServiceView(String name, String type, String clusterIp, List<ServiceSpec.Port> ports, Map<String, String> selector,
                       String sessionAffinity, int sessionAffinityTimeoutSeconds, String externalTrafficPolicy,
                       String internalTrafficPolicy, List<EndpointView> endpoints, long createdAtMillis) {}

    ServiceRegistry(String node, Collection<ServiceSpec> saved) {
        this.node = node;
        for (ServiceSpec s : saved) {
            services.put(s.name(), s);
        }
    }

    Collection<ServiceSpec> all() {
        return services.values();
    }

    ServiceSpec get(String name) {
        return services.get(name);
    }

    /**
     * Checks {@code request} and completes it with the ClusterIP and node ports it lacks; the
     * result is not registered yet ({@link #put} once it is saved). Bad input throws
     * {@link IllegalArgumentException}; a name, address or node port that is taken throws a 409
     * {@link ApiServer.Refusal}.
     */
    ServiceSpec prepare(ServiceSpec request, long nowMillis) {
        String name = request.name();
        if (name == null || !DNS_LABEL.matcher(name).matches()) {
            throw new IllegalArgumentException("invalid Service name '" + name
                    + "': a DNS label (lower-case letters, digits and '-', starting with a letter, at most 63)");
        }
        if (services.containsKey(name)) {
            throw new ApiServer.Refusal(409, "Service '" + name + "' exists already");
        }
        String type = typeOf(request.type());
        String external = policyOf("externalTrafficPolicy", request.externalTrafficPolicy());
        String internal = policyOf("internalTrafficPolicy", request.internalTrafficPolicy());
        if (type.equals(ServiceSpec.CLUSTER_IP) && external.equals(ServiceSpec.LOCAL)) {
            throw new IllegalArgumentException("externalTrafficPolicy Local applies to NodePort Services only (Service '"
                    + name + "' is ClusterIP)");
        }
        if (request.selector().isEmpty()) {
            throw new IllegalArgumentException("Service '" + name + "' needs a selector (at least one label key=value)");
        }
        request.selector().forEach((k, v) -> {
            if (k.isBlank() || v == null || v.isBlank()) {
                throw new IllegalArgumentException("selector entries need a key and a value, not '" + k + "=" + v + "'");
            }
        });
        if (request.affinitySeconds() < 0 || request.affinitySeconds() > MAX_AFFINITY_SECONDS) {
            throw new IllegalArgumentException("session affinity timeout " + request.affinitySeconds() + " s is outside 0-"
                    + MAX_AFFINITY_SECONDS);
        }
        List<ServiceSpec.Port> ports = checkPorts(name, type, request.ports());
        String clusterIp = claimClusterIp(request.clusterIp());
        ports = allocateNodePorts(ports, type.equals(ServiceSpec.NODE_PORT));
        return new ServiceSpec(name, clusterIp, type, ports, request.selector(), request.affinitySeconds(), external, internal,
                nowMillis);
    }

    /**
     * Checks {@code request} as the new version of the registered Service of the same name (an
     * apply that changes it in place), as {@link #prepare} checks a new one. It keeps its ClusterIP,
     * which cannot change (as in Kubernetes: delete the Service and create it again), its creation
     * time, and the node port of every port it keeps (same number and protocol) that asks for none.
     * The result is not registered yet ({@link #put}); equal to the registered one if nothing changes.
     */
    ServiceSpec prepareReplacement(ServiceSpec request, long nowMillis) {
        ServiceSpec current = services.get(request.name());
        if (current == null) {
            throw new ApiServer.Refusal(404, "no Service '" + request.name() + "'");
        }
        String requestedIp = request.clusterIp() == null ? "" : request.clusterIp().strip();
        if (!requestedIp.isEmpty() && !requestedIp.equals(current.clusterIp())) {
            throw new IllegalArgumentException("ClusterIP " + requestedIp + " differs from the Service's " + current.clusterIp()
                    + ", which cannot change (delete the Service and create it again)");
        }
        // A port keeps its node port when the Service stays (or becomes) a NodePort one; a ClusterIP one has none.
        boolean nodePortType = ServiceSpec.NODE_PORT.equalsIgnoreCase(request.type());
        List<ServiceSpec.Port> ports = new ArrayList<>();
        for (ServiceSpec.Port p : request.ports()) {
            int nodePort = p.nodePort();
            String protocol = p.protocol() == null ? "TCP" : p.protocol();
            for (ServiceSpec.Port old : current.ports()) {
                if (nodePortType && nodePort == 0 && old.port() == p.port() && old.protocol().equalsIgnoreCase(protocol)) {
                    nodePort = old.nodePort();
                }
            }
            ports.add(new ServiceSpec.Port(p.name(), p.protocol(), p.port(), p.targetPort(), nodePort));
        }
        services.remove(request.name());
        try {
            ServiceSpec prepared = prepare(new ServiceSpec(request.name(), current.clusterIp(), request.type(), ports, request.selector(),
                    request.affinitySeconds(), request.externalTrafficPolicy(), request.internalTrafficPolicy(), 0), nowMillis);
            return new ServiceSpec(prepared.name(), prepared.clusterIp(), prepared.type(), prepared.ports(), prepared.selector(),
                    prepared.affinitySeconds(), prepared.externalTrafficPolicy(), prepared.internalTrafficPolicy(),
                    current.createdAtMillis());
        } finally {
            services.put(current.name(), current);
        }
    }

    void put(ServiceSpec spec) {
        services.put(spec.name(), spec);
    }

    ServiceSpec remove(String name) {
        return services.remove(name);
    }

    /** Every Service with its endpoints: the pods of {@code pods} (this node's) its selector matches. */
    List<Service> resolve(Collection<PodRecord> pods) {
        return resolve(pods, List.of());
    }

    /**
     * Every Service with its endpoints: the pods its selector matches among this node's
     * ({@code pods}) and those of other nodes ({@code remote}, reached over the overlay), each
     * with its node so that traffic policy Local can tell them apart.
     */
    List<Service> resolve(Collection<PodRecord> pods, Collection<dev.shunt.state.Pod> remote) {
        List<Service> out = new ArrayList<>(services.size());
        for (ServiceSpec s : services.values()) {
            List<Endpoint> endpoints = new ArrayList<>();
            for (PodRecord pod : matching(s, pods)) {
                Inet4Address ip = (Inet4Address) InetAddress.ofLiteral(pod.ip());
                endpoints.add(new Endpoint(ip, node, !pod.terminating(), true, pod.terminating()));
            }
            for (dev.shunt.state.Pod pod : matchingRemote(s, remote)) {
                Inet4Address ip = (Inet4Address) InetAddress.ofLiteral(pod.ip());
                endpoints.add(new Endpoint(ip, pod.node(), !pod.terminating(), true, pod.terminating()));
            }
            List<ServicePort> ports = new ArrayList<>();
            for (ServiceSpec.Port p : s.ports()) {
                ports.add(new ServicePort(p.name(), Protocol.parse(p.protocol()), p.port(), p.targetPort(), p.nodePort()));
            }
            out.add(new Service(s.name(), (Inet4Address) InetAddress.ofLiteral(s.clusterIp()),
                    s.type().equals(ServiceSpec.NODE_PORT) ? Service.Type.NODE_PORT : Service.Type.CLUSTER_IP, ports,
                    s.affinitySeconds(), policy(s.externalTrafficPolicy()), policy(s.internalTrafficPolicy()), endpoints));
        }
        return out;
    }

    /** The Service as the API shows it: its endpoints are the same pods {@link #resolve} gives the fast path. */
    ServiceView view(ServiceSpec s, Collection<PodRecord> pods, Collection<dev.shunt.state.Pod> remote) {
        List<EndpointView> endpoints = new ArrayList<>();
        for (PodRecord pod : matching(s, pods)) {
            endpoints.add(new EndpointView(pod.name(), pod.ip(), node, !pod.terminating(), true, pod.terminating()));
        }
        for (dev.shunt.state.Pod pod : matchingRemote(s, remote)) {
            endpoints.add(new EndpointView(pod.name(), pod.ip(), pod.node(), !pod.terminating(), true, pod.terminating()));
        }
        return new ServiceView(s.name(), s.type(), s.clusterIp(), s.ports(), new TreeMap<>(s.selector()),
                s.affinitySeconds() > 0 ? "ClientIP" : "None", s.affinitySeconds(), s.externalTrafficPolicy(),
                s.internalTrafficPolicy(), endpoints, s.createdAtMillis());
    }

    private static boolean selects(ServiceSpec s, Map<String, String> labels) {
        return s.selector().entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
    }

    private static List<dev.shunt.state.Pod> matchingRemote(ServiceSpec s, Collection<dev.shunt.state.Pod> remote) {
        return remote.stream().filter(p -> selects(s, p.labels())).sorted(Comparator.comparing(dev.shunt.state.Pod::name)).toList();
    }

    private static List<PodRecord> matching(ServiceSpec s, Collection<PodRecord> pods) {
        return pods.stream()
                .filter(p -> selects(s, p.labels()))
                .sorted(Comparator.comparing(PodRecord::name))
                .toList();
    }

    private static String typeOf(String requested) {
        if (requested == null || requested.isBlank() || requested.equalsIgnoreCase(ServiceSpec.CLUSTER_IP)) {
            return ServiceSpec.CLUSTER_IP;
        }
        if (requested.equalsIgnoreCase(ServiceSpec.NODE_PORT)) {
            return ServiceSpec.NODE_PORT;
        }
        throw new IllegalArgumentException("unknown Service type '" + requested + "': expected ClusterIP or NodePort");
    }

    private static String policyOf(String what, String requested) {
        if (requested == null || requested.isBlank() || requested.equalsIgnoreCase(ServiceSpec.CLUSTER)) {
            return ServiceSpec.CLUSTER;
        }
        if (requested.equalsIgnoreCase(ServiceSpec.LOCAL)) {
            return ServiceSpec.LOCAL;
        }
        throw new IllegalArgumentException("unknown " + what + " '" + requested + "': expected Cluster or Local");
    }

    private static Service.TrafficPolicy policy(String spelled) {
        return spelled.equals(ServiceSpec.LOCAL) ? Service.TrafficPolicy.LOCAL : Service.TrafficPolicy.CLUSTER;
    }

    private static List<ServiceSpec.Port> checkPorts(String name, String type, List<ServiceSpec.Port> requested) {
        if (requested.isEmpty()) {
            throw new IllegalArgumentException("Service '" + name + "' needs at least one port");
        }
        List<ServiceSpec.Port> ports = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        Set<String> names = new HashSet<>();
        for (ServiceSpec.Port p : requested) {
            String protocol = p.protocol() == null ? "TCP" : p.protocol().toUpperCase(Locale.ROOT);
            if (!protocol.equals("TCP") && !protocol.equals("UDP")) {
                throw new IllegalArgumentException("protocol '" + p.protocol() + "' of Service '" + name
                        + "': the fast path carries TCP and UDP Services");
            }
            checkRange("port", p.port(), 1, 65535);
            int target = p.targetPort() == 0 ? p.port() : p.targetPort();
            checkRange("targetPort", target, 1, 65535);
            if (!seen.add(protocol + "/" + p.port())) {
                throw new IllegalArgumentException("Service '" + name + "' lists port " + p.port() + "/" + protocol.toLowerCase(Locale.ROOT) + " twice");
            }
            if (!p.name().isEmpty() && !names.add(p.name())) {
                throw new IllegalArgumentException("Service '" + name + "' has two ports named '" + p.name() + "'");
            }
            if (p.nodePort() != 0) {
                if (type.equals(ServiceSpec.CLUSTER_IP)) {
                    throw new IllegalArgumentException("node port " + p.nodePort() + " needs a NodePort Service ('" + name + "' is ClusterIP)");
                }
                checkRange("node port", p.nodePort(), ServicePort.NODE_PORT_MIN, ServicePort.NODE_PORT_MAX);
            }
            ports.add(new ServiceSpec.Port(p.name(), protocol, p.port(), target,
                    type.equals(ServiceSpec.NODE_PORT) ? p.nodePort() : 0));
        }
        return ports;
    }

    private static void checkRange(String what, int value, int min, int max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(what + " " + value + " is outside " + min + "-" + max);
        }
    }

    /** The requested ClusterIP after checks, or the lowest free one. */
    private String claimClusterIp(String requested) {
        Map<Long, String> taken = new HashMap<>();
        for (ServiceSpec s : services.values()) {
            taken.put(CIDR.unsignedOffsetOf(InetAddress.ofLiteral(s.clusterIp())), s.name());
        }
        // The node ports' DNAT target (NodeRules): traffic to it means "look up the node port".
        long nodePortTarget = CIDR.unsignedOffsetOf(InetAddress.ofLiteral(AgentConfig.NODE_PORT_ADDRESS));
        taken.put(nodePortTarget, "(reserved: the node-port address)");
        long last = CIDR.size().longValueExact() - 1;
        if (requested == null || requested.isBlank()) {
            for (long offset = 2; offset < last; offset++) {
                if (!taken.containsKey(offset)) {
                    return CIDR.address(offset).getHostAddress();
                }
            }
            throw new ApiServer.Refusal(409, "the Service CIDR " + CIDR + " has no free ClusterIP left");
        }
        InetAddress address;
        try {
            address = InetAddress.ofLiteral(requested.strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("ClusterIP '" + requested + "' is not an IP address");
        }
        if (!(address instanceof Inet4Address) || !CIDR.contains(address)) {
            throw new IllegalArgumentException("ClusterIP " + requested + " is outside the Service CIDR " + CIDR);
        }
        long offset = CIDR.unsignedOffsetOf(address);
        if (offset == 0 || offset == last) {
            throw new IllegalArgumentException("ClusterIP " + requested + " is the " + (offset == 0 ? "network" : "broadcast")
                    + " address of the Service CIDR " + CIDR);
        }
        if (offset == nodePortTarget) {
            throw new IllegalArgumentException("ClusterIP " + requested + " is reserved: node-port traffic is handed to the"
                    + " fast path at that address");
        }
        String holder = taken.get(offset);
        if (holder != null) {
            throw new ApiServer.Refusal(409, "ClusterIP " + address.getHostAddress() + " is taken by Service '" + holder + "'");
        }
        return address.getHostAddress();
    }

    private List<ServiceSpec.Port> allocateNodePorts(List<ServiceSpec.Port> ports, boolean nodePortType) {
        Map<Integer, String> taken = new HashMap<>();
        for (ServiceSpec s : services.values()) {
            for (ServiceSpec.Port p : s.ports()) {
                if (p.nodePort() != 0) {
                    taken.put(p.nodePort(), s.name());
                }
            }
        }
        Set<String> mine = new HashSet<>();
        Set<Integer> chosen = new HashSet<>();
        for (ServiceSpec.Port p : ports) {
            if (p.nodePort() == 0) {
                continue;
            }
            String holder = taken.get(p.nodePort());
            if (holder != null) {
                throw new ApiServer.Refusal(409, "node port " + p.nodePort() + " is taken by Service '" + holder + "'");
            }
            if (!mine.add(p.protocol() + "/" + p.nodePort())) {
                throw new IllegalArgumentException("node port " + p.nodePort() + "/" + p.protocol().toLowerCase(Locale.ROOT)
                        + " is given to two ports");
            }
            chosen.add(p.nodePort());
        }
        List<ServiceSpec.Port> out = new ArrayList<>();
        int next = ServicePort.NODE_PORT_MIN;
        for (ServiceSpec.Port p : ports) {
            if (!nodePortType || p.nodePort() != 0) {
                out.add(p);
                continue;
            }
            while (next <= ServicePort.NODE_PORT_MAX && (taken.containsKey(next) || chosen.contains(next))) {
                next++;
            }
            if (next > ServicePort.NODE_PORT_MAX) {
                throw new ApiServer.Refusal(409, "no free node port left in " + ServicePort.NODE_PORT_MIN + "-" + ServicePort.NODE_PORT_MAX);
            }
            chosen.add(next);
            out.add(new ServiceSpec.Port(p.name(), p.protocol(), p.port(), p.targetPort(), next));
        }
        return out;
    }
}
