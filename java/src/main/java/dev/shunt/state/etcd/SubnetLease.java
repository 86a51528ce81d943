package dev.shunt.state.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.support.CloseableClient;
import io.grpc.stub.StreamObserver;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A node's claim on its pod subnet: the subnet key, held by a lease that this object keeps alive
 * (jetcd's keep-alive stream, renewing at a third of the TTL).
 *
 * <p>{@link #isAlive()} is true while etcd has confirmed the lease within its TTL. While etcd is
 * unreachable the keep-alive retries with backoff; the lease may survive (an etcd restart renews
 * every lease) or expire (etcd up but this node cut off for longer than the TTL). If etcd reports
 * it expired, the subnet key went with it, and the same subnet is claimed again under a new lease if
 * it is still free ({@link Listener#leaseReplaced}); if another node took it meanwhile, the claim is
 * {@link State#LOST} ({@link Listener#lost}).
 */
public final class SubnetLease implements AutoCloseable {
    public enum State {
        /** etcd confirmed the lease within its TTL. */
        HELD,
        /** No confirmation within the TTL (etcd unreachable); still trying. */
        UNCONFIRMED,
        /** The lease expired and another node holds the subnet now. Final. */
        LOST,
        /** Closed or released by this node. Final. */
        CLOSED
    }

    /** Hears of changes that need the agent's attention. Called from the client's threads. */
    public interface Listener {
        /**
         * The lease had expired; the subnet is held again under {@link SubnetLease#leaseId()}. Keys
         * attached to the old lease (e.g. the node's own key) are gone and must be put again.
         */
        default void leaseReplaced(SubnetLease lease, long oldLeaseId) {}

        /** The lease expired and another node holds the subnet now: this node must stop using it. */
        default void lost(SubnetLease lease) {}
    }

    private final EtcdStore store;
    private final SubnetOwner owner;
    private final Ipv4Subnet subnet;
    private final String key;
    private final boolean reused;
    private final int attempts;
    private final Backoff backoff;
    private long leaseId;
    private long ttlSeconds;
    private long confirmedUntilNanos;
    private State finalState;
    private int generation;
    private CloseableClient keepAlive;
    private Listener listener = new Listener() {};
    private String lastError;

    SubnetLease(EtcdStore store, SubnetOwner owner, Ipv4Subnet subnet, String key, long leaseId, long ttlSeconds,
                long grantedAtNanos, boolean reused, int attempts) {
        this.store = store;
        this.owner = owner;
        this.subnet = subnet;
        this.key = key;
        this.leaseId = leaseId;
        this.ttlSeconds = ttlSeconds;
        this.confirmedUntilNanos = grantedAtNanos + TimeUnit.SECONDS.toNanos(ttlSeconds);
        this.reused = reused;
        this.attempts = attempts;
        this.backoff = store.newBackoff();
    }

    public Ipv4Subnet subnet() {
        return subnet;
    }

    public SubnetOwner owner() {
        return owner;
    }

    /** The subnet's key, e.g. {@code /shunt/subnets/10.244.3.0-24}. */
    public String key() {
        return key;
    }

    /** The current lease: attach the node's other short-lived keys to it ({@link EtcdStore#put(String, byte[], long)}). */
    public synchronized long leaseId() {
        return leaseId;
    }

    /** The TTL etcd granted (it may round a short one up). */
    public synchronized long ttlSeconds() {
        return ttlSeconds;
    }

    /** Whether the claim took over this node's existing key (a restart) rather than a free subnet. */
    public boolean reused() {
        return reused;
    }

    /** Claiming transactions it took (more than 1: other nodes were faster at first). */
    public int attempts() {
        return attempts;
    }

    public synchronized State state() {
        if (finalState != null) {
            return finalState;
        }
        return System.nanoTime() - confirmedUntilNanos < 0 ? State.HELD : State.UNCONFIRMED;
    }

    /** etcd confirmed the lease within its TTL. */
    public boolean isAlive() {
        return state() == State.HELD;
    }

    /** The last keep-alive error, if any (for status output). */
    public synchronized String lastError() {
        return lastError;
    }

    /** Sets the listener (one; replaces the previous). If the claim is already lost, it hears so at once. */
    public void listen(Listener l) {
        boolean lostAlready;
        synchronized (this) {
            listener = l;
            lostAlready = finalState == State.LOST;
        }
        if (lostAlready) {
            l.lost(this);
        }
    }

    /**
     * Stops the keep-alive without giving the subnet up: the key stays until the TTL runs out, so an
     * agent restarted in time finds and keeps it.
     */
    @Override
    public void close() {
        CloseableClient k;
        synchronized (this) {
            if (finalState != null) {
                return;
            }
            finalState = State.CLOSED;
            generation++;
            k = keepAlive;
            keepAlive = null;
        }
        store.forget(this);
        if (k != null) {
            store.onStoreThread(k::close);
        }
    }

    /** Gives the subnet up now: revokes the lease, which deletes the key. Equivalent to: {@code etcdctl lease revoke ID}. */
    public void release() {
        long id;
        synchronized (this) {
            id = leaseId;
        }
        close();
        store.await(store.start(() -> store.leaseClient().revoke(id)), "revoke lease " + Long.toHexString(id) + " of " + key);
    }

    @Override
    public String toString() {
        return subnet + " for " + owner.node() + " (" + key + ", lease " + Long.toHexString(leaseId()) + ", " + state() + ")";
    }

    /** Registers the keep-alive for the current lease (on the store's thread). */
    void startKeepAlive() {
        store.onStoreThread(() -> {
            int gen;
            long id;
            synchronized (this) {
                if (finalState != null) {
                    return;
                }
                gen = ++generation;
                id = leaseId;
            }
            CloseableClient k = store.leaseClient().keepAlive(id, observer(gen));
            synchronized (this) {
                if (gen == generation) {
                    keepAlive = k;
                    return;
                }
            }
            // Superseded while registering. Closing an old registration after a newer one exists
            // would remove the newer one from jetcd's table (it is keyed by lease id), so only close
            // it if it is still the lease's only one.
            if (stopped()) {
                k.close();
            }
        });
    }

    private StreamObserver<LeaseKeepAliveResponse> observer(int gen) {
        return new StreamObserver<>() {
            @Override
            public void onNext(LeaseKeepAliveResponse r) {
                synchronized (SubnetLease.this) {
                    if (gen != generation) {
                        return;
                    }
                    confirmedUntilNanos = System.nanoTime() + TimeUnit.SECONDS.toNanos(r.getTTL());
                    backoff.reset();
                }
                store.health().succeeded();
            }

            @Override
            public void onError(Throwable t) {
                boolean gone = Failures.isLeaseNotFound(t);
                synchronized (SubnetLease.this) {
                    if (gen != generation) {
                        return;
                    }
                    lastError = Failures.describe(t);
                    if (gone) {
                        generation++; // jetcd dropped the registration: the lease expired
                        keepAlive = null;
                    }
                }
                if (gone) {
                    reclaim();
                } else {
                    store.health().completed(t); // jetcd keeps the registration and restarts its stream itself
                }
            }

            @Override
            public void onCompleted() {
                // jetcd dropped the registration: no answer within the TTL. The lease may still
                // exist (etcd restarted, leases renewed); register again, and hear NOT_FOUND if not.
                long delay;
                synchronized (SubnetLease.this) {
                    if (gen != generation) {
                        return;
                    }
                    generation++;
                    keepAlive = null;
                    delay = backoff.nextDelayMillis();
                }
                store.retryLater(SubnetLease.this::startKeepAlive, delay);
            }
        };
    }

    /**
     * The lease expired, so the key went with it: claim the same subnet again under a new lease, in
     * one transaction that succeeds only if nobody created the key meanwhile.
     */
    private void reclaim() {
        if (stopped()) {
            return;
        }
        long grantedAt = System.nanoTime();
        ByteSequence k = EtcdStore.bytes(key);
        store.start(() -> store.leaseClient().grant(ttlSeconds())).thenCompose(grant -> store.start(() -> store.kvClient().txn()
                        .If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
                        .Then(Op.put(k, ByteSequence.from(owner.toJson()), EtcdStore.putOption(grant.getID())))
                        .Else(Op.get(k, GetOption.DEFAULT))
                        .commit())
                .whenComplete((r, error) -> {
                    if (error != null || !r.isSucceeded()) {
                        store.start(() -> store.leaseClient().revoke(grant.getID())); // best effort
                    }
                })
                .thenAccept(r -> {
                    if (r.isSucceeded()) {
                        replaced(grant.getID(), grant.getTTL(), grantedAt);
                    } else {
                        List<KeyValue> kvs = r.getGetResponses().getFirst().getKvs();
                        String holder = kvs.isEmpty() ? "?" : kvs.getFirst().getValue().toString();
                        lost("the lease expired and the subnet is now held by " + holder);
                    }
                }))
                .exceptionally(error -> {
                    long delay;
                    synchronized (this) {
                        lastError = Failures.describe(error);
                        delay = backoff.nextDelayMillis();
                    }
                    store.retryLater(this::reclaim, delay);
                    return null;
                });
    }

    private void replaced(long newLeaseId, long newTtl, long grantedAt) {
        long old;
        Listener l;
        synchronized (this) {
            if (finalState != null) {
                return;
            }
            old = leaseId;
            leaseId = newLeaseId;
            ttlSeconds = newTtl;
            confirmedUntilNanos = grantedAt + TimeUnit.SECONDS.toNanos(newTtl);
            l = listener;
        }
        startKeepAlive();
        l.leaseReplaced(this, old);
    }

    private void lost(String why) {
        Listener l;
        synchronized (this) {
            if (finalState != null) {
                return;
            }
            finalState = State.LOST;
            lastError = why;
            l = listener;
        }
        store.forget(this);
        l.lost(this);
    }

    private synchronized boolean stopped() {
        return finalState != null;
    }
}
