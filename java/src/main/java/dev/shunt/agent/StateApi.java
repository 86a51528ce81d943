package dev.shunt.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shunt.ipam.Cidr;
import dev.shunt.state.ClusterState;
import dev.shunt.state.DiffingStateSource;
import dev.shunt.state.Endpoint;
import dev.shunt.state.Manifest;
import dev.shunt.state.ManifestException;
import dev.shunt.state.ManifestReader;
import dev.shunt.state.ManifestWriter;
import dev.shunt.state.Node;
import dev.shunt.state.ObjectRef;
import dev.shunt.state.Pod;
import dev.shunt.state.Service;
import dev.shunt.state.StateListener;
import dev.shunt.state.StateObject;

import java.net.InetAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The desired-state API behind {@code shunt apply -f}, {@code shunt delete -f} and {@code shunt
 * get}: manifests in ({@link ManifestReader}), the node's nodes, pods and Services out as
 * manifests ({@link ManifestWriter}), and the same state as a {@link dev.shunt.state.StateSource}
 * for whoever follows it in the agent (the overlay, later).
 *
 * <p>Apply is all or nothing. First everything is checked: the text ({@link ManifestReader}), then
 * each object against the node (Services through a trial copy of the {@link ServiceRegistry}, so
 * two Services of one file cannot take the same address or node port; pods against the pods
 * there; nodes against each other's pod CIDRs and underlay IPs); any problem refuses the whole
 * file. Then it is carried out, the fallible kernel work (new pods' plumbing) first; if a step
 * still fails, what was done is undone in reverse. Objects that equal what the node has are
 * "unchanged" and not touched, so applying a file twice changes nothing.
 *
 * <p>Where things go: Services into the {@link ServiceRegistry} and {@link ServiceStore}, as
 * {@code shunt service add} puts them (a Service's ClusterIP cannot change; its node ports are
 * kept); a pod of this node through the agent's pod creation, one of another node (its {@code
 * spec.node}) recorded only, in {@code STATE/remote-pods/}; nodes recorded in {@code STATE/nodes/}.
 * A crash half-way through a commit can leave part of a file applied: each record is durable on
 * its own, and applying the file again completes it.
 *
 * <p>Routes, under {@code /v1/state/}: {@code POST apply} and {@code POST delete} take {@code
 * {"manifest": TEXT}} and answer {@code {"results": [{"object": "service/web", "outcome":
 * "created"}], "warnings": [...]}}; a refused file answers 400 with {@code error}, {@code
 * problems} and {@code warnings}. {@code GET nodes|pods|services} answer a {@code v1 List}.
 *
 * <p>Not thread-safe: called under the agent's lock (from {@link Agent#handle} and the agent's
 * publishing of Services).
 */
final class StateApi {
    static final String PREFIX = "/v1/state/";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Agent agent;
    private final AgentConfig config;
    private final ServiceRegistry services;
    private final ServiceStore serviceStore;
    private final PodNetwork podNetwork;
    private final StateRecords<Node> nodes;
    private final StateRecords<Pod> remotePods;
    private final DiffingStateSource source = new DiffingStateSource(e -> System.err.println(
            "shunt agent: a follower of the desired state failed and no longer follows it: " + e));

    StateApi(Agent agent, AgentConfig config, ServiceRegistry services, ServiceStore serviceStore, PodNetwork podNetwork) {
        this.agent = agent;
        this.config = config;
        this.services = services;
        this.serviceStore = serviceStore;
        this.podNetwork = podNetwork;
        this.nodes = new StateRecords<>(config.stateDir(), "nodes", Node.class);
        this.remotePods = new StateRecords<>(config.stateDir(), "remote-pods", Pod.class);
    }

    ApiServer.Response handle(String method, String path, byte[] body) throws Exception {
        String what = path.substring(PREFIX.length());
        if (method.equals("GET")) {
            List<? extends StateObject> objects = switch (what) {
                case "nodes" -> List.copyOf(nodes.all().values());
                case "pods" -> pods();
                case "services" -> services.all().stream().map(StateApi::service).toList();
                default -> throw new ApiServer.Refusal(404, "no such API: GET " + path + " (nodes, pods or services)");
            };
            return ApiServer.Response.ok(JSON.writeValueAsString(ManifestWriter.list(objects, endpoints())));
        }
        if (method.equals("POST") && (what.equals("apply") || what.equals("delete"))) {
            JsonNode request = JSON.readTree(body);
            if (request == null || !request.path("manifest").isTextual()) {
                throw new IllegalArgumentException("body must be {\"manifest\": TEXT}");
            }
            String text = request.get("manifest").textValue();
            try {
                return ApiServer.Response.ok(JSON.writeValueAsString(what.equals("apply") ? apply(text) : delete(text)));
            } catch (ManifestException e) {
                ObjectNode out = JSON.createObjectNode().put("error", (what.equals("apply") ? "nothing applied: " : "nothing deleted: ")
                        + e.getMessage());
                e.problems().forEach(out.putArray("problems")::add);
                e.warnings().forEach(out.putArray("warnings")::add);
                return new ApiServer.Response(400, JSON.writeValueAsString(out));
            }
        }
        throw new ApiServer.Refusal(404, "no such API: " + method + " " + path);
    }

    /** The nodes recorded (by apply, or later a cluster store), this node's own included if it was. */
    java.util.Collection<Node> nodes() {
        return nodes.all().values();
    }

    /** The pods recorded for other nodes that have an address (a pod of this node's name is this node's). */
    List<Pod> remotePods() {
        Map<String, PodRecord> local = agent.pods();
        return allRemotePods().stream()
                .filter(p -> !p.ip().isEmpty() && !p.node().equals(config.node()) && !local.containsKey(p.name())).toList();
    }

    /** Other nodes' pods: those etcd lists (with {@code --etcd}), then those recorded with apply. */
    private List<Pod> allRemotePods() {
        List<Pod> out = new ArrayList<>();
        EtcdMirror etcd = agent.etcdMirror();
        if (etcd != null) {
            out.addAll(etcd.remotePods());
        }
        out.addAll(remotePods.all().values());
        return out;
    }

    /** Starts {@code listener} on the node's desired state: a snapshot now, then every change. */
    AutoCloseable subscribe(StateListener listener) {
        source.publish(current());
        return source.subscribe(listener);
    }

    /** Tells the listeners what changed since the last call (nothing to do while nobody listens). */
    void publish() {
        if (source.hasListeners()) {
            source.publish(current());
        }
    }

    /** The node's desired state: the nodes it recorded, its pods and the others it recorded, its Services. */
    ClusterState current() {
        List<StateObject> objects = new ArrayList<>(nodes.all().values());
        objects.addAll(pods());
        services.all().forEach(s -> objects.add(service(s)));
        return ClusterState.of(objects);
    }

    /** This node's pods, then those recorded for other nodes (one that has a name of this node's is left out: this node's runs). */
    private List<Pod> pods() {
        Map<String, PodRecord> local = agent.pods();
        List<Pod> out = new ArrayList<>();
        new TreeMap<>(local).values().forEach(p -> out.add(new Pod(p.name(), config.node(), p.labels(), p.ip(), p.terminating())));
        allRemotePods().stream().filter(p -> !local.containsKey(p.name())).forEach(out::add);
        return out;
    }

    private Map<String, List<Endpoint>> endpoints() {
        Map<String, List<Endpoint>> out = new HashMap<>();
        for (ServiceRegistry.ServiceView view : agent.services()) {
            out.put(view.name(), view.endpoints().stream()
                    .map(e -> new Endpoint(e.pod(), e.node(), e.ip(), e.ready(), e.serving(), e.terminating())).toList());
        }
        return out;
    }

    static Service service(ServiceSpec s) {
        return new Service(s.name(), s.type(), s.clusterIp(), s.ports().stream()
                .map(p -> new Service.Port(p.name(), p.protocol(), p.port(), p.targetPort(), p.nodePort())).toList(),
                s.selector(), s.affinitySeconds(), s.externalTrafficPolicy(), s.internalTrafficPolicy());
    }

    static ServiceSpec request(Service s) {
        return new ServiceSpec(s.name(), s.clusterIp().isEmpty() ? null : s.clusterIp(), s.type(), s.ports().stream()
                .map(p -> new ServiceSpec.Port(p.name(), p.protocol(), p.port(), p.targetPort(), p.nodePort())).toList(),
                s.selector(), s.affinityTimeoutSeconds(), s.externalTrafficPolicy(), s.internalTrafficPolicy(), 0);
    }

    // ---- apply

    /** What applying one object does: {@code outcome} is created, configured or unchanged; {@code commit} does it (null: nothing to do). */
    private record Step(StateObject object, String outcome, Commit commit) {}

    /** One change to the node, which returns how to take it back. */
    @FunctionalInterface
    private interface Commit {
        Runnable run();
    }

    private static final String REFUSE_APPLY = "nothing applied: the Services could not be written to etcd";
    private static final String REFUSE_DELETE = "nothing deleted: the Services could not be deleted in etcd";

    /** The transaction lost a race with another writer: plan again from what etcd holds now. */
    private static final class LostRace extends RuntimeException {
        LostRace() {
            super("another node changed the same Services in etcd", null, false, false);
        }
    }

    /**
     * With {@code --etcd}, Services live in etcd: the plan is made against the Services etcd holds
     * now (read first: an unreachable etcd refuses the file before anything is done), and they are
     * written in one transaction with their claims ({@link ServiceClaims}) after the rest of the
     * file; a lost race undoes the rest and plans again (so a file applied on two nodes at once
     * ends as one Service with one ClusterIP, "unchanged" for the later one).
     */
    private Map<String, Object> apply(String text) {
        Manifest manifest = ManifestReader.read(text);
        EtcdMirror etcd = manifest.objects().stream().anyMatch(o -> o instanceof Service) ? agent.etcdMirror() : null;
        for (int attempt = 1; attempt <= EtcdMirror.commitAttempts(); attempt++) {
            Map<String, ServiceClaims.Stored> stored = etcd == null ? null : etcd.readServices(REFUSE_APPLY);
            try {
                return apply(manifest, etcd, stored);
            } catch (LostRace e) {
                System.err.println("shunt agent: etcd: another writer changed the same Services first; planning the file again");
            }
        }
        throw etcd.lostRaces(REFUSE_APPLY);
    }

    private Map<String, Object> apply(Manifest manifest, EtcdMirror etcd, Map<String, ServiceClaims.Stored> stored) {
        List<String> problems = new ArrayList<>();
        List<String> warnings = new ArrayList<>(manifest.warnings());
        Map<String, Node> nodesAfter = new TreeMap<>(nodes.all());
        Map<StateObject, Step> steps = new HashMap<>();
        for (StateObject o : manifest.objects()) {
            if (o instanceof Node n) {
                steps.put(n, planNode(n, nodesAfter, problems));
            }
        }
        checkNodesAgree(manifest, nodesAfter, problems);
        Map<String, String> podIps = new HashMap<>();
        agent.pods().values().forEach(p -> podIps.put(p.ip(), p.name()));
        remotePods.all().values().stream().filter(p -> !p.ip().isEmpty()).forEach(p -> podIps.put(p.ip(), p.name()));
        for (StateObject o : manifest.objects()) {
            if (o instanceof Pod p) {
                steps.put(p, planPod(p, nodesAfter, podIps, problems, warnings));
            }
        }
        ServiceRegistry trial = new ServiceRegistry(config.node(), stored == null ? services.all()
                : stored.values().stream().map(ServiceClaims.Stored::spec).toList());
        ServiceClaims claims = etcd == null ? null : new ServiceClaims(etcd.keys());
        long now = System.currentTimeMillis();
        for (StateObject o : manifest.objects()) {
            if (o instanceof Service s) {
                steps.put(s, planService(s, trial, now, problems, claims, stored));
            }
        }
        if (!problems.isEmpty()) {
            throw new ManifestException(problems, warnings);
        }
        List<Step> ordered = manifest.objects().stream().map(steps::get).toList();
        Commit last = claims == null || claims.isEmpty() ? null : () -> {
            if (etcd.tryCommit(REFUSE_APPLY, claims.build()).isEmpty()) {
                throw new LostRace();
            }
            return () -> {}; // etcd has it; nothing after this step can fail but the publish
        };
        commit(ordered, last);
        List<Map<String, String>> results = new ArrayList<>();
        for (Step step : ordered) {
            results.add(Map.of("object", step.object().kind().singular() + "/" + step.object().name(), "outcome", step.outcome()));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("results", results);
        out.put("warnings", warnings);
        return out;
    }

    private Step planNode(Node n, Map<String, Node> nodesAfter, List<String> problems) {
        Cidr cidr = Cidr.parse(n.podCidr());
        Cidr cluster = AgentConfig.CLUSTER_CIDR;
        if (cidr.prefixLength() < cluster.prefixLength() || !cluster.contains(cidr.network())) {
            problems.add(n.path() + ": spec.podCIDR: " + cidr + " is outside the cluster CIDR " + cluster);
        }
        if (n.name().equals(config.node()) && !cidr.equals(config.podCidr())) {
            problems.add(n.path() + ": spec.podCIDR: " + cidr + " differs from this node's pod CIDR " + config.podCidr()
                    + " (shunt agent --pod-cidr)");
        }
        Node before = nodes.get(n.name());
        nodesAfter.put(n.name(), n);
        if (n.equals(before)) {
            return new Step(n, "unchanged", null);
        }
        return new Step(n, before == null ? "created" : "configured", () -> {
            nodes.save(n);
            return () -> {
                if (before == null) {
                    nodes.remove(n.name());
                } else {
                    nodes.save(before);
                }
            };
        });
    }

    /** No two nodes share pod addresses or an underlay IP; this node's own pod CIDR counts even if no Node records it. */
    private void checkNodesAgree(Manifest manifest, Map<String, Node> nodesAfter, List<String> problems) {
        Map<String, Node> all = new TreeMap<>(nodesAfter);
        all.putIfAbsent(config.node(), new Node(config.node(), config.podCidr().toString(), "", ""));
        List<String> given = manifest.objects().stream().filter(o -> o instanceof Node).map(StateObject::name).toList();
        for (String name : given) {
            Node n = all.get(name);
            Cidr cidr = Cidr.parse(n.podCidr());
            for (Node other : all.values()) {
                if (other.name().equals(name) || (given.contains(other.name()) && other.name().compareTo(name) < 0)) {
                    continue; // itself, or a pair of the file already reported the other way round
                }
                if (cidr.overlaps(Cidr.parse(other.podCidr()))) {
                    problems.add(n.path() + ": spec.podCIDR: " + cidr + " overlaps node " + other.name() + "'s " + other.podCidr());
                }
                if (n.underlayIp().equals(other.underlayIp())) {
                    problems.add(n.path() + ": spec.underlayIP: " + n.underlayIp() + " is node " + other.name() + "'s too");
                }
            }
        }
    }

    private Step planPod(Pod p, Map<String, Node> nodesAfter, Map<String, String> podIps, List<String> problems,
                         List<String> warnings) {
        String node = p.node().isEmpty() ? config.node() : p.node();
        PodRecord local = agent.pods().get(p.name());
        Pod remote = remotePods.get(p.name());
        int before = problems.size();
        if (node.equals(config.node())) {
            if (remote != null) {
                problems.add(p.path() + ": spec.node: the pod is recorded on node " + remote.node()
                        + "; a pod cannot move to another node (delete it first)");
            }
            try {
                PodNetwork.validateName(p.name());
            } catch (IllegalArgumentException e) {
                problems.add(p.path() + ": metadata.name: " + e.getMessage());
            }
            if (podNetwork.namespaceOf(p.name()).length() > 64) {
                problems.add(p.path() + ": metadata.name: too long for node " + node + " (its namespace, "
                        + podNetwork.namespaceOf(p.name()) + ", would be over 64 characters)");
            }
            if (local == null && !p.ip().isEmpty()) {
                problems.add(p.path() + ": spec.ip: a pod of this node gets its address from the node's pod CIDR ("
                        + config.podCidr() + ") when it is created: leave ip out");
            }
            if (local != null && local.terminating()) {
                problems.add(p.path() + ": the pod is terminating; apply it again once it is gone");
            }
            if (local != null && !p.ip().isEmpty() && !p.ip().equals(local.ip())) {
                problems.add(p.path() + ": spec.ip: the pod has " + local.ip() + ", which cannot change");
            }
            if (problems.size() != before) {
                return null;
            }
            if (local == null) {
                return new Step(p, "created", () -> {
                    agent.addPod(p.name(), p.labels());
                    return () -> agent.deletePod(p.name());
                });
            }
            if (local.labels().equals(p.labels())) {
                return new Step(p, "unchanged", null);
            }
            return new Step(p, "configured", () -> {
                PodRecord was = agent.relabelPod(p.name(), p.labels());
                return () -> agent.relabelPod(p.name(), was.labels());
            });
        }
        if (local != null) {
            problems.add(p.path() + ": spec.node: the pod runs on this node (" + config.node()
                    + "); a pod cannot move to another node (delete it first)");
        }
        if (remote != null && !remote.node().equals(node)) {
            problems.add(p.path() + ": spec.node: the pod is recorded on node " + remote.node()
                    + "; a pod cannot move to another node (delete it first)");
        }
        Node host = nodesAfter.get(node);
        if (host == null) {
            warnings.add(p.path() + ": spec.node: no node " + node + " is recorded here; the pod is recorded all the same");
        }
        if (!p.ip().isEmpty()) {
            InetAddress ip = InetAddress.ofLiteral(p.ip());
            if (config.podCidr().contains(ip)) {
                problems.add(p.path() + ": spec.ip: " + p.ip() + " is in this node's pod CIDR " + config.podCidr()
                        + ", but the pod is on node " + node);
            } else if (host != null && !Cidr.parse(host.podCidr()).contains(ip)) {
                problems.add(p.path() + ": spec.ip: " + p.ip() + " is outside node " + node + "'s pod CIDR " + host.podCidr());
            }
            String holder = podIps.get(p.ip());
            if (holder != null && !holder.equals(p.name())) {
                problems.add(p.path() + ": spec.ip: " + p.ip() + " is pod " + holder + "'s address too");
            }
            podIps.put(p.ip(), p.name());
        }
        if (problems.size() != before) {
            return null;
        }
        Pod recorded = new Pod(p.name(), node, p.labels(), p.ip(), false);
        if (recorded.equals(remote)) {
            return new Step(p, "unchanged", null);
        }
        return new Step(p, remote == null ? "created" : "configured", () -> {
            remotePods.save(recorded);
            return () -> {
                if (remote == null) {
                    remotePods.remove(recorded.name());
                } else {
                    remotePods.save(remote);
                }
            };
        });
    }

    /** With etcd ({@code claims} not null) the change goes into {@code claims}, committed after the rest of the file. */
    private Step planService(Service s, ServiceRegistry trial, long now, List<String> problems, ServiceClaims claims,
                             Map<String, ServiceClaims.Stored> stored) {
        ServiceSpec before = trial.get(s.name());
        ServiceSpec prepared;
        try {
            prepared = before == null ? trial.prepare(request(s), now) : trial.prepareReplacement(request(s), now);
        } catch (IllegalArgumentException | ApiServer.Refusal e) {
            problems.add(s.path() + ": " + e.getMessage());
            return null;
        }
        if (claims != null) {
            prepared = ServiceClaims.withoutCreationTime(prepared);
        }
        trial.put(prepared);
        if (prepared.equals(before)) {
            return new Step(s, "unchanged", null);
        }
        if (claims != null) {
            claims.put(stored.get(s.name()), prepared);
            return new Step(s, before == null ? "created" : "configured", null);
        }
        ServiceSpec chosen = prepared;
        return new Step(s, before == null ? "created" : "configured", () -> {
            serviceStore.save(chosen);
            services.put(chosen);
            return () -> {
                if (before == null) {
                    services.remove(chosen.name());
                    serviceStore.remove(chosen.name());
                } else {
                    serviceStore.save(before);
                    services.put(before);
                }
            };
        });
    }

    /**
     * Carries the steps out, new pods first (kernel work, the likeliest to fail), then {@code last}
     * (the etcd transaction, or null); on a failure undoes what was done.
     */
    private void commit(List<Step> steps, Commit last) {
        List<Step> order = new ArrayList<>(steps.stream().filter(StateApi::createsPod).toList());
        steps.stream().filter(s -> !createsPod(s)).forEach(order::add);
        Deque<Runnable> undo = new ArrayDeque<>();
        StateObject current = null;
        try {
            for (Step step : order) {
                if (step.commit() != null) {
                    current = step.object();
                    undo.push(step.commit().run());
                }
            }
            if (last != null) {
                current = null;
                undo.push(last.run());
            }
            agent.publishServices();
        } catch (RuntimeException e) {
            while (!undo.isEmpty()) {
                try {
                    undo.pop().run();
                } catch (RuntimeException failed) {
                    e.addSuppressed(failed);
                    System.err.println("shunt agent: cannot undo part of an apply: " + failed.getMessage());
                }
            }
            agent.publishServices();
            if (e instanceof LostRace || e instanceof ApiServer.Refusal) {
                throw e;
            }
            throw new IllegalStateException((current == null ? "" : current.path() + ": ") + e.getMessage() + "; nothing applied", e);
        }
    }

    private static boolean createsPod(Step step) {
        return step.object() instanceof Pod && step.outcome().equals("created");
    }

    // ---- delete

    /** With {@code --etcd} the Services are deleted in etcd first, in one transaction (etcd unreachable: nothing deleted). */
    private Map<String, Object> delete(String text) {
        List<ObjectRef> refs = ManifestReader.readReferences(text);
        List<Map<String, String>> results = new ArrayList<>();
        java.util.Set<String> deletedInEtcd = agent.etcdMirror() == null ? null
                : deleteServicesThroughEtcd(refs.stream().filter(r -> r.kind() == dev.shunt.state.Kind.SERVICE).map(ObjectRef::name).toList());
        for (ObjectRef ref : refs) {
            boolean found = switch (ref.kind()) {
                case SERVICE -> {
                    if (deletedInEtcd != null) {
                        yield deletedInEtcd.contains(ref.name());
                    }
                    if (services.get(ref.name()) == null) {
                        yield false;
                    }
                    agent.deleteService(ref.name());
                    yield true;
                }
                case POD -> {
                    if (agent.pods().containsKey(ref.name())) {
                        agent.deletePod(ref.name());
                        yield true;
                    }
                    if (remotePods.get(ref.name()) == null) {
                        yield false;
                    }
                    remotePods.remove(ref.name());
                    yield true;
                }
                case NODE -> {
                    if (nodes.get(ref.name()) == null) {
                        yield false;
                    }
                    nodes.remove(ref.name());
                    yield true;
                }
            };
            results.add(Map.of("object", ref.kind().singular() + "/" + ref.name(), "outcome", found ? "deleted" : "not found"));
        }
        agent.publishServices();
        return Map.of("results", results, "warnings", List.of());
    }

    /** Deletes those of {@code names} etcd holds, with their claims, in one transaction; returns which it deleted. */
    java.util.Set<String> deleteServicesThroughEtcd(List<String> names) {
        EtcdMirror etcd = agent.etcdMirror();
        java.util.Set<String> deleted = new java.util.TreeSet<>();
        if (names.isEmpty()) {
            return deleted;
        }
        etcd.commitServices(REFUSE_DELETE, stored -> {
            deleted.clear();
            ServiceClaims claims = new ServiceClaims(etcd.keys());
            for (String name : names) {
                if (stored.containsKey(name) && deleted.add(name)) {
                    claims.delete(stored.get(name));
                }
            }
            return claims;
        });
        return deleted;
    }

    /** {@code shunt service add} with {@code --etcd}: allocated against what etcd holds, written with its claims. */
    ServiceSpec addServiceThroughEtcd(ServiceSpec request) {
        EtcdMirror etcd = agent.etcdMirror();
        ServiceSpec[] added = new ServiceSpec[1];
        etcd.commitServices("the Service could not be written to etcd", stored -> {
            ServiceRegistry trial = new ServiceRegistry(config.node(), stored.values().stream().map(ServiceClaims.Stored::spec).toList());
            added[0] = ServiceClaims.withoutCreationTime(trial.prepare(request, System.currentTimeMillis()));
            return new ServiceClaims(etcd.keys()).put(null, added[0]);
        });
        return added[0];
    }

}
