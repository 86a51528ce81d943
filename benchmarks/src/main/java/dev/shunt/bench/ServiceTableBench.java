package dev.shunt.bench;

import dev.shunt.service.Endpoint;
import dev.shunt.service.Protocol;
import dev.shunt.service.Service;
import dev.shunt.service.ServicePort;
import dev.shunt.service.ServiceTable;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The control plane's cost of one endpoint change among N Services (each with {@code backends}
 * ready endpoints): the new Service snapshot built from nothing ({@code rebuildAll}, every Maglev
 * table built again) against one built over the previous snapshot ({@code rebuildOverPrevious},
 * only the changed Service port's table built). One endpoint of one Service starts terminating
 * between the two Service lists. Before snapshots kept unchanged tables, every change cost more
 * than {@code rebuildAll} does now: each port's cluster and external tables were built
 * separately even when equal.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class ServiceTableBench extends BenchmarkDefaults {
    @Param({"1000", "10000"})
    public int services;

    @Param({"2", "10"})
    public int backends;

    private List<Service> changed;
    private ServiceTable previous;

    @Setup
    public void setUp() {
        List<Service> before = new ArrayList<>(services);
        for (int i = 0; i < services; i++) {
            List<Endpoint> endpoints = new ArrayList<>(backends);
            for (int b = 0; b < backends; b++) {
                int k = i * backends + b;
                endpoints.add(Endpoint.ready(address(10, 128 + (k >>> 16), (k >>> 8) & 255, k & 255), b % 2 == 0 ? "n1" : "n2"));
            }
            before.add(Service.clusterIp(String.format("svc-%06d", i), address(10, 96 + (i >>> 16), (i >>> 8) & 255, i & 255),
                    List.of(ServicePort.of(Protocol.TCP, 80, 8080)), endpoints));
        }
        previous = ServiceTable.build(before, "n1");
        changed = new ArrayList<>(before);
        Service victim = before.get(services / 2);
        List<Endpoint> endpoints = new ArrayList<>(victim.endpoints());
        endpoints.set(0, endpoints.get(0).terminatingServing());
        changed.set(services / 2, victim.withEndpoints(endpoints));
    }

    @Benchmark
    public ServiceTable rebuildAll() {
        return ServiceTable.build(changed, "n1");
    }

    @Benchmark
    public ServiceTable rebuildOverPrevious() {
        return ServiceTable.build(changed, "n1", previous);
    }

    private static Inet4Address address(int a, int b, int c, int d) {
        try {
            return (Inet4Address) InetAddress.getByAddress(new byte[] {(byte) a, (byte) b, (byte) c, (byte) d});
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
