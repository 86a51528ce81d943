package dev.shunt.state.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Optional;
import java.util.random.RandomGenerator;

/** One run of the subnet claim algorithm described at {@link EtcdStore#claimSubnet}. */
final class SubnetClaim {
    /** flannel picks among the first 100 free subnets, so racing nodes rarely pick the same one. */
    private static final int PICK_AMONG = 100;
    private static final int MAX_ATTEMPTS = 32;
    /** Subnets enumerated per cluster at most (a /8 cut into /30s); more would be a configuration error. */
    private static final int MAX_SUBNET_BITS = 22;

    /** Called before each claiming transaction, with the subnet it will try (tests make races happen there). */
    interface Hook {
        void beforeTransaction(Ipv4Subnet candidate);
    }

    private final EtcdStore store;
    private final SubnetOwner owner;
    private final Ipv4Subnet cluster;
    private final int length;
    private final long ttlSeconds;
    private final RandomGenerator random;
    private final Hook hook;
    /** The subnet to take if it is free (the one this node held before), or null. */
    private final Ipv4Subnet preferred;

    SubnetClaim(EtcdStore store, SubnetOwner owner, Ipv4Subnet cluster, int length, long ttlSeconds, RandomGenerator random, Hook hook,
                Ipv4Subnet preferred) {
        if (length <= cluster.prefixLength() || length > 30) {
            throw new IllegalArgumentException("a node subnet of /" + length + " does not fit " + cluster
                    + ": use a length from /" + (cluster.prefixLength() + 1) + " to /30");
        }
        if (length - cluster.prefixLength() > MAX_SUBNET_BITS) {
            throw new IllegalArgumentException(cluster + " holds " + cluster.subnetCount(length) + " /" + length
                    + " subnets; at most 2^" + MAX_SUBNET_BITS + " are supported");
        }
        if (ttlSeconds < 1) {
            throw new IllegalArgumentException("a lease TTL is at least 1 second, not " + ttlSeconds);
        }
        this.store = store;
        this.owner = owner;
        this.cluster = cluster;
        this.length = length;
        this.ttlSeconds = ttlSeconds;
        this.random = random;
        this.hook = hook;
        this.preferred = preferred != null && preferred.prefixLength() == length && cluster.contains(preferred) ? preferred : null;
    }

    SubnetLease claim() {
        long grantedAt = System.nanoTime();
        var grant = store.await(store.start(() -> store.leaseClient().grant(ttlSeconds)), "grant a lease of " + ttlSeconds + " s");
        long leaseId = grant.getID();
        boolean claimed = false;
        try {
            KeyLayout keys = store.keys();
            for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
                Snapshot subnets = store.list(keys.subnets());
                Optional<Entry> mine = ownEntry(subnets);
                if (mine.isPresent()) {
                    Entry e = mine.get();
                    Ipv4Subnet subnet = subnetOf(e).orElseThrow();
                    hook.beforeTransaction(subnet);
                    ByteSequence key = EtcdStore.bytes(e.key());
                    TxnResponse r = store.await(store.start(() -> store.kvClient().txn()
                            .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(e.modRevision())))
                            .Then(Op.put(key, ByteSequence.from(owner.toJson()), EtcdStore.putOption(leaseId)))
                            .commit()), "take over " + e.key());
                    if (r.isSucceeded()) {
                        claimed = true;
                        return new SubnetLease(store, owner, subnet, e.key(), leaseId, grant.getTTL(), grantedAt, true, attempt);
                    }
                    continue; // it changed under us: read again
                }
                Ipv4Subnet candidate = pickFree(subnets).orElseThrow(() -> new EtcdStoreException("no free /" + length + " left in "
                        + cluster + " for node " + owner.node() + ": all " + (cluster.subnetCount(length) - 1)
                        + " are claimed (" + store.keys().subnets() + "*)"));
                hook.beforeTransaction(candidate);
                String keyText = keys.subnet(candidate);
                ByteSequence key = EtcdStore.bytes(keyText);
                TxnResponse r = store.await(store.start(() -> store.kvClient().txn()
                        .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
                        .Then(Op.put(key, ByteSequence.from(owner.toJson()), EtcdStore.putOption(leaseId)))
                        .Else(Op.get(key, GetOption.DEFAULT))
                        .commit()), "claim " + keyText);
                if (r.isSucceeded() || heldBy(r, leaseId)) {
                    claimed = true;
                    return new SubnetLease(store, owner, candidate, keyText, leaseId, grant.getTTL(), grantedAt, false, attempt);
                }
                // Another node created it between our list and our transaction: try another one.
            }
            throw new EtcdStoreException("node " + owner.node() + " could not claim a subnet in " + cluster + " in "
                    + MAX_ATTEMPTS + " attempts: other nodes took each chosen one first");
        } finally {
            if (!claimed) {
                store.start(() -> store.leaseClient().revoke(leaseId)); // best effort; it expires anyway
            }
        }
    }

    /** This node's existing claim in the cluster CIDR with the configured length, if any (the lowest if several). */
    private Optional<Entry> ownEntry(Snapshot subnets) {
        for (Entry e : subnets.entries()) {
            Optional<Ipv4Subnet> subnet = subnetOf(e);
            if (subnet.isEmpty() || !cluster.contains(subnet.get()) || subnet.get().prefixLength() != length) {
                continue;
            }
            try {
                if (SubnetOwner.fromJson(e.value()).node().equals(owner.node())) {
                    return Optional.of(e);
                }
            } catch (IllegalArgumentException unreadable) {
                // someone else's or damaged: it stays taken, and is not ours
            }
        }
        return Optional.empty();
    }

    /**
     * The preferred subnet if it is free (flannel asks for the one in its subnet.env first: a node
     * back after its lease expired keeps its pods' addresses), else a random free subnet among the
     * first {@link #PICK_AMONG} free ones. A subnet is free if no key overlaps it (keys of other
     * lengths, e.g. from an older configuration, block what they cover).
     */
    private Optional<Ipv4Subnet> pickFree(Snapshot subnets) {
        int count = (int) cluster.subnetCount(length);
        BitSet taken = new BitSet(count);
        taken.set(0); // the first subnet shares the cluster's network address; flannel skips it too
        for (Entry e : subnets.entries()) {
            Optional<Ipv4Subnet> s = subnetOf(e);
            if (s.isEmpty()) {
                continue;
            }
            Ipv4Subnet subnet = s.get();
            if (subnet.prefixLength() <= length) {
                if (!subnet.contains(cluster) && !cluster.contains(subnet)) {
                    continue;
                }
                Ipv4Subnet inside = subnet.prefixLength() <= cluster.prefixLength() ? cluster : subnet;
                long first = index(inside.network());
                taken.set((int) first, (int) (first + inside.subnetCount(length)));
            } else if (cluster.contains(subnet)) {
                taken.set((int) index(subnet.network()));
            }
        }
        if (preferred != null && !taken.get((int) index(preferred.network()))) {
            return Optional.of(preferred);
        }
        List<Integer> free = new ArrayList<>();
        for (int i = taken.nextClearBit(0); i < count && free.size() < PICK_AMONG; i = taken.nextClearBit(i + 1)) {
            free.add(i);
        }
        if (free.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(cluster.subnet(length, free.get(random.nextInt(free.size()))));
    }

    private long index(int network) {
        return Integer.toUnsignedLong(network - cluster.network()) >>> (32 - length);
    }

    private Optional<Ipv4Subnet> subnetOf(Entry e) {
        return store.keys().parse(e.key()).flatMap(k -> k instanceof KeyLayout.SubnetKey s ? Optional.of(s.subnet()) : Optional.empty());
    }

    /** Whether the key the failed transaction read is on our lease (a retried request that had succeeded). */
    private static boolean heldBy(TxnResponse r, long leaseId) {
        if (r.getGetResponses().isEmpty()) {
            return false;
        }
        List<KeyValue> kvs = r.getGetResponses().getFirst().getKvs();
        return !kvs.isEmpty() && kvs.getFirst().getLease() == leaseId;
    }
}
