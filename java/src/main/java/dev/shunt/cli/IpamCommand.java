package dev.shunt.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.shunt.ipam.AddressRange;
import dev.shunt.ipam.Allocation;
import dev.shunt.ipam.Cidr;
import dev.shunt.ipam.IpamStore;
import dev.shunt.ipam.Owner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code shunt ipam ...}: operate a pod IP store directly, in the spirit of {@code calicoctl ipam}.
 * Each command opens the store, does one thing under the store's lock, and closes it, so it is
 * safe to run beside an agent that uses the same store.
 */
@Command(name = "ipam", mixinStandardHelpOptions = true, description = "Inspect and repair pod IP allocations.")
final class IpamCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing subcommand: allocate, release, show, check or gc");
    }

    @Command(name = "allocate", mixinStandardHelpOptions = true, description = "Allocate (or return the existing) IP of an owner; prints the IP.")
    void allocate(@Option(names = "--store", required = true, paramLabel = "DIR") Path store,
                  @Option(names = "--pool", required = true, paramLabel = "CIDR") String pool,
                  @Option(names = "--owner", required = true, paramLabel = "ID", description = "Container or pod id.") String owner,
                  @Option(names = "--ifname", defaultValue = Owner.DEFAULT_IFNAME, paramLabel = "NAME",
                          description = "Interface inside the container (default: ${DEFAULT-VALUE}).") String ifname,
                  @Option(names = "--reserve", paramLabel = "RANGE", split = ",",
                          description = "Addresses never to hand out when the pool is first defined: A-B, a CIDR or one address.") List<String> reserve) {
        Cidr cidr = Cidr.parse(pool);
        Owner who = new Owner(owner, ifname);
        try (IpamStore s = IpamStore.open(store)) {
            if (reserve != null && !reserve.isEmpty()) {
                s.definePool(cidr, reserve.stream().map(AddressRange::parse).toList());
            }
            Allocation a = s.allocate(cidr, who);
            out().println(formatted(a));
        }
    }

    @Command(name = "release", mixinStandardHelpOptions = true, description = "Release an owner's IPs (succeeds if it holds none).")
    void release(@Option(names = "--store", required = true, paramLabel = "DIR") Path store,
                 @Option(names = "--owner", required = true, paramLabel = "ID") String owner,
                 @Option(names = "--ifname", paramLabel = "NAME", description = "Only this interface (default: all of the owner's).") String ifname) {
        try (IpamStore s = IpamStore.open(store)) {
            List<Allocation> released = ifname == null ? s.releaseContainer(new Owner(owner, Owner.DEFAULT_IFNAME).containerId())
                    : s.release(new Owner(owner, ifname));
            for (Allocation a : released) {
                out().println("released " + formatted(a) + " " + a.owner());
            }
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Pools, used/free counts and owners.")
    void show(@Option(names = "--store", required = true, paramLabel = "DIR") Path store,
              @Option(names = "--json", description = "Print JSON.") boolean json) throws Exception {
        List<IpamStore.PoolUsage> usage;
        try (IpamStore s = IpamStore.open(store)) {
            usage = s.usage();
        }
        PrintWriter out = out();
        if (json) {
            List<Map<String, Object>> pools = new ArrayList<>();
            for (IpamStore.PoolUsage u : usage) {
                pools.add(Map.of("cidr", u.cidr().toString(),
                        "reserved", u.reserved().stream().map(AddressRange::toString).toList(),
                        "capacity", u.capacity(), "used", u.used(), "free", u.free(),
                        "allocations", u.allocations().stream().map(a -> Map.of("ip", formatted(a),
                                "owner", a.owner().containerId(), "ifname", a.owner().ifname())).toList()));
            }
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
                    .writeValueAsString(Map.of("store", store.toString(), "pools", pools)));
            return;
        }
        if (usage.isEmpty()) {
            out.println("no pools in " + store);
            return;
        }
        for (IpamStore.PoolUsage u : usage) {
            out.printf("pool %s  used %d  free %s  capacity %s%s%n", u.cidr(), u.used(), u.free(), u.capacity(),
                    u.reserved().isEmpty() ? "" : "  reserved " + String.join(",", u.reserved().stream().map(AddressRange::toString).toList()));
            for (Allocation a : u.allocations()) {
                out.printf("  %-40s %s%n", formatted(a), a.owner());
            }
        }
    }

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = "Verify the store: checksums, format, no duplicate IP, no IP outside its pool. Exit 1 on any problem.")
    int check(@Option(names = "--store", required = true, paramLabel = "DIR") Path store) {
        IpamStore.CheckReport report = IpamStore.check(store);
        PrintWriter out = out();
        for (String note : report.notes()) {
            out.println("note: " + note);
        }
        for (String problem : report.problems()) {
            spec.commandLine().getErr().println("problem: " + problem);
        }
        if (report.ok()) {
            out.println("ok: " + report.pools() + " pools, " + report.allocations() + " allocations");
            return 0;
        }
        spec.commandLine().getErr().println("shunt: error: IPAM store " + store + " has " + report.problems().size() + " problem(s)");
        return Main.EXIT_FAILURE;
    }

    @Command(name = "gc", mixinStandardHelpOptions = true, description = "Release every IP whose owner is not in the live list (CNI GC).")
    void gc(@Option(names = "--store", required = true, paramLabel = "DIR") Path store,
            @Option(names = "--live", required = true, split = ",", paramLabel = "ID[/IFNAME]",
                    description = "Live owners: container ids (all interfaces) or ID/IFNAME.") List<String> live) {
        try (IpamStore s = IpamStore.open(store)) {
            List<Allocation> released = s.gc(live);
            for (Allocation a : released) {
                out().println("released " + formatted(a) + " " + a.owner());
            }
            out().println(released.size() + " released");
        }
    }

    private PrintWriter out() {
        return spec.commandLine().getOut();
    }

    private static String formatted(Allocation a) {
        String prefix = a.hostPrefix();
        return prefix.substring(0, prefix.indexOf('/'));
    }
}
