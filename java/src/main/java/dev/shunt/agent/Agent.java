package dev.shunt.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.datapath.PipelineCompilation;
import dev.shunt.ipam.Cidr;
import dev.shunt.ipam.IpamStore;
import dev.shunt.netlink.Address;
import dev.shunt.netlink.NetlinkHandle;
import dev.shunt.overlay.OverlayPeer;
import dev.shunt.overlay.OverlayPeers;
import dev.shunt.overlay.PeerChanges;
import dev.shunt.overlay.VxlanConfig;
import dev.shunt.overlay.VxlanDevice;
import dev.shunt.netns.NetworkNamespace;

import dev.shunt.service.ServiceTable;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * One node's agent: IPAM, pod plumbing and the API, wired together. It runs in the node's network
 * namespace (a lab namespace, or the host's) and keeps its state in a directory, so a restarted
 * agent adopts the pods the previous one made. Every pod's traffic crosses the fast path
 * ({@link FastPath}). Services ({@link ServiceRegistry}, persisted by {@link ServiceStore}) get
 * their endpoints from the pods whose labels match; every change to either publishes a new
 * Service snapshot to the fast path.
 *
 * <p>Threads: API requests (one netty event loop) and timers (pods' grace periods, captures) run on
 * different threads; every method that reads or changes pods or Services holds this object's lock.
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
    private final ServiceStore serviceStore;
    private final ServiceRegistry services;
    /** Manifests (shunt apply/delete/get) and the desired state as a source: see {@link StateApi}. */
    private final StateApi stateApi;
    /** Timers: the end of pods' grace periods, captures. One thread, made here, in the node's namespace. */
    private final ScheduledExecutorService scheduler;
    private final Captures captures;
    private final CniEndpoint cni;
    private final long startedAt = System.currentTimeMillis();
    private ApiServer api;
    /** The overlay (null on a node without one): the VXLAN device and the remote nodes programmed on it. */
    private VxlanDevice vxlan;
    private OverlayPeers overlayPeers;
    private List<OverlayPeer> peers = List.of();
    /** The cluster's nodes from etcd (null without {@code --etcd}): with it, the source of this node's overlay peers. */
    private final EtcdNodes etcdNodes;
    /** Services and other nodes' pods from etcd, and this node's pods to it (null without {@code --etcd}). */
    private EtcdMirror etcdMirror;
    private boolean stopped;

    private Agent(AgentConfig config, EtcdNodes etcdNodes) {
        this.config = config;
        this.etcdNodes = etcdNodes;
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
        this.fastPath = new FastPath(netlink, namespace, conntrack.table(), "shunt-fastpath-" + config.node(),
                config.offloads());
        System.err.println("shunt agent: fast path compile plan (C2 directive, see PipelineCompilation): "
                + PipelineCompilation.outcome());
        this.serviceStore = new ServiceStore(config.stateDir());
        this.services = new ServiceRegistry(config.node(), serviceStore.load());
        this.stateApi = new StateApi(this, config, services, serviceStore, podNetwork);
        ScheduledThreadPoolExecutor timers = new ScheduledThreadPoolExecutor(1,
                Thread.ofPlatform().name("shunt-agent-timers-" + config.node()).daemon(true).factory());
        timers.setRemoveOnCancelPolicy(true);
        timers.prestartAllCoreThreads();
        this.scheduler = timers;
        this.captures = new Captures(fastPath.pipeline(), scheduler);
        this.cni = new CniEndpoint(this);
    }

    /** Starts the agent in the calling thread's network namespace and serves its API. */
    public static Agent start(AgentConfig config) {
        refusePrivateMountNamespace();
        EtcdNodes etcd = null;
        if (config.etcd() != null) {
            // The pod CIDR comes first: IPAM, the pod network and the host port's routes are made of it.
            etcd = EtcdNodes.claim(config);
            if (config.podCidr() != null && !config.podCidr().equals(etcd.podCidr())) {
                String claimed = etcd.podCidr().toString();
                etcd.abandon();
                throw new IllegalArgumentException("--pod-cidr " + config.podCidr() + " is not the subnet etcd gave node "
                        + config.node() + " (" + claimed + "): leave --pod-cidr out to take the claimed one, or give "
                        + "the subnet this node held before");
            }
            config = config.withPodCidr(etcd.podCidr());
        }
        Agent agent;
        try {
            agent = new Agent(config, etcd);
        } catch (RuntimeException e) {
            if (etcd != null) {
                etcd.close();
            }
            throw e;
        }
        try {
            long hostMac = HostPort.create(agent.netlink, config.mtu(),
                    List.of(config.podCidr(), AgentConfig.CLUSTER_CIDR, AgentConfig.SERVICE_CIDR),
                    agent.fastPath.offloads());
            agent.fastPath.attachHost(HostPort.FAST_PATH_END, hostMac);
            if (config.overlay() != null) {
                agent.startOverlay(config.overlay());
            }
            NodeRules.install(agent.namespace, AgentConfig.CLUSTER_CIDR, HostPort.HOST_END, AgentConfig.NODE_PORT_ADDRESS);
            synchronized (agent) {
                if (etcd != null) {
                    // The watch's calls come on the store's threads: what they bring is applied on the
                    // agent's timer thread, never on theirs (it takes the agent's lock and does netlink).
                    etcd.onChange(() -> agent.later(agent::etcdNodesChanged));
                    agent.etcdMirror = new EtcdMirror(etcd, agent.services, config.stateDir());
                    agent.etcdMirror.start(() -> agent.later(agent::etcdChanged));
                }
                agent.adopt();
                // The whole restored Service set in one snapshot: over an adopted connection table
                // the first snapshot decides which old flows live on (docs/conntrack.md).
                agent.publishServices();
            }
            agent.api = ApiServer.start(config.socket(), agent::handle);
            if (etcd != null) {
                etcd.rememberSubnet(config.stateDir());
            }
            return agent;
        } catch (RuntimeException e) {
            if (etcd != null) {
                // A node that never ran gives back a subnet it claimed just now (e.g. a wrong --underlay-ip).
                try {
                    etcd.abandon();
                } catch (RuntimeException notReleased) {
                    e.addSuppressed(notReleased);
                }
            }
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

    private void later(Runnable task) {
        try {
            scheduler.execute(task);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // Stopping: the overlay goes with the agent.
        }
    }

    /** The nodes in etcd changed: the overlay peers, their routes and the remote endpoints follow. */
    private synchronized void etcdNodesChanged() {
        if (stopped) {
            return;
        }
        try {
            publishServices();
        } catch (RuntimeException e) {
            System.err.println("shunt agent: cannot apply the nodes etcd lists: " + e.getMessage());
        }
    }

    /**
     * What the etcd watch brought (Services, other nodes' pods, subnets) goes to the fast path; only
     * then does the applied revision advance (and is the copy saved, the revision last).
     */
    private synchronized void etcdChanged() {
        if (stopped) {
            return;
        }
        EtcdMirror.Applied applied = etcdMirror.applyPending();
        if (applied == null) {
            return;
        }
        try {
            publishServices();
        } catch (RuntimeException e) {
            System.err.println("shunt agent: cannot apply what etcd holds: " + e.getMessage());
        }
        etcdMirror.applied(applied);
    }

    /** This node's copy of etcd's Services and pods, or null without {@code --etcd}. */
    EtcdMirror etcdMirror() {
        return etcdMirror;
    }

    /** Takes over the pods a previous agent recorded whose namespace still exists; forgets the others. */
    private void adopt() {
        for (PodRecord pod : podStore.load()) {
            if (pod.namespaceExists() && netlink.links().find(pod.hostVeth()).isPresent()) {
                fastPath.attach(pod);
                pods.put(pod.name(), pod);
                if (pod.terminating()) {
                    // Its grace period continues; one that ended while no agent ran ends at once.
                    scheduleRemoval(pod);
                }
            } else {
                podNetwork.remove(pod);
                podStore.remove(pod.name());
            }
        }
    }

    public synchronized PodRecord addPod(String name, Map<String, String> labels) {
        return admit(name, () -> podNetwork.create(name, labels));
    }

    /**
     * The one way a pod comes to be, whoever asked ({@code shunt pod add}, or a CNI ADD through
     * {@link CniEndpoint}): plumbing, the fast path, the durable record, then Services. A failure
     * at any step undoes the steps before it.
     */
    synchronized PodRecord admit(String name, java.util.function.Supplier<PodRecord> plumbing) {
        if (pods.containsKey(name)) {
            throw new IllegalArgumentException("pod '" + name + "' exists already" + (pods.get(name).terminating() ? " (terminating)" : ""));
        }
        long start = System.nanoTime();
        PodRecord plumbed = plumbing.get();
        PodRecord pod = plumbed;
        try {
            fastPath.attach(plumbed);
            // What a user waits for: plumbing, the fast path and the durable record.
            pod = plumbed.withSetupMicros((System.nanoTime() - start) / 1000);
            podStore.save(pod);
        } catch (RuntimeException e) {
            fastPath.detach(name);
            podNetwork.remove(plumbed);
            throw e;
        }
        pods.put(name, pod);
        publishServices();
        return pod;
    }

    /** Deletes a pod at once: off the fast path, plumbing removed, IP released, its flows purged. */
    public synchronized void deletePod(String name) {
        PodNetwork.validateName(name);
        int port = fastPath.portIdOf(name);
        if (port >= 0) {
            captures.portGone(port);
        }
        // Off the Services first: new flows and the purged ones move to live backends at once,
        // while the namespace and veth teardown below takes its time (tens of ms, more under load).
        PodRecord gone = pods.remove(name);
        publishServices();
        fastPath.detach(name);
        if (gone != null) {
            podNetwork.remove(gone);
        } else {
            podNetwork.delete(name);
        }
        podStore.remove(name);
    }

    /**
     * Deletes a pod after a grace period: until then it is terminating (its endpoints not ready but
     * serving, so new flows avoid it while its established ones drain), then it is deleted for
     * real. A shorter grace for a pod already terminating brings its end forward; a longer one
     * does not postpone it. {@code graceSeconds} 0 deletes at once.
     */
    public synchronized PodRecord deletePod(String name, int graceSeconds) {
        if (graceSeconds < 0 || graceSeconds > 86400) {
            throw new IllegalArgumentException("grace period " + graceSeconds + " s is outside 0-86400");
        }
        PodRecord pod = pods.get(name);
        if (pod == null) {
            throw new ApiServer.Refusal(404, "no pod '" + name + "'");
        }
        if (graceSeconds == 0) {
            deletePod(name);
            return pod;
        }
        long until = System.currentTimeMillis() + graceSeconds * 1000L;
        if (pod.terminating() && pod.terminatingUntilMillis() <= until) {
            return pod;
        }
        PodRecord terminating = pod.terminatingUntil(until);
        podStore.save(terminating);
        pods.put(name, terminating);
        publishServices();
        scheduleRemoval(terminating);
        return terminating;
    }

    private void scheduleRemoval(PodRecord pod) {
        long delay = Math.max(0, pod.terminatingUntilMillis() - System.currentTimeMillis());
        scheduler.schedule(() -> endGracePeriod(pod.name(), pod.terminatingUntilMillis()), delay, TimeUnit.MILLISECONDS);
    }

    private synchronized void endGracePeriod(String name, long until) {
        PodRecord pod = pods.get(name);
        // A pod deleted meanwhile, or whose grace was shortened (another timer), is not this timer's.
        if (pod == null || pod.terminatingUntilMillis() != until) {
            return;
        }
        try {
            deletePod(name);
        } catch (RuntimeException e) {
            System.err.println("shunt agent: cannot delete pod " + name + " at the end of its grace period: " + e.getMessage());
        }
    }

    public synchronized Map<String, PodRecord> pods() {
        return Map.copyOf(pods);
    }

    /** Adds a Service (allocating what it lacks), persists it and publishes it; returns it with its endpoints. */
    public synchronized ServiceRegistry.ServiceView addService(ServiceSpec request) {
        if (etcdMirror != null) {
            ServiceSpec spec = stateApi.addServiceThroughEtcd(request);
            publishServices();
            return services.view(services.get(spec.name()), pods.values(), reachableRemotePods());
        }
        ServiceSpec spec = services.prepare(request, System.currentTimeMillis());
        serviceStore.save(spec);
        services.put(spec);
        try {
            publishServices();
        } catch (RuntimeException e) {
            services.remove(spec.name());
            serviceStore.remove(spec.name());
            throw e;
        }
        return services.view(spec, pods.values(), reachableRemotePods());
    }

    public synchronized void deleteService(String name) {
        if (etcdMirror != null) {
            if (!stateApi.deleteServicesThroughEtcd(List.of(name)).contains(name)) {
                throw new ApiServer.Refusal(404, "no Service '" + name + "' in etcd");
            }
            publishServices();
            return;
        }
        if (services.get(name) == null) {
            throw new ApiServer.Refusal(404, "no Service '" + name + "'");
        }
        serviceStore.remove(name);
        services.remove(name);
        publishServices();
    }

    public synchronized List<ServiceRegistry.ServiceView> services() {
        return services.all().stream().map(s -> services.view(s, pods.values(), reachableRemotePods())).toList();
    }

    /**
     * Builds the Service snapshot from the Services and the pods of the moment (this node's and
     * those recorded for others) and hands it to the fast path. Built over the snapshot the fast
     * path holds, so only the Maglev tables of Service ports whose endpoints changed are built
     * again: when a pod starts terminating among 10,000 Services, the tables of the Service ports
     * it backs, not 20,000 (cluster and external each).
     */
    void publishServices() {
        syncOverlay();
        ServiceTable current = fastPath.pipeline().services();
        fastPath.setServices(ServiceTable.build(services.resolve(pods.values(), reachableRemotePods()), config.node(), current));
        stateApi.publish();
        if (etcdMirror != null) {
            etcdMirror.ownPods(pods.values().stream()
                    .map(p -> new dev.shunt.state.Pod(p.name(), config.node(), p.labels(), p.ip(), p.terminating())).toList());
        }
    }

    /**
     * The pods recorded for other nodes that this node can reach: those of its overlay peers. A pod
     * of a node the overlay does not know (none yet, or gone) would be a black hole as an endpoint.
     */
    private List<dev.shunt.state.Pod> reachableRemotePods() {
        if (peers.isEmpty()) {
            return List.of();
        }
        java.util.Set<String> reachable = new java.util.HashSet<>();
        peers.forEach(p -> reachable.add(p.nodeName()));
        return stateApi.remotePods().stream().filter(p -> reachable.contains(p.node())).toList();
    }

    /**
     * Programs the overlay for the nodes recorded now (a node without a known VTEP MAC gets the one
     * its agent derives from its name, {@link dev.shunt.overlay.VtepMac#forNode}). Only when the set
     * changed: it costs netlink round trips.
     */
    private void syncOverlay() {
        if (vxlan == null) {
            return;
        }
        List<OverlayPeer> recorded = stateApi.nodes().stream()
                .filter(n -> !n.name().equals(config.node()) && !n.underlayIp().isEmpty() && !n.podCidr().isEmpty())
                .map(n -> new OverlayPeer(n.name(), (java.net.Inet4Address) java.net.InetAddress.ofLiteral(n.underlayIp()),
                        n.vtepMac().isEmpty() ? dev.shunt.overlay.VtepMac.forNode(n.name())
                                : dev.shunt.netlink.MacAddress.parse(n.vtepMac()),
                        dev.shunt.netlink.IpPrefix.parse(n.podCidr())))
                .toList();
        if (etcdNodes != null) {
            // Recorded before this node's subnet came from etcd (a manifest of an older cluster):
            // a node overlapping it cannot be reached, and would stop every publish.
            recorded = recorded.stream().filter(p -> !Cidr.parse(p.podCidr().toString()).overlaps(config.podCidr())).toList();
        }
        List<OverlayPeer> wanted = etcdNodes == null ? recorded : withEtcdNodes(recorded, etcdNodes.peers());
        wanted = wanted.stream().sorted(java.util.Comparator.comparing(OverlayPeer::nodeName)).toList();
        if (!wanted.equals(peers)) {
            PeerChanges changes = setPeers(wanted);
            if (!changes.isEmpty()) {
                System.err.println("shunt agent: overlay peers " + changes);
            }
        }
    }

    /**
     * With etcd, its nodes are the cluster: they come first, a recorded node of the same name is
     * replaced by etcd's, and a recorded node whose pod CIDR overlaps an etcd node's is left out
     * (etcd's claims never overlap; a hand-written Node could). Recorded nodes that clash with
     * nothing stay: a node outside etcd can still be added with {@code shunt apply}.
     */
    static List<OverlayPeer> withEtcdNodes(List<OverlayPeer> recorded, List<OverlayPeer> fromEtcd) {
        Map<String, OverlayPeer> byName = new TreeMap<>();
        fromEtcd.forEach(p -> byName.put(p.nodeName(), p));
        for (OverlayPeer r : recorded) {
            Cidr theirs = Cidr.parse(r.podCidr().toString());
            boolean clash = byName.containsKey(r.nodeName())
                    || fromEtcd.stream().anyMatch(e -> Cidr.parse(e.podCidr().toString()).overlaps(theirs));
            if (!clash) {
                byName.put(r.nodeName(), r);
            }
        }
        return List.copyOf(byName.values());
    }

    /** Gives a pod new labels (an apply that changes them); Services' endpoints follow. Returns the pod as it was. */
    synchronized PodRecord relabelPod(String name, Map<String, String> labels) {
        PodRecord pod = pods.get(name);
        if (pod == null) {
            throw new ApiServer.Refusal(404, "no pod '" + name + "'");
        }
        PodRecord relabelled = pod.withLabels(labels);
        podStore.save(relabelled);
        pods.put(name, relabelled);
        publishServices();
        return pod;
    }

    /**
     * The node's desired state (its recorded nodes, its pods and those recorded for other nodes,
     * its Services) as a source: a snapshot, then every change. Listeners are called under the
     * agent's lock: they must return quickly and not call the agent.
     */
    public dev.shunt.state.StateSource desiredState() {
        return listener -> {
            synchronized (this) {
                return stateApi.subscribe(listener);
            }
        };
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

    PodNetwork podNetwork() {
        return podNetwork;
    }

    IpamStore ipam() {
        return ipam;
    }

    NetlinkHandle netlink() {
        return netlink;
    }

    synchronized ApiServer.Response handle(String method, String uri, byte[] body) throws Exception {
        String path = uri.contains("?") ? uri.substring(0, uri.indexOf('?')) : uri;
        Map<String, String> query = query(uri);
        if (path.startsWith(StateApi.PREFIX)) {
            return stateApi.handle(method, path, body);
        }
        if (path.equals("/v1/status") && method.equals("GET")) {
            Map<String, Object> status = new LinkedHashMap<>();
            status.put("node", config.node());
            status.put("podCidr", config.podCidr().toString());
            status.put("pods", pods.size());
            status.put("uptimeSeconds", (System.currentTimeMillis() - startedAt) / 1000);
            if (vxlan != null) {
                VxlanConfig vx = vxlan.config();
                Map<String, Object> overlay = new LinkedHashMap<>();
                overlay.put("device", vx.name());
                overlay.put("underlayIp", vx.local().getHostAddress());
                overlay.put("vni", vx.vni());
                overlay.put("port", vx.port());
                overlay.put("mtu", vx.mtu());
                overlay.put("vtepMac", vx.vtepMac().toString());
                overlay.put("peers", peers.stream().map(p -> Map.of("node", p.nodeName(), "underlayIp",
                        p.underlayIp().getHostAddress(), "podCidr", p.podCidr().toString(), "vtepMac", p.vtepMac().toString()))
                        .toList());
                status.put("overlay", overlay);
            }
            if (etcdNodes != null) {
                Map<String, Object> etcd = etcdNodes.status();
                if (etcdMirror != null) {
                    etcdMirror.status(etcd);
                }
                status.put("etcd", etcd);
            }
            return ApiServer.Response.ok(JSON.writeValueAsString(status));
        }
        if (path.equals("/v1/cni") && method.equals("POST")) {
            return cni.handle(body);
        }
        if (path.equals("/v1/stats") && method.equals("GET")) {
            Map<String, Object> stats = Stats.of(fastPath.counters(), fastPath.portCounters(), fastPath.pipeline().conntrack());
            stats.put("offloads", fastPath.offloadReport());
            return ApiServer.Response.ok(JSON.writeValueAsString(stats));
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
            int grace = intParameter(query, "grace", 0);
            PodRecord pod = deletePod(name, grace);
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("deleted", name);
            out.put("terminatingUntilMillis", grace == 0 ? 0 : pod.terminatingUntilMillis());
            return ApiServer.Response.ok(JSON.writeValueAsString(out));
        }
        if (path.equals("/v1/services") && method.equals("GET")) {
            return ApiServer.Response.ok(JSON.writeValueAsString(services()));
        }
        if (path.equals("/v1/services") && method.equals("POST")) {
            ServiceSpec request;
            try {
                request = JSON.readValue(body, ServiceSpec.class);
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException("body must be a Service: " + e.getMessage());
            }
            return ApiServer.Response.ok(JSON.writeValueAsString(addService(request)));
        }
        if (path.startsWith("/v1/services/") && method.equals("DELETE")) {
            String name = path.substring("/v1/services/".length());
            deleteService(name);
            return ApiServer.Response.ok("{\"deleted\":" + ApiServer.quote(name) + "}");
        }
        if (path.equals("/v1/flows") && method.equals("GET")) {
            String service = query.get("service");
            if (service != null && services.get(service) == null) {
                throw new ApiServer.Refusal(404, "no Service '" + service + "'");
            }
            return ApiServer.Response.ok(JSON.writeValueAsString(FlowReport.of(fastPath.pipeline().conntrack(),
                    fastPath.pipeline().services(), pods, service, System.nanoTime())));
        }
        if (path.equals("/v1/captures") && method.equals("POST")) {
            JsonNode request = JSON.readTree(body);
            if (request == null || !request.hasNonNull("port") || !request.hasNonNull("count") || !request.hasNonNull("file")) {
                throw new IllegalArgumentException("body must be {\"port\": POD or \"host\", \"count\": N, \"file\": PATH}");
            }
            String port = request.get("port").asText();
            int id = port.equals("host") ? FastPath.HOST_PORT : fastPath.portIdOf(port);
            if (id < 0) {
                throw new ApiServer.Refusal(404, "no port '" + port + "': a pod's name or 'host'");
            }
            return ApiServer.Response.ok(JSON.writeValueAsString(captures.start(port, id, request.get("count").asInt(),
                    request.path("snaplen").asInt(2048), Path.of(request.get("file").asText()),
                    request.path("timeoutSeconds").asInt(60))));
        }
        if (path.startsWith("/v1/captures/") && method.equals("GET")) {
            String id = path.substring("/v1/captures/".length());
            if (!id.matches("[0-9]{1,18}")) {
                throw new ApiServer.Refusal(404, "no capture '" + id + "'");
            }
            return ApiServer.Response.ok(JSON.writeValueAsString(captures.status(Long.parseLong(id))));
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
    private static Map<String, String> query(String uri) {
        Map<String, String> out = new LinkedHashMap<>();
        int q = uri.indexOf('?');
        if (q < 0) {
            return out;
        }
        for (String pair : uri.substring(q + 1).split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            out.put(key, eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
        }
        return out;
    }

    private static int intParameter(Map<String, String> query, String name, int absent) {
        String value = query.get(name);
        if (value == null) {
            return absent;
        }
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a whole number, not '" + value + "'");
        }
    }

    @Override
    public void close() {
        stop(true);
    }

    /** {@code graceful}: also removes the connection table file (a failed start leaves it to adopt). */
    /**
     * Creates (or adopts) {@code shunt.vx} on the underlay address's interface, with an MTU 50
     * bytes below it, and puts it on the fast path. Refuses a pod MTU that would not fit through
     * it: pods would send packets the overlay must refuse.
     */
    private void startOverlay(AgentConfig.Overlay overlay) {
        Address underlay = netlink.addresses().list().stream()
                .filter(a -> a.prefix().address().equals(overlay.underlayIp())).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("underlay IP " + overlay.underlayIp().getHostAddress()
                        + " is not an address of any interface of this node"));
        dev.shunt.netlink.Link underlayLink = netlink.links().list().stream().filter(l -> l.index() == underlay.index())
                .findFirst().orElseThrow();
        VxlanConfig vx = VxlanConfig.forNode(config.node(), overlay.underlayIp(), underlayLink.mtu())
                .withVni(overlay.vni()).withPort(overlay.port()).withUnderlayDevice(underlayLink.name());
        if (config.mtu() > vx.mtu()) {
            throw new IllegalArgumentException("pod MTU " + config.mtu() + " does not fit the overlay: the underlay "
                    + underlayLink.name() + " has MTU " + underlayLink.mtu() + ", so pods get at most " + vx.mtu()
                    + " (underlay - " + VxlanConfig.ENCAPSULATION_OVERHEAD + ")");
        }
        vxlan = new VxlanDevice(netlink, vx);
        VxlanDevice.Ensured ensured = vxlan.ensure();
        System.err.println("shunt agent: overlay " + vx.name() + " " + ensured.outcome().name().toLowerCase()
                + (ensured.changes().isEmpty() ? "" : " " + ensured.changes()) + ", VNI " + vx.vni() + ", port " + vx.port()
                + ", MTU " + vx.mtu() + ", VTEP MAC " + vx.vtepMac());
        overlayPeers = new OverlayPeers(netlink, vx);
        overlayPeers.reconcile(List.of()); // a recreated device lost its entries; stale ones of an old run go
        fastPath.attachOverlay(vx.name(), ServiceTable.ipv4((java.net.Inet4Address) config.podCidr().network()));
    }

    /** This node as the overlay's peers see it, or null without an overlay. */
    public synchronized OverlayPeer overlaySelf() {
        if (vxlan == null) {
            return null;
        }
        VxlanConfig vx = vxlan.config();
        return new OverlayPeer(config.node(), vx.local(), vx.vtepMac(),
                dev.shunt.netlink.IpPrefix.parse(config.podCidr().toString()));
    }

    /**
     * The other nodes of the cluster, as the recorded nodes say (this node, if listed, is
     * skipped): their FDB and neighbour entries on {@code shunt.vx} are reconciled (missing ones
     * added, stale ones removed) and the fast path routes their pod CIDRs to the overlay.
     */
    private PeerChanges setPeers(java.util.Collection<OverlayPeer> all) {
        if (vxlan == null) {
            throw new IllegalStateException("node " + config.node() + " runs without an overlay (start it with an underlay IP)");
        }
        List<OverlayPeer> remote = all.stream().filter(p -> !p.nodeName().equals(config.node())).toList();
        for (OverlayPeer p : remote) {
            Cidr theirs = Cidr.parse(p.podCidr().toString());
            if (theirs.overlaps(config.podCidr())) {
                throw new IllegalArgumentException("node " + p.nodeName() + "'s pod CIDR " + theirs
                        + " overlaps this node's " + config.podCidr());
            }
        }
        PeerChanges changes = overlayPeers.reconcile(remote);
        List<FastPath.RemoteNode> routes = remote.stream().map(p -> new FastPath.RemoteNode(
                ServiceTable.ipv4((java.net.Inet4Address) p.podCidr().address()), p.podCidr().length(), FastPath.mac(p.vtepMac())))
                .toList();
        fastPath.setRemoteNodes(routes);
        peers = remote;
        return changes;
    }

    public synchronized List<OverlayPeer> peers() {
        return peers;
    }

    private void stop(boolean graceful) {
        if (api != null) {
            api.close();
        }
        synchronized (this) {
            stopped = true;
        }
        if (etcdMirror != null) {
            etcdMirror.close();
        }
        if (etcdNodes != null) {
            // Not released: the subnet key outlives the agent by the TTL, so a restart keeps it.
            etcdNodes.close();
        }
        scheduler.shutdownNow();
        captures.stop();
        fastPath.close();
        if (vxlan != null) {
            vxlan.remove();
        }
        if (!fastPath.stopped()) {
            // The pipeline reads the table at raw addresses: it stays mapped while a poll may still run.
            System.err.println("shunt agent: leaving the connection table mapped (the poll loop did not stop)");
        } else if (graceful) {
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
