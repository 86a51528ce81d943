package dev.shunt.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.ipam.Cidr;
import dev.shunt.ipam.IpamStore;
import dev.shunt.netlink.NetlinkHandle;
import dev.shunt.netns.NetworkNamespace;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One node's agent: IPAM, pod plumbing and the API, wired together. It runs in the node's network
 * namespace (a lab namespace, or the host's) and keeps its state in a directory, so a restarted
 * agent adopts the pods the previous one made. Every pod's traffic crosses the fast path
 * ({@link FastPath}); Services, the host port and the overlay come in later steps.
 */
public final class Agent implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final int CONNTRACK_CAPACITY = 1 << 16;

    private final AgentConfig config;
    private final IpamStore ipam;
    private final NetlinkHandle netlink;
    private final PodNetwork podNetwork;
    private final PodStore podStore;
    private final ConntrackFile conntrack;
    private final FastPath fastPath;
    private final dev.shunt.sys.Fd namespace;
    private final Map<String, PodRecord> pods = new TreeMap<>();
    private final long startedAt = System.currentTimeMillis();
    private ApiServer api;

    private Agent(AgentConfig config) {
        this.config = config;
        this.ipam = IpamStore.open(config.stateDir().resolve("ipam"));
        this.netlink = NetlinkHandle.open();
        // A node namespace made by a lab script starts with lo down; the agent needs it (and the
        // JDK's interface enumeration, which netty calls, sees no interface without an address).
        if (!netlink.links().get("lo").isUp()) {
            netlink.links().setUp("lo");
        }
        // Pods reach the world through the node's stack (shunt0 in, the uplink out), as with any CNI.
        dev.shunt.netns.Sysctl.write("net.ipv4.ip_forward", "1");
        this.podNetwork = new PodNetwork(config.node(), config.podCidr(), config.mtu(), netlink, ipam);
        this.podStore = new PodStore(config.stateDir());
        this.namespace = NetworkNamespace.openCurrent();
        this.conntrack = ConntrackFile.open(ConntrackFile.defaultPath(config.node()), CONNTRACK_CAPACITY);
        System.err.println("shunt agent: connection table " + conntrack.outcome());
        this.fastPath = new FastPath(netlink, namespace, conntrack.table(), "shunt-fastpath-" + config.node());
    }

    /** Starts the agent in the calling thread's network namespace and serves its API. */
    public static Agent start(AgentConfig config) {
        refusePrivateMountNamespace();
        Agent agent = new Agent(config);
        try {
            long hostMac = HostPort.create(agent.netlink, config.mtu(),
                    List.of(config.podCidr(), AgentConfig.CLUSTER_CIDR, AgentConfig.SERVICE_CIDR));
            agent.fastPath.attachHost(HostPort.FAST_PATH_END, hostMac);
            NodeRules.install(agent.namespace, AgentConfig.CLUSTER_CIDR, HostPort.HOST_END, AgentConfig.NODE_PORT_ADDRESS);
            agent.adopt();
            agent.api = ApiServer.start(config.socket(), agent::handle);
            return agent;
        } catch (RuntimeException e) {
            agent.stop(false);
            throw e;
        }
    }

    /**
     * Pods' namespaces are pinned by bind mounts under /run/netns. {@code ip netns exec} runs its
     * command in a private mount namespace whose mounts do not propagate back (it makes / a slave
     * to remount /sys), so pins made there vanish when the agent exits. Start the agent with
     * {@code nsenter --net=/run/netns/NODE} instead.
     */
    private static void refusePrivateMountNamespace() {
        try {
            for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] f = line.split(" ");
                // Field 5 is the mount point; optional fields up to "-" carry the propagation tags.
                if (f.length > 6 && f[4].equals("/run/netns") && line.substring(0, line.indexOf(" - ")).contains(" master:")) {
                    throw new IllegalStateException("/run/netns is a slave mount here (the agent runs in a private mount namespace, "
                            + "e.g. under 'ip netns exec'): pods' namespaces would vanish with the agent. "
                            + "Start it with 'nsenter --net=/run/netns/NODE shunt agent ...' instead");
                }
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot read /proc/self/mountinfo", e);
        }
    }

    /** Takes over the pods a previous agent recorded whose namespace still exists; forgets the others. */
    private void adopt() {
        for (PodRecord pod : podStore.load()) {
            if (NetworkNamespace.exists(pod.netns()) && netlink.links().find(pod.hostVeth()).isPresent()) {
                fastPath.attach(pod);
                pods.put(pod.name(), pod);
            } else {
                podNetwork.delete(pod.name());
                podStore.remove(pod.name());
            }
        }
    }

    public PodRecord addPod(String name, Map<String, String> labels) {
        if (pods.containsKey(name)) {
            throw new IllegalArgumentException("pod '" + name + "' exists already");
        }
        long start = System.nanoTime();
        PodRecord plumbed = podNetwork.create(name, labels);
        PodRecord pod = plumbed;
        try {
            fastPath.attach(plumbed);
            // What a user waits for: plumbing, the fast path and the durable record.
            pod = new PodRecord(plumbed.name(), plumbed.labels(), plumbed.ip(), plumbed.netns(), plumbed.hostVeth(),
                    plumbed.podMac(), plumbed.createdAtMillis(), (System.nanoTime() - start) / 1000);
            podStore.save(pod);
        } catch (RuntimeException e) {
            fastPath.detach(name);
            podNetwork.delete(name);
            throw e;
        }
        pods.put(name, pod);
        return pod;
    }

    public void deletePod(String name) {
        PodNetwork.validateName(name);
        fastPath.detach(name);
        podNetwork.delete(name);
        podStore.remove(name);
        pods.remove(name);
    }

    public Map<String, PodRecord> pods() {
        return Map.copyOf(pods);
    }

    /** The fast path's counters. */
    public dev.shunt.datapath.DatapathCounters counters() {
        return fastPath.counters();
    }

    public AgentConfig config() {
        return config;
    }

    FastPath fastPath() {
        return fastPath;
    }

    ApiServer.Response handle(String method, String uri, byte[] body) throws Exception {
        String path = uri.contains("?") ? uri.substring(0, uri.indexOf('?')) : uri;
        if (path.equals("/v1/status") && method.equals("GET")) {
            Map<String, Object> status = new LinkedHashMap<>();
            status.put("node", config.node());
            status.put("podCidr", config.podCidr().toString());
            status.put("pods", pods.size());
            status.put("uptimeSeconds", (System.currentTimeMillis() - startedAt) / 1000);
            return ApiServer.Response.ok(JSON.writeValueAsString(status));
        }
        if (path.equals("/v1/stats") && method.equals("GET")) {
            return ApiServer.Response.ok(JSON.writeValueAsString(Stats.of(fastPath.counters(), fastPath.portCounters(), fastPath.pipeline().conntrack())));
        }
        if (path.equals("/v1/pods") && method.equals("GET")) {
            return ApiServer.Response.ok(JSON.writeValueAsString(pods.values()));
        }
        if (path.equals("/v1/pods") && method.equals("POST")) {
            JsonNode request = JSON.readTree(body);
            if (request == null || !request.hasNonNull("name")) {
                throw new IllegalArgumentException("body must be {\"name\": ..., \"labels\": {...}}");
            }
            Map<String, String> labels = new TreeMap<>();
            request.path("labels").properties().forEach(e -> labels.put(e.getKey(), e.getValue().asText()));
            return ApiServer.Response.ok(JSON.writeValueAsString(addPod(request.get("name").asText(), labels)));
        }
        if (path.startsWith("/v1/pods/") && method.equals("DELETE")) {
            String name = path.substring("/v1/pods/".length());
            if (!pods.containsKey(name)) {
                return ApiServer.Response.error(404, "no pod '" + name + "'");
            }
            deletePod(name);
            return ApiServer.Response.ok("{\"deleted\":" + ApiServer.quote(name) + "}");
        }
        return ApiServer.Response.error(404, "no such API: " + method + " " + path);
    }

    /**
     * A graceful stop (SIGTERM): stops serving and removes the node-level plumbing it made (the
     * host port and its routes, the nftables table, the connection table file). Pods stay, with
     * their records, for a restarted agent to adopt: they belong to whoever asked for them, as
     * containers belong to their runtime. A {@code kill -9} leaves everything, the connection
     * table included, for the next agent to adopt.
     */
    @Override
    public void close() {
        stop(true);
    }

    /** {@code graceful}: also removes the connection table file (a failed start leaves it to adopt). */
    private void stop(boolean graceful) {
        if (api != null) {
            api.close();
        }
        fastPath.close();
        if (graceful) {
            conntrack.delete();
        } else {
            conntrack.close();
        }
        HostPort.remove(netlink);
        NodeRules.remove(namespace);
        netlink.close();
        namespace.close();
        ipam.close();
    }

    public Path socket() {
        return config.socket();
    }
}
