package dev.shunt.agent;

import dev.shunt.ipam.Cidr;
import dev.shunt.netlink.IpPrefix;
import dev.shunt.overlay.OverlayPeer;
import dev.shunt.overlay.VtepMac;
import dev.shunt.state.etcd.Change;
import dev.shunt.state.etcd.Entry;
import dev.shunt.state.etcd.EtcdConfig;
import dev.shunt.state.etcd.EtcdStore;
import dev.shunt.state.etcd.EtcdStoreException;
import dev.shunt.state.etcd.Ipv4Subnet;
import dev.shunt.state.etcd.KeyLayout;
import dev.shunt.state.etcd.SubnetLease;
import dev.shunt.state.etcd.SubnetOwner;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The cluster's nodes as etcd records them: this node's subnet, claimed from the cluster CIDR on a
 * kept-alive lease, and every node's subnet key ({@code PREFIX subnets/}), as the agent's watch of
 * the prefix ({@link EtcdMirror}) hands them over.
 * Each key names its owner (node, underlay IP, VTEP MAC), which is what the overlay needs of a peer;
 * a node whose agent is gone loses its lease, etcd deletes its key after the TTL, and the watch
 * tells every other node.
 *
 * <p>Threads: the lease calls back on the store's threads. This class only records what it says
 * (under its own lock, never the agent's) and calls {@code onChange}, which must hand the work to
 * another thread and return.
 */
final class EtcdNodes implements AutoCloseable {
    /** In the state directory: the subnet this node claimed last, asked for again at the next claim. */
    static final String SUBNET_FILE = "etcd-subnet";
    private final AgentConfig.EtcdSettings settings;
    private final EtcdStore store;
    private final SubnetLease lease;
    private final String self;
    private final Cidr podCidr;
    /** Subnet key -> the peer it describes (this node's own key included). */
    private final Map<String, OverlayPeer> nodes = new TreeMap<>();
    private Runnable onChange = () -> {};
    private String lost;

    private EtcdNodes(AgentConfig.EtcdSettings settings, EtcdStore store, SubnetLease lease, String self) {
        this.settings = settings;
        this.store = store;
        this.lease = lease;
        this.self = self;
        this.podCidr = Cidr.parse(lease.subnet().toString());
    }

    /**
     * Opens the store (from the calling thread's network namespace) and claims this node's subnet:
     * the one it held before if its key is still there (a restart within the TTL), else a free /24
     * of the cluster CIDR.
     */
    static EtcdNodes claim(AgentConfig config) {
        AgentConfig.EtcdSettings settings = config.etcd();
        Inet4Address underlay = config.overlay().underlayIp();
        EtcdStore store = EtcdStore.open(EtcdConfig.of(settings.endpoint()).withPrefix(settings.prefix()));
        try {
            SubnetOwner owner = new SubnetOwner(config.node(), underlay.getHostAddress(), VtepMac.forNode(config.node()).toString());
            SubnetLease lease = claimWhenReachable(store, owner, settings,
                    preferredSubnet(config, config.stateDir().resolve(SUBNET_FILE)));
            EtcdNodes nodes = new EtcdNodes(settings, store, lease, config.node());
            lease.listen(nodes.leaseListener());
            System.err.println("shunt agent: etcd " + settings.endpoint() + ": " + (lease.reused() ? "kept" : "claimed")
                    + " subnet " + lease.subnet() + " (lease TTL " + lease.ttlSeconds() + " s, " + lease.attempts() + " attempt(s))");
            return nodes;
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
    }

    /**
     * Claims the subnet, waiting for etcd as long as it is unreachable (as flannel does): nodes and
     * etcd often start together, and an agent that gave up would leave its node without pods until
     * someone restarted it. Every other failure (no free subnet, a refused request) ends the start.
     */
    private static SubnetLease claimWhenReachable(EtcdStore store, SubnetOwner owner, AgentConfig.EtcdSettings settings,
                                                  Ipv4Subnet preferred) {
        long backoffMillis = 200;
        for (int attempt = 1; ; attempt++) {
            try {
                return store.claimSubnet(owner, Ipv4Subnet.parse(AgentConfig.CLUSTER_CIDR.toString()), 24, settings.leaseTtlSeconds(),
                        preferred);
            } catch (EtcdStoreException e) {
                if (!e.unavailable()) {
                    throw e;
                }
                System.err.println("shunt agent: etcd: cannot claim a subnet yet (attempt " + attempt + "), retrying in "
                        + backoffMillis + " ms: " + e.getMessage());
            }
            try {
                Thread.sleep(backoffMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for etcd at " + settings.endpoint(), e);
            }
            backoffMillis = Math.min(5000, backoffMillis * 2);
        }
    }

    /**
     * The subnet to ask for if the node's key is gone (its lease expired while the agent was down):
     * {@code --pod-cidr} if given, else the one the last start claimed ({@code STATE/etcd-subnet}),
     * so that pods adopted from that run keep addresses the cluster routes to this node (flannel
     * reads its subnet.env for the same reason). A remembered subnet that cannot be read is ignored.
     */
    private static Ipv4Subnet preferredSubnet(AgentConfig config, Path remembered) {
        if (config.podCidr() != null) {
            return Ipv4Subnet.parse(config.podCidr().toString());
        }
        try {
            return Files.exists(remembered) ? Ipv4Subnet.parse(Files.readString(remembered, StandardCharsets.US_ASCII).strip()) : null;
        } catch (IOException | IllegalArgumentException e) {
            System.err.println("shunt agent: etcd: ignoring " + remembered + ": " + e.getMessage());
            return null;
        }
    }

    /**
     * Records the subnet for the next start ({@link #preferredSubnet}); called once the agent runs
     * on it, so a start that failed (and gave a new claim back) leaves the old record alone.
     */
    void rememberSubnet(Path stateDir) {
        Path remembered = stateDir.resolve(SUBNET_FILE);
        try {
            DurableFile.replace(remembered, (lease.subnet() + "\n").getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            System.err.println("shunt agent: etcd: cannot remember subnet " + lease.subnet() + " in " + remembered + ": " + e);
        }
    }

    Cidr podCidr() {
        return podCidr;
    }

    EtcdStore store() {
        return store;
    }

    String self() {
        return self;
    }

    /** {@code changed} runs when the lease is lost (from the store's threads: it must hand the work on). */
    synchronized void onChange(Runnable changed) {
        onChange = changed;
    }

    /** Replaces the subnet keys with a list's (at start, or a re-list after a compaction). */
    synchronized void replace(List<Entry> entries) {
        nodes.clear();
        for (Entry e : entries) {
            put(e.key(), e.value());
        }
    }

    /** One change to a subnet key, as the agent's watch of the prefix saw it. */
    synchronized void apply(Change c) {
        if (c.type() == Change.Type.PUT) {
            put(c.key(), c.value());
        } else {
            nodes.remove(c.key());
        }
    }

    /** Records one subnet key; a key or value this version cannot read is skipped with a warning. */
    private void put(String key, byte[] value) {
        try {
            KeyLayout.ShuntKey parsed = store.keys().parse(key).orElseThrow(() -> new IllegalArgumentException("not a subnet key"));
            if (!(parsed instanceof KeyLayout.SubnetKey(Ipv4Subnet subnet))) {
                throw new IllegalArgumentException("not a subnet key");
            }
            SubnetOwner owner = SubnetOwner.fromJson(value);
            if (!(InetAddress.ofLiteral(owner.underlayIp()) instanceof Inet4Address underlay)) {
                throw new IllegalArgumentException("underlay IP " + owner.underlayIp() + " is not IPv4");
            }
            nodes.put(key, new OverlayPeer(owner.node(), underlay, dev.shunt.netlink.MacAddress.parse(owner.vtepMac()),
                    IpPrefix.parse(subnet.toString())));
        } catch (RuntimeException e) {
            nodes.remove(key);
            System.err.println("shunt agent: etcd: ignoring " + key + ": " + e.getMessage());
        }
    }

    /**
     * The other nodes: every subnet key but this node's own. A key for a subnet overlapping this
     * node's under another name means that node holds it now (this node lost its lease): it is
     * left out, since its pods' addresses are this node's too, and the loss is in {@link #status}.
     */
    synchronized List<OverlayPeer> peers() {
        List<OverlayPeer> out = new ArrayList<>();
        for (OverlayPeer p : nodes.values()) {
            if (!p.nodeName().equals(self) && !Cidr.parse(p.podCidr().toString()).overlaps(podCidr)) {
                out.add(p);
            }
        }
        return out;
    }

    /**
     * For {@code shunt status}: the store's connection, the lease and the subnet. The lease is
     * asked outside this object's lock: its callbacks, which may hold its own lock, take this one.
     */
    Map<String, Object> status() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("endpoint", settings.endpoint());
        out.put("prefix", settings.prefix());
        out.put("store", store.status().describe());
        out.put("connected", store.status().connected());
        out.put("subnet", lease.subnet().toString());
        out.put("lease", lease.state().name());
        out.put("leaseId", Long.toHexString(lease.leaseId()));
        out.put("leaseTtlSeconds", lease.ttlSeconds());
        String leaseError = lease.lastError();
        if (leaseError != null) {
            out.put("leaseError", leaseError);
        }
        synchronized (this) {
            if (lost != null) {
                out.put("lost", lost);
            }
            out.put("nodes", nodes.size());
        }
        return out;
    }

    private SubnetLease.Listener leaseListener() {
        return new SubnetLease.Listener() {
            @Override
            public void leaseReplaced(SubnetLease l, long oldLeaseId) {
                System.err.println("shunt agent: etcd: lease " + Long.toHexString(oldLeaseId) + " had expired; subnet "
                        + l.subnet() + " held again under lease " + Long.toHexString(l.leaseId()));
            }

            @Override
            public void lost(SubnetLease l) {
                String message = "subnet " + l.subnet() + " LOST: this node's lease expired and another node claimed it; "
                        + "this node's pods keep addresses the cluster routes elsewhere now: restart the agent to claim another";
                Runnable changed;
                synchronized (EtcdNodes.this) {
                    lost = message;
                    changed = onChange;
                }
                System.err.println("shunt agent: etcd: " + message);
                changed.run();
            }
        };
    }

    /**
     * Stops watching and keeping the lease alive without revoking it: the key stays until its TTL
     * runs out, so an agent restarted within the TTL keeps its subnet (and its pods their addresses),
     * as flannel does; after that the other nodes drop this one.
     */
    @Override
    public void close() {
        synchronized (this) {
            onChange = () -> {};
        }
        try {
            lease.close();
        } finally {
            store.close();
        }
    }

    /**
     * For a claim the agent cannot use: a subnet claimed just now is released at once (the lease
     * revoked, the key gone); one this node held before is only closed, so it keeps it for the TTL.
     */
    void abandon() {
        if (lease.reused()) {
            close();
            return;
        }
        try {
            lease.release();
        } finally {
            close();
        }
    }
}
