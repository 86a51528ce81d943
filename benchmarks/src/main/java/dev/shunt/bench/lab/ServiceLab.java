package dev.shunt.bench.lab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.agent.ServiceSpec;
import dev.shunt.netns.NetworkNamespace;
import dev.shunt.sys.Fd;
import dev.shunt.sys.Namespaces;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The benchmark lab, the same for every data plane: a node namespace, a client pod and two server
 * pods (veth pairs, /32 addresses, default route via 169.254.1.1 as Shunt's pods have), and N
 * Services with 2 endpoints each. Only the measured Service ({@value #VIP}, port {@value #PORT}
 * TCP and UDP, target port {@value #TARGET_PORT}, and bulk port {@value #BULK_PORT} TCP) has the
 * real servers as endpoints; the others point at addresses in 10.244.0.0/16 that no pod has, as a
 * big cluster's Services point at pods on other nodes. The client side is {@link LabClient}; the
 * measured Service's endpoints can be changed as each data plane's control plane changes them
 * ({@link #addSpareEndpoint}, {@link #prepareWithdrawal}).
 *
 * <ul>
 *   <li>{@link Dataplane#IPTABLES}: the kernel routes the pods as the CNI ptp plugin sets them up
 *       (gateway address on each host-side veth, a /32 route per pod) and kube-proxy's iptables
 *       ruleset ({@link KubeProxyRulesets#iptables}) is loaded with one {@code iptables-restore};
 *       the measured Service's rules come last in KUBE-SERVICES.</li>
 *   <li>{@link Dataplane#NFTABLES}: the same routing, kube-proxy's nftables ruleset loaded with one
 *       {@code nft -f} (or several: {@link #NFT_LOAD_CHUNK}).</li>
 *   <li>{@link Dataplane#SHUNT}: Shunt's agent runs in the node namespace and creates the pods;
 *       the other Services are written to its state directory before it starts (it loads them as
 *       after a restart: 10000 API calls would each rebuild the whole Service table), the measured
 *       one is added through its API. Shunt takes endpoints from pod labels only, so the other
 *       Services select no pod and have no endpoints: their lookup cost in the fast path (one hash
 *       table) is the same either way.</li>
 * </ul>
 *
 * <p>Everything is created inside namespaces named {@code shunt-bench-ID-*} (netfilter tools run
 * with {@code ip netns exec}); {@link #close} and a shutdown hook remove them, the agent, its state
 * directory and its connection-table file.
 */
public final class ServiceLab implements AutoCloseable {
    public enum Dataplane {
        IPTABLES, NFTABLES, SHUNT;

        public static Dataplane parse(String name) {
            return valueOf(name.toUpperCase(Locale.ROOT));
        }
    }

    public static final String VIP = "10.96.0.10";
    public static final int PORT = 80;
    public static final int TARGET_PORT = 8080;
    /** The measured Service's third port, TCP to the servers' bulk sinks (iperf3's port, target the same). */
    public static final int BULK_PORT = 5201;
    public static final String CLUSTER_CIDR = "10.244.0.0/16";
    public static final String SERVICE_CIDR = "10.96.0.0/12";
    static final String POD_CIDR = "10.244.1.0/24";
    static final String GATEWAY = "169.254.1.1";
    /** iptables-restore of the system (iptables-nft on Debian 12); {@code -Dshunt.bench.iptables=legacy} picks iptables-legacy. */
    static final String IPTABLES_VARIANT = System.getProperty("shunt.bench.iptables", "");
    /**
     * {@code -Dshunt.bench.nftLoadChunk=K}: load the nftables ruleset in transactions of K
     * Services (the base chains with the first K, then K Services' chains, rules and elements per
     * {@code nft -f}) instead of kube-proxy's one start-up transaction. The kernel ends in the same
     * state (same rules, chains and elements); it is only faster: this kernel's cost of binding the
     * anonymous {@code numgen} maps grows with the square of one transaction's size (80-100 s for
     * 10,000 Services in one, 12 s in chunks of 1000), so quick runs use it. 0: one transaction.
     */
    static final int NFT_LOAD_CHUNK = Integer.getInteger("shunt.bench.nftLoadChunk", 0);
    /** A withdrawn Shunt endpoint's pod stays terminating this long (longer than any trial). */
    static final int WITHDRAWN_GRACE_SECONDS = 600;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Dataplane dataplane;
    private final int services;
    private final String id;
    private final String nodeNamespace;
    private final List<String> madeNamespaces = new ArrayList<>();
    private final Path workDir;
    private final Thread cleanupHook;
    private Process agent;
    private AgentApi api;
    private EchoServers servers;
    private String clientNamespace;
    private final List<String> serverIps = new ArrayList<>();
    /** Kernel data planes: the measured Service's endpoints as last written to the kernel. */
    private List<String> measuredEndpoints = List.of();
    /** Kernel nftables: endpoint chains the last withdrawal flushed, deleted by the next change (as kube-proxy does a second later). */
    private List<String> staleNftChains = List.of();
    /** Shunt: the pod behind each endpoint address, and the spare pods made by {@link #addSpareEndpoint}. */
    private final Map<String, String> shuntPodsByIp = new LinkedHashMap<>();
    private final List<String> sparePods = new ArrayList<>();
    private long loadMillis;
    private final Map<String, Object> info = new LinkedHashMap<>();

    private ServiceLab(Dataplane dataplane, int services) {
        if (services < 1) {
            throw new IllegalArgumentException("services must be at least 1 (the measured one), not " + services);
        }
        this.dataplane = dataplane;
        this.services = services;
        this.id = String.format("%06x", ThreadLocalRandom.current().nextInt(1 << 24));
        this.nodeNamespace = "shunt-bench-" + id + "-node";
        try {
            this.workDir = Files.createTempDirectory("shunt-bench-" + id + "-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a work directory", e);
        }
        this.cleanupHook = Thread.ofPlatform().unstarted(this::cleanUp);
        Runtime.getRuntime().addShutdownHook(cleanupHook);
    }

    /** Builds the lab, loads the data plane and checks that a TCP and a UDP request through the VIP get answers. */
    public static ServiceLab start(Dataplane dataplane, int services) {
        ServiceLab lab = new ServiceLab(dataplane, services);
        try {
            lab.build();
            return lab;
        } catch (RuntimeException | Error e) {
            try {
                lab.close();
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    private void build() {
        makeNamespace(nodeNamespace);
        Commands.run("ip", "-n", nodeNamespace, "link", "set", "lo", "up");
        Commands.run(Commands.in(nodeNamespace, "sysctl", "-qw", "net.ipv4.ip_forward=1"));
        List<String> serverNamespaces = new ArrayList<>();
        if (dataplane == Dataplane.SHUNT) {
            startAgent();
            for (String pod : List.of("server-1", "server-2")) {
                JsonNode made = api.call("POST", "/v1/pods", Map.of("name", pod, "labels", Map.of("app", "bench-server")));
                serverIps.add(made.get("ip").asText());
                shuntPodsByIp.put(made.get("ip").asText(), pod);
                serverNamespaces.add(Path.of(made.get("netns").asText()).getFileName().toString());
            }
            JsonNode client = api.call("POST", "/v1/pods", Map.of("name", "client", "labels", Map.of("role", "client")));
            clientNamespace = Path.of(client.get("netns").asText()).getFileName().toString();
            long start = System.nanoTime();
            api.call("POST", "/v1/services", shuntSpec("measured", VIP, Map.of("app", "bench-server"), measuredShuntPorts()));
            info.put("measuredServiceAddMillis", (System.nanoTime() - start) / 1_000_000);
        } else {
            serverIps.addAll(List.of("10.244.1.1", "10.244.1.2"));
            serverNamespaces.add(kernelPod("server-1", "1", serverIps.get(0)));
            serverNamespaces.add(kernelPod("server-2", "2", serverIps.get(1)));
            clientNamespace = kernelPod("client", "c", "10.244.1.3");
            measuredEndpoints = List.copyOf(serverIps);
            loadKernelRules();
        }
        servers = new EchoServers(serverNamespaces, TARGET_PORT, BULK_PORT);
        checkReachable();
        recordRulesetSize();
        info.put("dataplane", dataplane.name().toLowerCase(Locale.ROOT));
        info.put("services", services);
        info.put("loadMillis", loadMillis);
        writeInfo();
    }

    // ------------------------------------------------------------------ the Services

    /**
     * The Services in kube-proxy's order: the N-1 others, then the measured one with
     * {@code measuredEndpoints}: its bulk port, then its TCP and UDP request ports last (the ports
     * ConnectBench and UdpFlowBench walk the whole KUBE-SERVICES chain for).
     */
    public static List<LabService> kubeServices(int services, List<String> measuredEndpoints) {
        List<LabService> out = new ArrayList<>(services + 2);
        for (int i = 0; i < services - 1; i++) {
            out.add(new LabService("bench", otherName(i), "http", "tcp", otherClusterIp(i), PORT,
                    List.of(absentPodIp(2 * i), absentPodIp(2 * i + 1)), TARGET_PORT));
        }
        out.addAll(measuredPorts(measuredEndpoints));
        return out;
    }

    /** The measured Service's ports (bulk, TCP, UDP) with {@code endpointIps}, as kube-proxy sees them. */
    public static List<LabService> measuredPorts(List<String> endpointIps) {
        return List.of(new LabService("bench", "measured", "bulk", "tcp", VIP, BULK_PORT, endpointIps, BULK_PORT),
                new LabService("bench", "measured", "tcp", "tcp", VIP, PORT, endpointIps, TARGET_PORT),
                new LabService("bench", "measured", "udp", "udp", VIP, PORT, endpointIps, TARGET_PORT));
    }

    private static List<ServiceSpec.Port> measuredShuntPorts() {
        return List.of(new ServiceSpec.Port("bulk", "TCP", BULK_PORT, BULK_PORT, 0),
                new ServiceSpec.Port("tcp", "TCP", PORT, TARGET_PORT, 0),
                new ServiceSpec.Port("udp", "UDP", PORT, TARGET_PORT, 0));
    }

    static String otherName(int i) {
        return String.format("svc-%06d", i);
    }

    /** 10.96.1.1 upwards: clear of the measured VIP and of Shunt's lowest-free allocation. */
    static String otherClusterIp(int i) {
        int a = (10 << 24) | (96 << 16) | 257 + i;
        return ((a >>> 24) & 255) + "." + ((a >>> 16) & 255) + "." + ((a >>> 8) & 255) + "." + (a & 255);
    }

    /** Addresses in 10.244.2.0 - 10.244.255.255 (never the lab node's 10.244.1.0/24), reused after 65024. */
    static String absentPodIp(int k) {
        int offset = 512 + k % (65536 - 512);
        return "10.244." + (offset >>> 8) + "." + (offset & 255);
    }

    private static ServiceSpec shuntSpec(String name, String clusterIp, Map<String, String> selector, List<ServiceSpec.Port> ports) {
        return new ServiceSpec(name, clusterIp, ServiceSpec.CLUSTER_IP, ports, selector, 0, ServiceSpec.CLUSTER,
                ServiceSpec.CLUSTER, System.currentTimeMillis());
    }

    // ------------------------------------------------------------------ kernel data planes

    /** A pod as the CNI ptp plugin makes it: veth, /32, default via the gateway, the gateway address and a /32 route on the host side. */
    private String kernelPod(String name, String tag, String ip) {
        String ns = "shunt-bench-" + id + "-" + name;
        String hostVeth = "sb" + id + tag;
        makeNamespace(ns);
        Commands.run("ip", "-n", ns, "link", "set", "lo", "up");
        Commands.run("ip", "-n", nodeNamespace, "link", "add", hostVeth, "type", "veth", "peer", "name", "eth0", "netns", ns);
        Commands.run("ip", "-n", ns, "addr", "add", ip + "/32", "dev", "eth0");
        Commands.run("ip", "-n", ns, "link", "set", "eth0", "up");
        Commands.run("ip", "-n", ns, "route", "add", GATEWAY, "dev", "eth0", "scope", "link");
        Commands.run("ip", "-n", ns, "route", "add", "default", "via", GATEWAY, "dev", "eth0");
        Commands.run("ip", "-n", nodeNamespace, "addr", "add", GATEWAY + "/32", "dev", hostVeth);
        Commands.run("ip", "-n", nodeNamespace, "link", "set", hostVeth, "up");
        Commands.run("ip", "-n", nodeNamespace, "route", "add", ip + "/32", "dev", hostVeth, "scope", "link");
        return ns;
    }

    private void loadKernelRules() {
        List<LabService> list = kubeServices(services, serverIps);
        long start = System.nanoTime();
        if (dataplane == Dataplane.IPTABLES) {
            String rules = KubeProxyRulesets.iptables(list, CLUSTER_CIDR);
            info.put("rulesetBytes", rules.length());
            start = System.nanoTime();
            Commands.feed(rules, Commands.in(nodeNamespace, iptablesTool("restore")));
        } else if (NFT_LOAD_CHUNK <= 0 || list.size() <= NFT_LOAD_CHUNK) {
            String rules = KubeProxyRulesets.nftables(list, CLUSTER_CIDR, SERVICE_CIDR);
            info.put("rulesetBytes", rules.length());
            info.put("nftTransactions", 1);
            start = System.nanoTime();
            Commands.feed(rules, Commands.in(nodeNamespace, "nft", "-f", "-"));
        } else {
            List<String> chunks = new ArrayList<>();
            chunks.add(KubeProxyRulesets.nftables(list.subList(0, NFT_LOAD_CHUNK), CLUSTER_CIDR, SERVICE_CIDR));
            for (int from = NFT_LOAD_CHUNK; from < list.size(); from += NFT_LOAD_CHUNK) {
                StringBuilder chunk = new StringBuilder();
                for (LabService s : list.subList(from, Math.min(from + NFT_LOAD_CHUNK, list.size()))) {
                    chunk.append(KubeProxyRulesets.nftService(s, CLUSTER_CIDR));
                }
                chunks.add(chunk.toString());
            }
            info.put("rulesetBytes", chunks.stream().mapToInt(String::length).sum());
            info.put("nftTransactions", chunks.size());
            start = System.nanoTime();
            for (String chunk : chunks) {
                Commands.feed(chunk, Commands.in(nodeNamespace, "nft", "-f", "-"));
            }
        }
        loadMillis = (System.nanoTime() - start) / 1_000_000;
    }

    // ------------------------------------------------------------------ endpoint changes

    /**
     * Makes one more endpoint of the measured Service ready, as the set-up of a withdrawal
     * ({@link #prepareWithdrawal}); not meant to be timed. Kernel data planes: address
     * 10.244.1.(10 + k mod 200), which no pod has, written by rewriting only the measured
     * Service's chains (iptables: {@link KubeProxyRulesets#iptablesChains}; nftables: kube-proxy's
     * partial-sync transaction, which also deletes the endpoint chains the last withdrawal left
     * flushed). Shunt: a new pod {@code spare-K} with the servers' label (the spare pods of
     * earlier calls are deleted first, so the agent holds the same pods every time). Returns the
     * endpoint's address.
     */
    public String addSpareEndpoint(int k) {
        if (dataplane == Dataplane.SHUNT) {
            for (String pod : sparePods) {
                api.call("DELETE", "/v1/pods/" + pod, null);
                shuntPodsByIp.values().remove(pod);
            }
            sparePods.clear();
            String pod = "spare-" + k;
            JsonNode made = api.call("POST", "/v1/pods", Map.of("name", pod, "labels", Map.of("app", "bench-server")));
            String ip = made.get("ip").asText();
            shuntPodsByIp.put(ip, pod);
            sparePods.add(pod);
            return ip;
        }
        String ip = "10.244.1." + (10 + Math.floorMod(k, 200));
        if (measuredEndpoints.contains(ip)) {
            throw new IllegalStateException(ip + " is an endpoint of the measured Service already");
        }
        List<String> after = new ArrayList<>(measuredEndpoints);
        after.add(ip);
        if (dataplane == Dataplane.IPTABLES) {
            loadIptables(KubeProxyRulesets.iptablesChains(measuredPorts(after), CLUSTER_CIDR, List.of()), true);
        } else {
            StringBuilder tx = new StringBuilder();
            for (String chain : staleNftChains) {
                tx.append("delete chain ip kube-proxy ").append(chain).append('\n');
            }
            tx.append(KubeProxyRulesets.nftEndpointsChanged(measuredPorts(after), CLUSTER_CIDR, List.of()));
            loadNft(tx.toString());
            staleNftChains = List.of();
        }
        measuredEndpoints = List.copyOf(after);
        return ip;
    }

    /**
     * Prepares taking endpoint {@code ip} out of the measured Service, as when its pod stops being
     * ready, and returns the one step each data plane's control plane then takes, ready to be
     * timed (rules are generated here, not in the step):
     * <ul>
     *   <li>iptables: kube-proxy's full sync, one {@code iptables-restore --noflush} of the whole
     *       filter and nat tables without the endpoint, its KUBE-SEP chains deleted;</li>
     *   <li>nftables: kube-proxy's partial sync, one {@code nft -f} transaction rewriting the
     *       measured Service's chains ({@link KubeProxyRulesets#nftEndpointsChanged});</li>
     *   <li>shunt: one API call, {@code DELETE /v1/pods/POD?grace=600}: the pod turns terminating,
     *       so its endpoint is no longer ready; it returns once the new Service table is
     *       published to the fast path.</li>
     * </ul>
     */
    public Supplier<Object> prepareWithdrawal(String ip) {
        if (dataplane == Dataplane.SHUNT) {
            String pod = shuntPodsByIp.get(ip);
            if (pod == null) {
                throw new IllegalArgumentException(ip + " is no pod of this lab");
            }
            String path = "/v1/pods/" + pod + "?grace=" + WITHDRAWN_GRACE_SECONDS;
            return () -> api.call("DELETE", path, null);
        }
        if (!measuredEndpoints.contains(ip)) {
            throw new IllegalArgumentException(ip + " is not an endpoint of the measured Service (" + measuredEndpoints + ")");
        }
        List<String> after = new ArrayList<>(measuredEndpoints);
        after.remove(ip);
        List<LabService> before = measuredPorts(measuredEndpoints);
        List<LabService> now = measuredPorts(after);
        List<String> gone = new ArrayList<>();
        if (dataplane == Dataplane.IPTABLES) {
            for (int i = 0; i < before.size(); i++) {
                gone.addAll(KubeProxyRulesets.goneEndpointChains(before.get(i), now.get(i)));
            }
            String rules = KubeProxyRulesets.iptables(kubeServices(services, after), CLUSTER_CIDR, gone);
            return () -> {
                String out = loadIptables(rules, true);
                measuredEndpoints = List.copyOf(after);
                return out;
            };
        }
        for (int i = 0; i < before.size(); i++) {
            gone.addAll(KubeProxyRulesets.goneNftEndpointChains(before.get(i), now.get(i)));
        }
        String tx = KubeProxyRulesets.nftEndpointsChanged(now, CLUSTER_CIDR, gone);
        return () -> {
            String out = loadNft(tx);
            measuredEndpoints = List.copyOf(after);
            staleNftChains = List.copyOf(gone);
            return out;
        };
    }

    /** Loads an {@code iptables-restore} file into the node namespace ({@code --noflush}: as kube-proxy, leave other tables alone). */
    public String loadIptables(String rules, boolean noflush) {
        return noflush ? Commands.feed(rules, Commands.in(nodeNamespace, iptablesTool("restore"), "--noflush"))
                : Commands.feed(rules, Commands.in(nodeNamespace, iptablesTool("restore")));
    }

    /** Loads an {@code nft -f} file (one transaction) into the node namespace. */
    public String loadNft(String rules) {
        return Commands.feed(rules, Commands.in(nodeNamespace, "nft", "-f", "-"));
    }

    /** {@code iptables-restore}, {@code iptables-save} or {@code iptables} of the chosen variant. */
    public static String iptablesTool(String verb) {
        String base = IPTABLES_VARIANT.isEmpty() ? "iptables" : "iptables-" + IPTABLES_VARIANT;
        return verb.isEmpty() ? base : base + "-" + verb;
    }

    /** Empties the node namespace's kernel connection table (kernel data planes; Shunt's table is fresh per lab). */
    public void flushConntrack() {
        if (dataplane != Dataplane.SHUNT) {
            try {
                Commands.run(Commands.in(nodeNamespace, "conntrack", "-F"));
            } catch (IllegalStateException e) {
                // conntrack -F exits 1 with "0 flow entries" on some versions when the table is empty
                if (!e.getMessage().contains("0 flow entries")) {
                    throw e;
                }
            }
        }
    }

    // ------------------------------------------------------------------ Shunt

    private void startAgent() {
        String node = "bench-" + id;
        Path state = workDir.resolve("state");
        Path socket = workDir.resolve("agent.sock");
        try {
            Files.createDirectories(state.resolve("services"));
            // The other Services, in the agent's own record format, as a restarted agent finds them.
            for (int i = 0; i < services - 1; i++) {
                ServiceSpec spec = shuntSpec(otherName(i), otherClusterIp(i), Map.of("app", otherName(i)),
                        List.of(new ServiceSpec.Port("http", "TCP", PORT, TARGET_PORT, 0)));
                Files.write(state.resolve("services").resolve(spec.name() + ".json"), JSON.writeValueAsBytes(spec));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the Service records", e);
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of("nsenter", "--net=/run/netns/" + nodeNamespace, java));
        String agentOptions = System.getProperty("shunt.bench.agentJvmArgs", "");
        if (!agentOptions.isBlank()) {
            command.addAll(List.of(agentOptions.trim().split("\\s+")));
        }
        command.addAll(List.of("-jar", shuntJar().toString(), "agent", "--node", node, "--pod-cidr", POD_CIDR,
                "--state", state.toString(), "--socket", socket.toString()));
        long start = System.nanoTime();
        try {
            agent = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(workDir.resolve("agent.log").toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the agent", e);
        }
        api = new AgentApi(socket);
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (true) {
            if (!agent.isAlive()) {
                throw new IllegalStateException("the agent exited (" + agent.exitValue() + "): " + agentLog());
            }
            if (Files.exists(socket)) {
                try {
                    api.call("GET", "/v1/status", null);
                    break;
                } catch (IllegalStateException notYet) {
                    // socket bound, not serving yet
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the agent did not answer within 120 s: " + agentLog());
            }
            sleep(50);
        }
        loadMillis = (System.nanoTime() - start) / 1_000_000;
    }

    /** The agent's jar: {@code -Dshunt.jar}, else java/target/shunt.jar in this directory or a parent. */
    static Path shuntJar() {
        String configured = System.getProperty("shunt.jar", System.getenv("SHUNT_JAR"));
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured).toAbsolutePath();
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path jar = dir.resolve("java/target/shunt.jar");
            if (Files.exists(jar)) {
                return jar;
            }
        }
        throw new IllegalStateException("no java/target/shunt.jar here or above " + Path.of("").toAbsolutePath()
                + " (build it with 'mvn -B -DskipTests package' or pass -Dshunt.jar=PATH)");
    }

    private String agentLog() {
        try {
            String log = Files.readString(workDir.resolve("agent.log"));
            return log.length() > 4000 ? log.substring(log.length() - 4000) : log;
        } catch (IOException e) {
            return "(no agent log)";
        }
    }

    /** The agent's API, for benchmarks that change Services (Shunt data plane only). */
    public AgentApi agentApi() {
        if (api == null) {
            throw new IllegalStateException("no agent in a " + dataplane + " lab");
        }
        return api;
    }

    // ------------------------------------------------------------------ checks and facts

    /**
     * One TCP and one UDP request through the VIP from the client pod, retried for up to 20 s
     * (Shunt's pods answer ARP only once the fast path is polling); until both servers have
     * answered at least once, so the Service really spreads over two endpoints.
     */
    private void checkReachable() {
        long deadline = System.nanoTime() + 20_000_000_000L;
        boolean[] tcpSeen = new boolean[2];
        boolean[] udpSeen = new boolean[2];
        String last = "";
        int attempts = 0;
        while (!(tcpSeen[0] && tcpSeen[1] && udpSeen[0] && udpSeen[1]) || attempts < 4) {
            attempts++;
            try {
                int t = NetworkNamespace.named(clientNamespace).call(() -> LabClient.tcpRequest(1000));
                tcpSeen[t - '1'] = true;
                int u = NetworkNamespace.named(clientNamespace).call(() -> LabClient.udpRequest(1000));
                udpSeen[u - '1'] = true;
            } catch (RuntimeException e) {
                last = e.toString();
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(dataplane + " lab: requests to " + VIP + ":" + PORT + " from the client pod did not"
                        + " reach both servers in 20 s (tcp " + tcpSeen[0] + "/" + tcpSeen[1] + ", udp " + udpSeen[0] + "/"
                        + udpSeen[1] + "); last error: " + last + (agent != null ? "; agent log: " + agentLog() : ""));
            }
        }
        ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 16);
        try {
            NetworkNamespace.named(clientNamespace).call(() -> LabClient.bulkTransfer(chunk, 1 << 20, 5000));
        } catch (RuntimeException e) {
            throw new IllegalStateException(dataplane + " lab: a 1 MiB transfer to " + VIP + ":" + BULK_PORT + " failed: " + e
                    + (agent != null ? "; agent log: " + agentLog() : ""), e);
        }
    }

    private void recordRulesetSize() {
        switch (dataplane) {
            case IPTABLES -> {
                String saved = Commands.run(Commands.in(nodeNamespace, iptablesTool("save")));
                info.put("iptablesRules", saved.lines().filter(l -> l.startsWith("-A ")).count());
                info.put("iptablesChains", saved.lines().filter(l -> l.startsWith(":")).count());
                info.put("kubeServicesRules", saved.lines().filter(l -> l.startsWith("-A KUBE-SERVICES ")).count());
            }
            case NFTABLES -> countNft("nft");
            case SHUNT -> {
                info.put("shuntServices", api.call("GET", "/v1/services", null).size());
                countNft("nft");
            }
        }
    }

    private void countNft(String prefix) {
        String listed = Commands.run(Commands.in(nodeNamespace, "nft", "-j", "list", "ruleset"));
        try {
            JsonNode root = JSON.readTree(listed).path("nftables");
            long rules = 0;
            long chains = 0;
            long elements = 0;
            for (JsonNode item : root) {
                if (item.has("rule")) {
                    rules++;
                } else if (item.has("chain")) {
                    chains++;
                } else if (item.has("map") && item.get("map").has("elem")) {
                    elements += item.get("map").get("elem").size();
                } else if (item.has("set") && item.get("set").has("elem")) {
                    elements += item.get("set").get("elem").size();
                }
            }
            info.put(prefix + "Rules", rules);
            info.put(prefix + "Chains", chains);
            info.put(prefix + "SetElements", elements);
        } catch (IOException e) {
            throw new UncheckedIOException("unreadable nft -j output", e);
        }
    }

    /** Appends this lab's facts (load time, ruleset size) as one JSON line to $SHUNT_BENCH_LABINFO, if set. */
    private void writeInfo() {
        System.err.println("shunt-bench lab: " + info);
        String file = System.getenv("SHUNT_BENCH_LABINFO");
        if (file == null || file.isBlank()) {
            return;
        }
        try {
            Files.writeString(Path.of(file), JSON.writeValueAsString(info) + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to " + file, e);
        }
    }

    public Map<String, Object> info() {
        return Map.copyOf(info);
    }

    // ------------------------------------------------------------------ accessors

    public Dataplane dataplane() {
        return dataplane;
    }

    public int services() {
        return services;
    }

    public String nodeNamespace() {
        return nodeNamespace;
    }

    public String clientNamespace() {
        return clientNamespace;
    }

    public List<String> serverIps() {
        return List.copyOf(serverIps);
    }

    /**
     * Moves the calling thread into the client pod's namespace (sockets it opens from then on are
     * the client's); returns an fd on where it was, for {@link #leave}.
     */
    public Fd enterClient() {
        Fd home = NetworkNamespace.openCurrent();
        try (Fd client = NetworkNamespace.named(clientNamespace).openFd()) {
            Namespaces.enterNetwork(client);
        } catch (RuntimeException e) {
            home.close();
            throw e;
        }
        return home;
    }

    /** Moves the calling thread back to the namespace {@code home} refers to, and closes it. */
    public static void leave(Fd home) {
        try (home) {
            Namespaces.enterNetwork(home);
        }
    }

    // ------------------------------------------------------------------ clean-up

    private void makeNamespace(String name) {
        madeNamespaces.add(name);
        NetworkNamespace.create(name);
    }

    @Override
    public void close() {
        cleanUp();
        try {
            Runtime.getRuntime().removeShutdownHook(cleanupHook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or has run
        }
    }

    /** Stops the servers and the agent, deletes every shunt-bench-ID-* namespace and the work files; safe to call twice. */
    private synchronized void cleanUp() {
        if (servers != null) {
            servers.close();
            servers = null;
        }
        if (agent != null) {
            agent.destroy();
            try {
                if (!agent.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
                    agent.destroyForcibly().waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                agent.destroyForcibly();
                Thread.currentThread().interrupt();
            }
            agent = null;
        }
        String prefix = "shunt-bench-" + id + "-";
        for (String ns : NetworkNamespace.list()) {
            if (ns.startsWith(prefix) && !ns.equals(nodeNamespace)) {
                deleteNamespace(ns);
            }
        }
        if (NetworkNamespace.exists(nodeNamespace)) {
            deleteNamespace(nodeNamespace);
        }
        try {
            Files.deleteIfExists(Path.of("/dev/shm", "shunt-bench-" + id + "-conntrack"));
            if (Files.exists(workDir)) {
                try (Stream<Path> files = Files.walk(workDir)) {
                    for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(p);
                    }
                }
            }
        } catch (IOException e) {
            System.err.println("shunt-bench lab: cannot remove " + workDir + ": " + e.getMessage());
        }
    }

    private static void deleteNamespace(String ns) {
        try {
            NetworkNamespace.named(ns).delete();
        } catch (RuntimeException e) {
            Commands.runQuietly("ip", "netns", "del", ns);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
