package dev.shunt.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.state.etcd.KeyLayout;
import dev.shunt.state.etcd.Transaction;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Services in etcd, as one transaction per apply: each Service is {@code PREFIX services/NAME} (the
 * model's {@link dev.shunt.state.Service} as JSON), and each ClusterIP and node port it holds is a
 * claim key ({@code PREFIX clusterips/IP}, {@code PREFIX nodeports/PORT}, valued with the
 * Service's name) created and deleted in the same transaction. The transaction requires every
 * Service key it writes to be at the revision the plan was made from (absent for a new one) and
 * every claim it creates to be absent; so whichever nodes apply at once, one wins, the others
 * re-read and plan again, and no address or node port is ever given to two Services.
 *
 * <p>Pure: it builds {@link Transaction}s, the agent commits them.
 */
final class ServiceClaims {
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    /** A Service as etcd holds it, with the modification revision of its key. */
    record Stored(ServiceSpec spec, long modRevision) {}

    private final KeyLayout keys;
    private final List<Transaction.Expect> expects = new ArrayList<>();
    private final List<Transaction.Write> writes = new ArrayList<>();

    ServiceClaims(KeyLayout keys) {
        this.keys = keys;
    }

    /** Creates ({@code before} null) or replaces a Service, claiming the address and node ports it gains, releasing those it drops. */
    ServiceClaims put(Stored before, ServiceSpec after) {
        expects.add(new Transaction.Expect(keys.service(after.name()), before == null ? 0 : before.modRevision()));
        writes.add(Transaction.Write.put(keys.service(after.name()), encode(after)));
        ServiceSpec old = before == null ? null : before.spec();
        if (old == null || !old.clusterIp().equals(after.clusterIp())) {
            expects.add(Transaction.Expect.absent(keys.clusterIp(after.clusterIp())));
            writes.add(Transaction.Write.put(keys.clusterIp(after.clusterIp()), after.name()));
            if (old != null) {
                writes.add(Transaction.Write.delete(keys.clusterIp(old.clusterIp())));
            }
        }
        Set<Integer> had = old == null ? Set.of() : nodePorts(old);
        Set<Integer> has = nodePorts(after);
        for (int port : has) {
            if (!had.contains(port)) {
                expects.add(Transaction.Expect.absent(keys.nodePort(port)));
                writes.add(Transaction.Write.put(keys.nodePort(port), after.name()));
            }
        }
        for (int port : had) {
            if (!has.contains(port)) {
                writes.add(Transaction.Write.delete(keys.nodePort(port)));
            }
        }
        return this;
    }

    /** Deletes a Service and its claims, if its key is still at the revision read. */
    ServiceClaims delete(Stored before) {
        ServiceSpec old = before.spec();
        expects.add(new Transaction.Expect(keys.service(old.name()), before.modRevision()));
        writes.add(Transaction.Write.delete(keys.service(old.name())));
        writes.add(Transaction.Write.delete(keys.clusterIp(old.clusterIp())));
        for (int port : nodePorts(old)) {
            writes.add(Transaction.Write.delete(keys.nodePort(port)));
        }
        return this;
    }

    boolean isEmpty() {
        return writes.isEmpty();
    }

    Transaction build() {
        return new Transaction(expects, writes);
    }

    /** The node ports a Service holds (a number serves TCP and UDP alike, so it is claimed once). */
    static Set<Integer> nodePorts(ServiceSpec s) {
        Set<Integer> out = new TreeSet<>();
        s.ports().forEach(p -> {
            if (p.nodePort() != 0) {
                out.add(p.nodePort());
            }
        });
        return out;
    }

    static byte[] encode(ServiceSpec s) {
        try {
            return JSON.writeValueAsBytes(StateApi.service(s));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A Service from its etcd value. etcd keeps no creation time (the model has none), so every
     * node sees 0: equal values make equal specs on every node, and an identical apply is
     * "unchanged".
     */
    static ServiceSpec decode(byte[] value) {
        dev.shunt.state.Service s;
        try {
            s = JSON.readValue(value, dev.shunt.state.Service.class);
        } catch (IOException e) {
            throw new IllegalArgumentException("not a Service: " + e.getMessage(), e);
        }
        if (s.name() == null || s.clusterIp().isEmpty()) {
            throw new IllegalArgumentException("a Service in etcd needs a name and a ClusterIP");
        }
        return withoutCreationTime(StateApi.request(s));
    }

    /** {@code s} as etcd gives it back: no creation time. */
    static ServiceSpec withoutCreationTime(ServiceSpec s) {
        return new ServiceSpec(s.name(), s.clusterIp(), s.type(), s.ports(), s.selector(), s.affinitySeconds(),
                s.externalTrafficPolicy(), s.internalTrafficPolicy(), 0);
    }
}
