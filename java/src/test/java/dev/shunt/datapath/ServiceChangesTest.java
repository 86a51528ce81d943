package dev.shunt.datapath;

import dev.shunt.service.Endpoint;
import dev.shunt.service.Protocol;
import dev.shunt.service.Service;
import dev.shunt.service.ServicePort;
import dev.shunt.service.ServiceTable;
import org.junit.jupiter.api.Test;

import java.net.Inet4Address;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ServiceChangesTest {
    static Inet4Address ip(String s) throws Exception {
        return (Inet4Address) InetAddress.getByName(s);
    }

    static ServiceTable table(List<Endpoint> endpoints) throws Exception {
        return ServiceTable.build(List.of(Service.clusterIp("dns", ip("10.96.0.10"),
                List.of(ServicePort.of(Protocol.UDP, 53, 5353)), endpoints)), "n1");
    }

    @Test
    void removedBackendsArePurgedTerminatingOnesDrainAndGoneServicesArePurged() throws Exception {
        Endpoint a = Endpoint.ready(ip("10.244.1.5"), "n1");
        Endpoint b = Endpoint.ready(ip("10.244.1.6"), "n1");
        ServiceTable both = table(List.of(a, b));

        List<ServiceChanges.Purge> removed = ServiceChanges.between(both, table(List.of(b)));
        assertThat(removed).containsExactly(new ServiceChanges.Purge(ServiceChanges.Purge.Kind.BACKEND,
                ServiceTable.ipv4(ip("10.244.1.5")), 5353, 17, 0, false));

        List<ServiceChanges.Purge> draining = ServiceChanges.between(both, table(List.of(a.terminatingServing(), b)));
        assertThat(draining).singleElement().satisfies(p -> {
            assertThat(p.drain()).isTrue();
            assertThat(p.ip()).isEqualTo(ServiceTable.ipv4(ip("10.244.1.5")));
        });

        assertThat(ServiceChanges.between(both, both)).isEmpty();
        assertThat(ServiceChanges.between(both, table(List.of(b, a)))).isEmpty();

        List<ServiceChanges.Purge> gone = ServiceChanges.between(both, ServiceTable.empty());
        assertThat(gone).singleElement().satisfies(p -> {
            assertThat(p.kind()).isEqualTo(ServiceChanges.Purge.Kind.SERVICE_PORT);
            assertThat(p.servicePortId()).isEqualTo(both.servicePortId(0));
        });
    }

    @Test
    void purgesReachTheConnectionTable() throws Exception {
        ConntrackTable ct = ConntrackTable.allocate(64);
        int client = ServiceTable.ipv4(ip("10.244.1.2"));
        int vip = ServiceTable.ipv4(ip("10.96.0.10"));
        int a = ServiceTable.ipv4(ip("10.244.1.5"));
        int b = ServiceTable.ipv4(ip("10.244.1.6"));
        int ha = ct.insert(client, vip, 40000, 53, 17, a, client, 5353, 40000, ConntrackDescriptor.FLAG_DNAT, 1, -1, 1);
        int hb = ct.insert(client, vip, 40001, 53, 17, b, client, 5353, 40001, ConntrackDescriptor.FLAG_DNAT, 1, -1, 1);
        assertThat(ha).isNotNegative();
        assertThat(hb).isNotNegative();
        Endpoint ea = Endpoint.ready(ip("10.244.1.5"), "n1");
        Endpoint eb = Endpoint.ready(ip("10.244.1.6"), "n1");
        int removed = 0;
        for (ServiceChanges.Purge p : ServiceChanges.between(table(List.of(ea, eb)), table(List.of(eb)))) {
            removed += p.applyTo(ct);
        }
        assertThat(removed).isEqualTo(1);
        assertThat(ct.lookup(client, vip, 40000, 53, 17, 2)).isEqualTo(ConntrackTable.MISS);
        assertThat(ct.lookup(client, vip, 40001, 53, 17, 2)).isNotNegative();
    }

    /**
     * A table adopted from a killed agent meets the restarted agent's first snapshot: flows whose
     * backend is gone or whose Service port is gone go, a flow to a now terminating backend drains
     * (established) or goes (unreplied), the others stay, and the pipeline does this only once.
     */
    @Test
    void theFirstSnapshotOverAnAdoptedTableChecksTheAdoptedFlows() throws Exception {
        ConntrackTable before = ConntrackTable.allocate(64);
        int client = ServiceTable.ipv4(ip("10.244.1.2"));
        int vip = ServiceTable.ipv4(ip("10.96.0.10"));
        int gone = ServiceTable.ipv4(ip("10.96.0.11"));
        int a = ServiceTable.ipv4(ip("10.244.1.5"));
        int b = ServiceTable.ipv4(ip("10.244.1.6"));
        int c = ServiceTable.ipv4(ip("10.244.1.7"));
        ServiceTable old = table(List.of(Endpoint.ready(ip("10.244.1.5"), "n1")));
        int id = old.servicePortId(0);
        int flags = ConntrackDescriptor.FLAG_DNAT;
        int staysA = before.insert(client, vip, 40000, 53, 17, a, client, 5353, 40000, flags, id, -1, 1);
        before.insert(client, vip, 40001, 53, 17, b, client, 5353, 40001, flags, id, -1, 1); // b is no endpoint any more
        int drainsC = before.insert(client, vip, 40002, 53, 17, c, client, 5353, 40002, flags, id, -1, 1);
        before.update(drainsC, 0, ConntrackTable.REPLY, 60, 1); // two-way: a connection that drains
        before.insert(client, vip, 40003, 53, 17, c, client, 5353, 40003, flags, id, -1, 1); // unreplied: goes
        before.insert(client, gone, 40004, 53, 17, a, client, 5353, 40004, flags, 12345, -1, 1); // Service gone
        int plain = before.insert(client, a, 40005, 9, 17, a, client, 9, 40005, 0, -1, -1, 1); // no NAT: not a Service flow
        MemorySegment copy = java.lang.foreign.Arena.ofAuto().allocate(before.segment().byteSize(), 64);
        copy.copyFrom(before.segment());
        ConntrackTable adopted = ConntrackTable.wrap(copy);

        Pipeline pipeline = new Pipeline(adopted, new AffinityTable(16), ForwardingTable.builder(0).build(), 1);
        pipeline.setServices(table(List.of(Endpoint.ready(ip("10.244.1.5"), "n1"),
                Endpoint.ready(ip("10.244.1.7"), "n1").terminatingServing())));
        pipeline.process(new dev.shunt.port.InMemoryPort(0, "host"), new dev.shunt.port.RxBatch(1), 2); // applies queued purges
        assertThat(pipeline.counters().flowsPurged()).isEqualTo(3);
        assertThat(adopted.live()).isEqualTo(3);
        assertThat(adopted.isLive(staysA)).isTrue();
        assertThat(adopted.isLive(plain)).isTrue();
        assertThat(adopted.flags(drainsC) & ConntrackDescriptor.FLAG_DRAINING).isNotZero();
        assertThat(adopted.flags(staysA) & ConntrackDescriptor.FLAG_DRAINING).isZero();

        pipeline.setServices(ServiceTable.empty()); // later snapshots compare with the previous one only
        pipeline.process(new dev.shunt.port.InMemoryPort(0, "host"), new dev.shunt.port.RxBatch(1), 3);
        assertThat(adopted.live()).isEqualTo(1);
    }
}
