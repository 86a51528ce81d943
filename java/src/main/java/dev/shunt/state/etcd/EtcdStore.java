package dev.shunt.state.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.CompactOption;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * Shunt's connection to etcd: keys and values (opaque bytes, JSON by convention) under the
 * {@link KeyLayout}, compare-and-set writes, consistent lists, resumable prefix watches, and node
 * subnets claimed as flannel does (see {@link #claimSubnet}).
 *
 * <p>Requests fail fast while etcd is unreachable (they do not queue), with an
 * {@link EtcdStoreException} whose {@code unavailable()} is true; {@link #status()} then says
 * RETRYING with the error, and a background probe (backoff {@code retryMin} to {@code retryMax})
 * reconnects and turns it back to CONNECTED. Watches and lease keep-alives retry on their own.
 *
 * <p>Network namespaces: a socket belongs to the namespace of the thread that creates it, and
 * gRPC creates its sockets on whichever thread starts a connection. So the store never lets a
 * caller's thread touch the client: every request is started on the store's own thread, created
 * by the thread that called {@link #open}, and every thread the client makes descends from it. The
 * store therefore connects from the namespace {@code open} was called in, whichever threads use it
 * later (docs/kernel-notes.md, "gRPC clients and network namespaces").
 */
public final class EtcdStore implements AutoCloseable {
    /** Keys per range request when listing: a page stays far below gRPC's 4 MiB message limit. */
    private static final int LIST_PAGE = 500;
    private static final int LIST_ATTEMPTS = 3;

    private final EtcdConfig config;
    private final KeyLayout keys;
    private final Client client;
    private final KV kv;
    private final Lease leases;
    private final Watch watches;
    private final ScheduledThreadPoolExecutor io;
    private final ExecutorService clientPool;
    private final ConnectionHealth health;
    private final ChannelReconnect reconnect;
    private final Backoff probeBackoff;
    private final Set<PrefixWatch> openWatches = ConcurrentHashMap.newKeySet();
    private final Set<SubnetLease> openLeases = ConcurrentHashMap.newKeySet();
    private boolean probing;
    private volatile boolean closed;

    private EtcdStore(EtcdConfig config) {
        this.config = config;
        this.keys = new KeyLayout(config.prefix());
        this.health = new ConnectionHealth(Clock.systemUTC(), config.endpointList());
        this.probeBackoff = new Backoff(config.retryMin(), config.retryMax());
        this.io = new ScheduledThreadPoolExecutor(1, named("shunt-etcd-io"));
        io.setRemoveOnCancelPolicy(true);
        io.prestartAllCoreThreads();
        this.clientPool = Executors.newCachedThreadPool(named("shunt-etcd-client"));
        this.client = Client.builder()
                .endpoints(config.endpoints())
                .executorService(clientPool)
                // Fail fast while etcd is away (status says so; loops retry) instead of queueing requests.
                .waitForReady(false)
                .retryMaxAttempts(0)
                .keepaliveTime(config.keepaliveTime())
                .keepaliveTimeout(config.keepaliveTimeout())
                .keepaliveWithoutCalls(true)
                .connectTimeout(config.requestTimeout())
                .build();
        this.kv = client.getKVClient();
        this.leases = client.getLeaseClient();
        this.watches = client.getWatchClient();
        this.reconnect = ChannelReconnect.of(client);
        health.onRetrying(this::startProbing);
    }

    /**
     * A store for {@code config}. Does not wait for etcd: the first request connects (so an agent can
     * start, and keep forwarding, while etcd is down). Connects from the calling thread's network namespace.
     */
    public static EtcdStore open(EtcdConfig config) {
        return new EtcdStore(config);
    }

    public KeyLayout keys() {
        return keys;
    }

    public EtcdConfig config() {
        return config;
    }

    public EtcdStatus status() {
        return health.snapshot();
    }

    /** The value of {@code key}, or empty. Equivalent to: {@code etcdctl get KEY}. */
    public Optional<Entry> get(String key) {
        GetResponse r = await(start(() -> kv.get(bytes(key))), "get " + key);
        return r.getKvs().isEmpty() ? Optional.empty() : Optional.of(entry(r.getKvs().getFirst()));
    }

    /**
     * Every key under {@code prefix}, sorted, as of one revision (read in pages at that revision, so
     * the result is consistent however many keys there are). Equivalent to: {@code etcdctl get --prefix PREFIX}.
     */
    public Snapshot list(String prefix) {
        return await(listAsync(prefix), "list " + prefix);
    }

    /** Puts {@code value} at {@code key}; returns the new revision. Equivalent to: {@code etcdctl put KEY VALUE}. */
    public long put(String key, byte[] value) {
        return put(key, value, 0);
    }

    /** {@link #put(String, byte[])} attached to a lease (0: none): the key goes when the lease expires. */
    public long put(String key, byte[] value, long leaseId) {
        return await(start(() -> kv.put(bytes(key), ByteSequence.from(value), putOption(leaseId))), "put " + key)
                .getHeader().getRevision();
    }

    /**
     * Puts {@code value} only if {@code key}'s modification revision is still {@code expectedModRevision}
     * (0: only if the key does not exist), in one transaction. Returns the new revision, or empty if the
     * key had changed (nothing written).
     */
    public OptionalLong putIfRevision(String key, byte[] value, long expectedModRevision) {
        return putIfRevision(key, value, expectedModRevision, 0);
    }

    /** {@link #putIfRevision(String, byte[], long)} attached to a lease (0: none). */
    public OptionalLong putIfRevision(String key, byte[] value, long expectedModRevision, long leaseId) {
        if (expectedModRevision < 0) {
            throw new IllegalArgumentException("a revision is never negative: " + expectedModRevision);
        }
        ByteSequence k = bytes(key);
        TxnResponse r = await(start(() -> kv.txn()
                .If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(expectedModRevision)))
                .Then(Op.put(k, ByteSequence.from(value), putOption(leaseId)))
                .commit()), "put " + key + " if at revision " + expectedModRevision);
        return r.isSucceeded() ? OptionalLong.of(r.getHeader().getRevision()) : OptionalLong.empty();
    }

    /**
     * Commits {@code txn} as one etcd transaction: if every expected modification revision holds,
     * all its writes are done at one new revision, which is returned; otherwise nothing is written
     * and the result is empty (re-read and try again). Equivalent to: {@code etcdctl txn}.
     */
    public OptionalLong commit(Transaction txn) {
        if (txn.writes().isEmpty()) {
            throw new IllegalArgumentException("a transaction without writes");
        }
        List<Cmp> compares = new ArrayList<>();
        for (Transaction.Expect e : txn.expects()) {
            compares.add(new Cmp(bytes(e.key()), Cmp.Op.EQUAL, CmpTarget.modRevision(e.modRevision())));
        }
        List<Op> ops = new ArrayList<>();
        for (Transaction.Write w : txn.writes()) {
            ops.add(w.isDelete() ? Op.delete(bytes(w.key()), DeleteOption.DEFAULT)
                    : Op.put(bytes(w.key()), ByteSequence.from(w.value()), PutOption.DEFAULT));
        }
        String what = "transaction on " + txn.writes().stream().map(Transaction.Write::key).toList();
        TxnResponse r = await(start(() -> kv.txn().If(compares.toArray(Cmp[]::new)).Then(ops.toArray(Op[]::new)).commit()), what);
        return r.isSucceeded() ? OptionalLong.of(r.getHeader().getRevision()) : OptionalLong.empty();
    }

    /** Deletes {@code key}; returns whether it existed. Equivalent to: {@code etcdctl del KEY}. */
    public boolean delete(String key) {
        return await(start(() -> kv.delete(bytes(key))), "delete " + key).getDeleted() > 0;
    }

    /** Deletes {@code key} only if its modification revision is still {@code expectedModRevision}; returns whether it did. */
    public boolean deleteIfRevision(String key, long expectedModRevision) {
        ByteSequence k = bytes(key);
        TxnResponse r = await(start(() -> kv.txn()
                .If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(expectedModRevision)))
                .Then(Op.delete(k, DeleteOption.DEFAULT))
                .commit()), "delete " + key + " if at revision " + expectedModRevision);
        return r.isSucceeded() && r.getDeleteResponses().getFirst().getDeleted() > 0;
    }

    /**
     * Discards the history before {@code revision}: watches resuming from earlier revisions re-list.
     * Equivalent to: {@code etcdctl compaction REVISION}.
     */
    public void compact(long revision) {
        await(start(() -> kv.compact(revision, CompactOption.DEFAULT)), "compact at revision " + revision);
    }

    /**
     * Claims a pod subnet for {@code owner.node()} as flannel does, and keeps its lease alive:
     * <ol>
     *   <li>a lease with a TTL of {@code leaseTtlSeconds} is granted (etcd may round it up);</li>
     *   <li>if a subnet key already names this node (a restarted agent), it is taken over: moved to
     *       the new lease with the current owner value, in one transaction that checks it did not
     *       change since it was read;</li>
     *   <li>otherwise {@code preferred} if it is given and free (the subnet this node held
     *       before its lease expired), else a free subnet of length {@code subnetPrefixLength} in
     *       {@code clusterCidr} is picked at random among the first 100 free ones (never the first subnet, whose network
     *       address is the cluster's) and created in one transaction that succeeds only if the key
     *       does not exist (create_revision == 0); if another node was faster, the next free one is
     *       tried.</li>
     * </ol>
     * Two nodes therefore never hold the same subnet; one whose agent dies loses it when the lease
     * expires, and only then can another node get it.
     *
     * @throws EtcdStoreException if no subnet is free, or etcd is unreachable
     */
    public SubnetLease claimSubnet(SubnetOwner owner, Ipv4Subnet clusterCidr, int subnetPrefixLength, long leaseTtlSeconds) {
        return claimSubnet(owner, clusterCidr, subnetPrefixLength, leaseTtlSeconds, null);
    }

    /** @param preferred the subnet to take if it is free (null: none), see the list above */
    public SubnetLease claimSubnet(SubnetOwner owner, Ipv4Subnet clusterCidr, int subnetPrefixLength, long leaseTtlSeconds,
                                   Ipv4Subnet preferred) {
        return claimSubnet(owner, clusterCidr, subnetPrefixLength, leaseTtlSeconds, RandomGenerator.getDefault(), candidate -> {},
                preferred);
    }

    /** {@link #claimSubnet(SubnetOwner, Ipv4Subnet, int, long)} with the random source and a hook before each transaction (tests). */
    SubnetLease claimSubnet(SubnetOwner owner, Ipv4Subnet clusterCidr, int subnetPrefixLength, long leaseTtlSeconds,
                            RandomGenerator random, SubnetClaim.Hook hook) {
        return claimSubnet(owner, clusterCidr, subnetPrefixLength, leaseTtlSeconds, random, hook, null);
    }

    private SubnetLease claimSubnet(SubnetOwner owner, Ipv4Subnet clusterCidr, int subnetPrefixLength, long leaseTtlSeconds,
                                    RandomGenerator random, SubnetClaim.Hook hook, Ipv4Subnet preferred) {
        requireOpen();
        SubnetLease lease = new SubnetClaim(this, owner, clusterCidr, subnetPrefixLength, leaseTtlSeconds, random, hook, preferred)
                .claim();
        openLeases.add(lease);
        lease.startKeepAlive();
        return lease;
    }

    /**
     * Follows every change under {@code prefix} after revision {@code afterRevision} (usually the
     * revision of a {@link #list} of the same prefix, or the last revision an agent applied before
     * it restarted), delivering to {@code listener} in order, each revision once. After a lost
     * connection it resumes from the last delivered revision; if that part of the history was
     * compacted, it re-lists and calls {@link WatchListener#relisted}.
     */
    public PrefixWatch watch(String prefix, long afterRevision, WatchListener listener) {
        requireOpen();
        if (afterRevision < 0) {
            throw new IllegalArgumentException("a revision is never negative: " + afterRevision);
        }
        PrefixWatch w = new PrefixWatch(this, prefix, afterRevision, listener);
        openWatches.add(w);
        w.start();
        return w;
    }

    /**
     * Stops watches and lease keep-alives and disconnects. Leases are not revoked: a restarted agent
     * finds its subnet again if it comes back within the TTL (use {@link SubnetLease#release} to give
     * a subnet up).
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        for (PrefixWatch w : List.copyOf(openWatches)) {
            w.close();
        }
        for (SubnetLease l : List.copyOf(openLeases)) {
            l.close();
        }
        try {
            client.close();
        } finally {
            io.shutdownNow();
            clientPool.shutdownNow();
            health.closed();
        }
    }

    // ---- for PrefixWatch, SubnetLease and SubnetClaim ----

    ConnectionHealth health() {
        return health;
    }

    Watch watchClient() {
        return watches;
    }

    Lease leaseClient() {
        return leases;
    }

    KV kvClient() {
        return kv;
    }

    boolean closed() {
        return closed;
    }

    /** Whether gRPC's reconnect backoff can be cut short (see {@link ChannelReconnect}). */
    boolean canReconnectNow() {
        return reconnect.available();
    }

    void forget(PrefixWatch w) {
        openWatches.remove(w);
    }

    void forget(SubnetLease l) {
        openLeases.remove(l);
    }

    /** Runs {@code task} on the store's thread (see the class comment) unless the store is closed. */
    void onStoreThread(Runnable task) {
        try {
            io.execute(task);
        } catch (RejectedExecutionException e) {
            // closed: background work ends here
        }
    }

    /** Runs {@code task} on the store's thread after {@code delayMillis}, first cutting gRPC's reconnect backoff short. */
    void retryLater(Runnable task, long delayMillis) {
        try {
            io.schedule(() -> {
                reconnect.now();
                task.run();
            }, delayMillis, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // closed
        }
    }

    Backoff newBackoff() {
        return new Backoff(config.retryMin(), config.retryMax());
    }

    /**
     * Starts {@code call} on the store's thread; the result completes on a client thread, reports to
     * the connection status, and fails with a TimeoutException after the request timeout.
     */
    <T> CompletableFuture<T> start(Supplier<CompletableFuture<T>> call) {
        CompletableFuture<T> result = new CompletableFuture<>();
        if (closed) {
            result.completeExceptionally(new EtcdStoreException("the etcd store (" + config.endpointList() + ") is closed"));
            return result;
        }
        try {
            io.execute(() -> {
                CompletableFuture<T> f;
                try {
                    f = call.get();
                } catch (RuntimeException e) {
                    result.completeExceptionally(e);
                    return;
                }
                f.whenComplete((value, error) -> {
                    if (error == null) {
                        result.complete(value);
                    } else {
                        result.completeExceptionally(Failures.unwrap(error));
                    }
                });
            });
        } catch (RejectedExecutionException e) {
            result.completeExceptionally(new EtcdStoreException("the etcd store (" + config.endpointList() + ") is closed"));
            return result;
        }
        return result.orTimeout(config.requestTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .whenComplete((value, error) -> health.completed(error));
    }

    /** Waits for {@code f}; failures become an {@link EtcdStoreException} that says what was done, where, and why. */
    <T> T await(CompletableFuture<T> f, String what) {
        try {
            return f.get();
        } catch (ExecutionException e) {
            throw failure(what, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EtcdStoreException(what + ": interrupted", false, e);
        }
    }

    EtcdStoreException failure(String what, Throwable cause) {
        Throwable t = Failures.unwrap(cause);
        if (t instanceof EtcdStoreException e) {
            return e;
        }
        if (Failures.isConnectivity(t)) {
            return new EtcdStoreException(what + ": etcd unreachable at " + config.endpointList() + ": " + Failures.describe(t), true, t);
        }
        return new EtcdStoreException(what + ": etcd (" + config.endpointList() + ") refused: " + Failures.describe(t), false, t);
    }

    CompletableFuture<Snapshot> listAsync(String prefix) {
        return listAsync(prefix, 1);
    }

    private CompletableFuture<Snapshot> listAsync(String prefix, int attempt) {
        ByteSequence end = prefixEnd(prefix);
        return page(bytes(prefix), end, 0, new ArrayList<>())
                .exceptionallyCompose(t -> Failures.isCompacted(t) && attempt < LIST_ATTEMPTS
                        ? listAsync(prefix, attempt + 1) // compacted between two pages: start over at the new revision
                        : CompletableFuture.failedFuture(t));
    }

    private CompletableFuture<Snapshot> page(ByteSequence from, ByteSequence end, long revision, List<Entry> entries) {
        GetOption.Builder option = GetOption.builder().withRange(end).withLimit(LIST_PAGE)
                .withSortField(GetOption.SortTarget.KEY).withSortOrder(GetOption.SortOrder.ASCEND);
        if (revision != 0) {
            option.withRevision(revision);
        }
        return start(() -> kv.get(from, option.build())).thenCompose(r -> {
            long at = revision != 0 ? revision : r.getHeader().getRevision();
            for (KeyValue k : r.getKvs()) {
                entries.add(entry(k));
            }
            if (r.isMore() && !r.getKvs().isEmpty()) {
                byte[] last = r.getKvs().getLast().getKey().getBytes();
                byte[] next = Arrays.copyOf(last, last.length + 1); // the smallest key after it
                return page(ByteSequence.from(next), end, at, entries);
            }
            return CompletableFuture.completedFuture(new Snapshot(entries, at));
        });
    }

    void requireOpen() {
        if (closed) {
            throw new EtcdStoreException("the etcd store (" + config.endpointList() + ") is closed");
        }
    }

    static ByteSequence bytes(String key) {
        return ByteSequence.from(key, StandardCharsets.UTF_8);
    }

    static Entry entry(KeyValue k) {
        return new Entry(k.getKey().toString(StandardCharsets.UTF_8), k.getValue().getBytes(), k.getCreateRevision(),
                k.getModRevision(), k.getVersion(), k.getLease());
    }

    static PutOption putOption(long leaseId) {
        return leaseId == 0 ? PutOption.DEFAULT : PutOption.builder().withLeaseId(leaseId).build();
    }

    /** The first key after every key that starts with {@code prefix} (etcd's range end for a prefix). */
    static ByteSequence prefixEnd(String prefix) {
        byte[] end = prefix.getBytes(StandardCharsets.UTF_8);
        for (int i = end.length - 1; i >= 0; i--) {
            if (end[i] != (byte) 0xff) {
                end[i]++;
                return ByteSequence.from(Arrays.copyOf(end, i + 1));
            }
        }
        return ByteSequence.from(new byte[] {0}); // all 0xff: to the end of the key space
    }

    /** While etcd is unreachable: probe it with backoff (cutting gRPC's own backoff short) until a request succeeds. */
    private void startProbing() {
        synchronized (this) {
            if (probing || closed) {
                return;
            }
            probing = true;
            probeBackoff.reset();
        }
        scheduleProbe();
    }

    private void scheduleProbe() {
        long delay;
        synchronized (this) {
            delay = probeBackoff.nextDelayMillis();
        }
        retryLater(this::probe, delay);
    }

    private void probe() {
        start(() -> kv.get(bytes(keys.prefix()), GetOption.builder().withCountOnly(true).build()))
                .whenComplete((r, error) -> {
                    if (error != null && Failures.isConnectivity(error) && !closed) {
                        scheduleProbe();
                    } else {
                        synchronized (this) {
                            probing = false;
                        }
                    }
                });
    }

    private static ThreadFactory named(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> Thread.ofPlatform().name(prefix + "-" + n.incrementAndGet()).daemon(true).unstarted(r);
    }
}
