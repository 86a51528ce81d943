package dev.shunt.agent;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.state.Pod;
import dev.shunt.state.etcd.Change;
import dev.shunt.state.etcd.Entry;
import dev.shunt.state.etcd.EtcdStore;
import dev.shunt.state.etcd.EtcdStoreException;
import dev.shunt.state.etcd.KeyLayout;
import dev.shunt.state.etcd.PrefixWatch;
import dev.shunt.state.etcd.Snapshot;
import dev.shunt.state.etcd.Transaction;
import dev.shunt.state.etcd.WatchListener;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * This node's copy of the cluster state etcd holds under the prefix: one watch of the whole prefix
 * feeds the subnet keys to {@link EtcdNodes}, the Services ({@code services/}) to the
 * {@link ServiceRegistry}, and other nodes' pods ({@code pods/NODE/}) to the remote endpoints;
 * this node's own pods go the other way ({@link #ownPods}).
 *
 * <p>Durable and resumable: after each publish the copy (Services, remote pods and the revision
 * they are complete up to) is saved as one file, {@code STATE/etcd-state.json}, by a thread of its
 * own that always writes the newest copy and skips older ones (so saving never holds up the agent
 * and a burst of 10,000 Services costs a few writes, not 10,000 fsyncs). A restarted agent loads it
 * and watches from that revision: every change made while it was down arrives once, none twice; if
 * that history was compacted, the watch re-lists and the lists replace the copy. A copy may hold
 * this node's own writes from after its revision; replaying from the revision leaves the same
 * state. Subnets are not saved: they are listed at every start, and changes to them at or below
 * that list's revision are skipped. With etcd, {@code STATE/services/} ({@link ServiceStore}) is
 * not used.
 *
 * <p>{@link #appliedRevision()}: the highest revision whose changes (all changes under the prefix
 * up to it, whether they concern this node's tables or not) are in the tables the fast path uses;
 * set only after the agent published them.
 *
 * <p>Threads: the watch calls on the store's threads; those calls only queue the changes and ask
 * the agent to apply them ({@code schedule}, its timer thread). {@link #applyPending} and the
 * methods that read or write the copy run under the agent's lock. Own pods are written by a thread
 * of this class, so neither the agent's lock nor the store's threads wait for etcd.
 */
final class EtcdMirror implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    private static final int COMMIT_ATTEMPTS = 8;

    private final EtcdStore store;
    private final KeyLayout keys;
    private final String self;
    private final EtcdNodes nodes;
    private final ServiceRegistry services;
    private final Path stateFile;

    // Under the agent's lock:
    /** Other nodes' pods from etcd, by key. */
    private final Map<String, Pod> pods = new TreeMap<>();
    /** Service keys this node wrote (and applied at once) -> the revision of that write: older changes to them are skipped. */
    private final Map<String, Long> localWrites = new HashMap<>();
    private long subnetFloor;
    private long changesApplied;

    // Under this object's lock:
    /** What the watch delivered and the agent has not applied yet: change lists and re-list snapshots. */
    private final Deque<Object> pending = new ArrayDeque<>();
    private Runnable schedule = () -> {};
    private PrefixWatch watch;
    private long resumedFrom;
    private volatile long appliedRevision;

    // Saving, under saveLock: the newest copy waiting for the saver thread.
    private final Object saveLock = new Object();
    private final ExecutorService saver;
    private Saved unsaved;
    private boolean saveQueued;
    private String saveError;

    // Own pods, under podLock:
    private final Object podLock = new Object();
    private final ScheduledExecutorService podWriter;
    private Map<String, byte[]> wantedPods = Map.of();
    /** What etcd holds of this node's pods (name -> value), null until listed. */
    private Map<String, byte[]> writtenPods;
    private boolean podSyncQueued;
    private long podRetryMillis = 100;
    private String podError;

    EtcdMirror(EtcdNodes nodes, ServiceRegistry services, Path stateDir) {
        this.store = nodes.store();
        this.keys = store.keys();
        this.self = nodes.self();
        this.nodes = nodes;
        this.services = services;
        this.stateFile = stateDir.resolve("etcd-state.json");
        this.saver = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().name("shunt-etcd-save").daemon(true).unstarted(r));
        ScheduledThreadPoolExecutor writer = new ScheduledThreadPoolExecutor(1,
                r -> Thread.ofPlatform().name("shunt-etcd-pods").daemon(true).unstarted(r));
        writer.setRemoveOnCancelPolicy(true);
        this.podWriter = writer;
    }

    /**
     * Brings the copy up to date and starts the watch (blocking; under the agent's lock, before the
     * agent serves). With a saved revision of this prefix the saved copy stands and the watch
     * resumes after it; otherwise the whole prefix is listed and replaces it. {@code schedule}
     * must make the agent call {@link #applyPending} soon, on another thread.
     */
    void start(Runnable schedule) {
        Saved copy = load();
        long saved = copy == null ? 0 : copy.revision();
        Snapshot subnets = store.list(keys.subnets());
        long from;
        boolean resumed = saved > 0 && saved <= subnets.revision();
        if (resumed) {
            replaceServices(copy.services());
            pods.clear();
            copy.pods().forEach(p -> pods.put(keys.pod(p.node(), p.name()), p));
            nodes.replace(subnets.entries());
            subnetFloor = subnets.revision();
            from = saved;
            System.err.println("shunt agent: etcd: resuming the watch of " + keys.prefix() + " after revision " + saved);
        } else {
            if (saved > 0) {
                System.err.println("shunt agent: etcd: saved revision " + saved + " is ahead of etcd's " + subnets.revision()
                        + " (another etcd?): listing everything again");
            }
            Snapshot all = store.list(keys.prefix());
            replace(all);
            from = all.revision();
        }
        appliedRevision = from;
        save(from);
        synchronized (this) {
            this.schedule = schedule;
            this.resumedFrom = resumed ? saved : 0;
        }
        PrefixWatch w = store.watch(keys.prefix(), from, new WatchListener() {
            @Override
            public void changed(List<Change> changes) {
                queue(changes);
            }

            @Override
            public void relisted(Snapshot snapshot) {
                queue(snapshot);
            }
        });
        synchronized (this) {
            watch = w;
        }
    }

    private void queue(Object batch) {
        Runnable s;
        synchronized (this) {
            pending.add(batch);
            s = schedule;
        }
        s.run();
    }

    /**
     * Applies what the watch delivered to the copy (under the agent's lock). Returns the revision
     * reached, to hand to {@link #applied} once the agent published the copy, or null if nothing
     * was pending.
     */
    Applied applyPending() {
        List<Object> batches;
        synchronized (this) {
            if (pending.isEmpty()) {
                return null;
            }
            batches = new ArrayList<>(pending);
            pending.clear();
        }
        long revision = appliedRevision;
        for (Object batch : batches) {
            if (batch instanceof Snapshot snapshot) {
                System.err.println("shunt agent: etcd: history compacted, re-listed " + keys.prefix() + " at revision " + snapshot.revision());
                replace(snapshot);
                revision = Math.max(revision, snapshot.revision());
            } else {
                @SuppressWarnings("unchecked") List<Change> changes = (List<Change>) batch;
                for (Change c : changes) {
                    apply(c);
                    revision = Math.max(revision, c.modRevision());
                }
            }
        }
        return new Applied(revision);
    }

    /** The revision a call of {@link #applyPending} reached. */
    record Applied(long revision) {}

    /** The agent published what {@code applied} brought: it is in the fast path's tables. Then the copy is saved (by another thread). */
    void applied(Applied applied) {
        appliedRevision = Math.max(appliedRevision, applied.revision());
        save(appliedRevision);
    }

    private void apply(Change c) {
        KeyLayout.ShuntKey key = keys.parse(c.key()).orElse(null);
        switch (key) {
            case KeyLayout.SubnetKey s -> {
                if (c.modRevision() > subnetFloor) {
                    nodes.apply(c);
                    changesApplied++;
                }
            }
            case KeyLayout.ServiceKey s -> {
                Long floor = localWrites.get(c.key());
                if (floor != null) {
                    if (c.modRevision() >= floor) {
                        localWrites.remove(c.key());
                    }
                    if (c.modRevision() <= floor) {
                        return; // this node's own write, applied when it was made, or older than it
                    }
                }
                changesApplied++;
                if (c.type() == Change.Type.PUT) {
                    putService(c.key(), c.value());
                } else {
                    services.remove(s.name());
                }
            }
            case KeyLayout.PodKey p -> {
                if (p.node().equals(self)) {
                    return; // this node's own: it writes them (ownPods)
                }
                changesApplied++;
                if (c.type() == Change.Type.PUT) {
                    putPod(c.key(), p, c.value());
                } else {
                    pods.remove(c.key());
                }
            }
            case null, default -> {
                // nodes/, claims, keys of a later version: nothing this node's tables hold
            }
        }
    }

    private void putService(String key, byte[] value) {
        ServiceSpec spec;
        try {
            spec = ServiceClaims.decode(value);
        } catch (RuntimeException e) {
            System.err.println("shunt agent: etcd: ignoring " + key + ": " + e.getMessage());
            return;
        }
        services.put(spec);
    }

    private void putPod(String key, KeyLayout.PodKey p, byte[] value) {
        Pod pod;
        try {
            pod = JSON.readValue(value, Pod.class);
            if (!pod.name().equals(p.name()) || !pod.node().equals(p.node())) {
                throw new IllegalArgumentException("its value names pod " + pod.name() + " on node " + pod.node());
            }
            if (!pod.ip().isEmpty() && !(java.net.InetAddress.ofLiteral(pod.ip()) instanceof java.net.Inet4Address)) {
                throw new IllegalArgumentException("ip " + pod.ip() + " is not IPv4");
            }
        } catch (IOException | RuntimeException e) {
            System.err.println("shunt agent: etcd: ignoring " + key + ": " + e.getMessage());
            pods.remove(key);
            return;
        }
        pods.put(key, pod);
    }

    /** The copy becomes {@code snapshot}'s (keys this node wrote after it are kept). */
    private void replace(Snapshot snapshot) {
        List<Entry> subnetEntries = new ArrayList<>();
        Map<String, Entry> serviceEntries = new TreeMap<>();
        Map<String, Entry> podEntries = new TreeMap<>();
        for (Entry e : snapshot.entries()) {
            switch (keys.parse(e.key()).orElse(null)) {
                case KeyLayout.SubnetKey s -> subnetEntries.add(e);
                case KeyLayout.ServiceKey s -> serviceEntries.put(e.key(), e);
                case KeyLayout.PodKey p -> {
                    if (!p.node().equals(self)) {
                        podEntries.put(e.key(), e);
                    }
                }
                case null, default -> {
                }
            }
        }
        nodes.replace(subnetEntries);
        subnetFloor = snapshot.revision();
        localWrites.values().removeIf(r -> r <= snapshot.revision());
        for (ServiceSpec s : List.copyOf(services.all())) {
            String key = keys.service(s.name());
            if (!serviceEntries.containsKey(key) && !localWrites.containsKey(key)) {
                services.remove(s.name());
            }
        }
        for (Entry e : serviceEntries.values()) {
            if (!localWrites.containsKey(e.key())) {
                putService(e.key(), e.value());
            }
        }
        pods.clear();
        for (Entry e : podEntries.values()) {
            putPod(e.key(), (KeyLayout.PodKey) keys.parse(e.key()).orElseThrow(), e.value());
        }
    }

    private void replaceServices(Collection<ServiceSpec> specs) {
        for (ServiceSpec s : List.copyOf(services.all())) {
            services.remove(s.name());
        }
        specs.forEach(services::put);
    }

    // ---- Services written by this node

    /** The Services etcd holds now, with their keys' revisions (blocking; an unreachable etcd is a 503 naming it). */
    Map<String, ServiceClaims.Stored> readServices(String refusal) {
        Snapshot snapshot;
        try {
            snapshot = store.list(keys.services());
        } catch (EtcdStoreException e) {
            throw new ApiServer.Refusal(503, refusal + ": " + e.getMessage());
        }
        Map<String, ServiceClaims.Stored> out = new TreeMap<>();
        for (Entry e : snapshot.entries()) {
            if (keys.parse(e.key()).orElse(null) instanceof KeyLayout.ServiceKey(String name)) {
                try {
                    ServiceSpec spec = ServiceClaims.decode(e.value());
                    if (spec.name().equals(name)) {
                        out.put(name, new ServiceClaims.Stored(spec, e.modRevision()));
                    }
                } catch (RuntimeException bad) {
                    System.err.println("shunt agent: etcd: ignoring " + e.key() + ": " + bad.getMessage());
                }
            }
        }
        return out;
    }

    /** A plan for a transaction, made from what etcd holds now; empty: nothing to write. */
    interface Plan {
        ServiceClaims plan(Map<String, ServiceClaims.Stored> stored);
    }

    /**
     * Reads the Services, plans, and commits the plan in one transaction; when another writer was
     * faster (a key changed since the read) reads and plans again, a few times. The Services this
     * node wrote are applied to its copy at once. Returns the plan that was committed (possibly
     * empty: nothing to change). Etcd unreachable or failing: a 503 that says nothing was written.
     */
    ServiceClaims commitServices(String refusal, Plan plan) {
        for (int attempt = 1; attempt <= COMMIT_ATTEMPTS; attempt++) {
            ServiceClaims claims = plan.plan(readServices(refusal));
            if (claims.isEmpty()) {
                return claims;
            }
            if (tryCommit(refusal, claims.build()).isPresent()) {
                return claims;
            }
            System.err.println("shunt agent: etcd: another writer changed the same Services first; planning again");
        }
        throw lostRaces(refusal);
    }

    ApiServer.Refusal lostRaces(String refusal) {
        return new ApiServer.Refusal(409, refusal + ": other nodes kept changing the same Services or claims in etcd ("
                + COMMIT_ATTEMPTS + " attempts); a claim key (" + keys.clusterIps() + ", " + keys.nodePorts()
                + ") without its Service blocks its address or port until deleted");
    }

    static int commitAttempts() {
        return COMMIT_ATTEMPTS;
    }

    /**
     * Commits {@code txn}; on success applies its Services to the copy at once and returns the
     * revision, empty if a compared key had changed (nothing written). Etcd failing: a 503.
     */
    OptionalLong tryCommit(String refusal, Transaction txn) {
        OptionalLong revision;
        try {
            revision = store.commit(txn);
        } catch (EtcdStoreException e) {
            throw new ApiServer.Refusal(503, refusal + ": " + e.getMessage());
        }
        if (revision.isPresent()) {
            appliedLocally(txn, revision.getAsLong());
        }
        return revision;
    }

    /** This node's own transaction, applied to its copy at once; the watch skips it (and anything older on those keys) later. */
    private void appliedLocally(Transaction txn, long revision) {
        for (Transaction.Write w : txn.writes()) {
            if (keys.parse(w.key()).orElse(null) instanceof KeyLayout.ServiceKey(String name)) {
                localWrites.put(w.key(), revision);
                if (w.isDelete()) {
                    services.remove(name);
                } else {
                    services.put(ServiceClaims.decode(w.value()));
                }
            }
        }
        save(appliedRevision); // the copy is ahead of appliedRevision here; a resume from it replays what lies between
    }

    KeyLayout keys() {
        return keys;
    }

    // ---- pods

    /** Other nodes' pods as etcd lists them. */
    Collection<Pod> remotePods() {
        return List.copyOf(pods.values());
    }

    /**
     * This node's pods as etcd should hold them ({@code pods/SELF/NAME}); written (and stale keys of
     * this node deleted) by this object's thread, retried while etcd is away. The first write lists
     * what etcd has of this node, so keys of pods that no longer exist are removed.
     */
    void ownPods(Collection<Pod> own) {
        Map<String, byte[]> wanted = new TreeMap<>();
        for (Pod p : own) {
            try {
                wanted.put(p.name(), JSON.writeValueAsBytes(p));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        synchronized (podLock) {
            if (writtenPods != null && !podSyncQueued && sameContent(wanted, writtenPods)) {
                wantedPods = wanted;
                return;
            }
            wantedPods = wanted;
            if (podSyncQueued) {
                return;
            }
            podSyncQueued = true;
        }
        submitPodSync(0);
    }

    private static boolean sameContent(Map<String, byte[]> a, Map<String, byte[]> b) {
        return a.keySet().equals(b.keySet()) && a.entrySet().stream().allMatch(e -> Arrays.equals(e.getValue(), b.get(e.getKey())));
    }

    private void submitPodSync(long delayMillis) {
        try {
            podWriter.schedule(this::syncPods, delayMillis, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closed
        }
    }

    private void syncPods() {
        Map<String, byte[]> wanted;
        Map<String, byte[]> written;
        synchronized (podLock) {
            podSyncQueued = false;
            wanted = wantedPods;
            written = writtenPods == null ? null : new TreeMap<>(writtenPods);
        }
        try {
            if (written == null) {
                written = new TreeMap<>();
                for (Entry e : store.list(keys.pods(self)).entries()) {
                    if (keys.parse(e.key()).orElse(null) instanceof KeyLayout.PodKey(String node, String name)) {
                        written.put(name, e.value());
                    }
                }
            }
            for (Map.Entry<String, byte[]> w : wanted.entrySet()) {
                if (!Arrays.equals(w.getValue(), written.get(w.getKey()))) {
                    store.put(keys.pod(self, w.getKey()), w.getValue());
                    written.put(w.getKey(), w.getValue());
                }
            }
            for (String name : List.copyOf(written.keySet())) {
                if (!wanted.containsKey(name)) {
                    store.delete(keys.pod(self, name));
                    written.remove(name);
                }
            }
            synchronized (podLock) {
                writtenPods = written;
                podError = null;
                podRetryMillis = 100;
                if (wantedPods != wanted && !podSyncQueued) {
                    podSyncQueued = true;
                    submitPodSync(0);
                }
            }
        } catch (RuntimeException e) {
            long delay;
            synchronized (podLock) {
                if (written != null) {
                    writtenPods = written; // what was done before the failure
                }
                podError = e.getMessage();
                delay = podRetryMillis;
                podRetryMillis = Math.min(5000, podRetryMillis * 2);
                if (podSyncQueued) {
                    return;
                }
                podSyncQueued = true;
            }
            submitPodSync(delay);
        }
    }

    // ---- the saved copy

    /** The copy as saved: the Services and other nodes' pods with every change up to {@code revision} (maybe some after it). */
    record Saved(long revision, List<ServiceSpec> services, List<Pod> pods) {}

    /**
     * Hands the copy as it is now (under the agent's lock) to the saver thread, which writes the
     * newest one it has durably ({@code STATE/etcd-state.json}, one file: Services, pods and the
     * revision always agree) and skips those a newer one replaced: saving never holds up the
     * agent, and costs one write per burst of changes, not one per Service.
     */
    private void save(long revision) {
        Saved copy = new Saved(revision, List.copyOf(services.all()), List.copyOf(pods.values()));
        synchronized (saveLock) {
            unsaved = copy;
            if (saveQueued) {
                return;
            }
            saveQueued = true;
        }
        try {
            saver.execute(this::writeNewest);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closed
        }
    }

    private void writeNewest() {
        Saved copy;
        synchronized (saveLock) {
            copy = unsaved;
            unsaved = null;
            saveQueued = false;
        }
        if (copy == null) {
            return;
        }
        try {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("prefix", keys.prefix());
            out.put("revision", copy.revision());
            out.put("services", copy.services().stream().map(StateApi::service).toList());
            out.put("pods", copy.pods());
            DurableFile.replace(stateFile, JSON.writeValueAsBytes(out));
            synchronized (saveLock) {
                saveError = null;
            }
        } catch (IOException | RuntimeException e) {
            System.err.println("shunt agent: etcd: cannot save the copy in " + stateFile + ": " + e.getMessage());
            synchronized (saveLock) {
                saveError = "cannot save " + stateFile + ": " + e.getMessage();
            }
        }
    }

    /** The saved copy of this prefix, or null (none, another prefix's, or unreadable: then everything is listed). */
    private Saved load() {
        if (!Files.exists(stateFile)) {
            return null;
        }
        try {
            JsonNode saved = JSON.readTree(stateFile.toFile());
            if (!saved.path("prefix").asText().equals(keys.prefix())) {
                return null;
            }
            List<ServiceSpec> specs = new ArrayList<>();
            for (JsonNode s : saved.path("services")) {
                specs.add(ServiceClaims.decode(JSON.writeValueAsBytes(s)));
            }
            List<Pod> remote = new ArrayList<>();
            for (JsonNode p : saved.path("pods")) {
                remote.add(JSON.treeToValue(p, Pod.class));
            }
            return new Saved(saved.path("revision").asLong(0), specs, remote);
        } catch (IOException | RuntimeException e) {
            System.err.println("shunt agent: etcd: unreadable " + stateFile + " (" + e.getMessage() + "): listing everything");
            return null;
        }
    }

    // ---- status

    long appliedRevision() {
        return appliedRevision;
    }

    /** For {@code shunt status}, added to {@link EtcdNodes#status}. */
    void status(Map<String, Object> out) {
        PrefixWatch w;
        long resumed;
        synchronized (this) {
            w = watch;
            resumed = resumedFrom;
        }
        out.put("watchRevision", w == null ? appliedRevision : Math.max(appliedRevision, w.lastRevision()));
        out.put("appliedRevision", appliedRevision);
        out.put("resumedFromRevision", resumed);
        out.put("changesApplied", changesApplied);
        out.put("services", services.all().size());
        out.put("remotePods", pods.size());
        if (w != null) {
            out.put("relists", w.relists());
        }
        synchronized (podLock) {
            if (podError != null) {
                out.put("podError", podError);
            }
        }
        synchronized (saveLock) {
            if (saveError != null) {
                out.put("saveError", saveError);
            }
        }
    }

    @Override
    public void close() {
        PrefixWatch w;
        synchronized (this) {
            w = watch;
            schedule = () -> {};
        }
        if (w != null) {
            w.close();
        }
        podWriter.shutdownNow();
        saver.shutdown(); // the newest copy queued is still written
        try {
            if (!saver.awaitTermination(10, TimeUnit.SECONDS)) {
                System.err.println("shunt agent: etcd: the copy was not saved within 10 s; a restart lists or replays more");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
