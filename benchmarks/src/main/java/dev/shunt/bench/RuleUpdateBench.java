package dev.shunt.bench;

import dev.shunt.agent.ServiceSpec;
import dev.shunt.bench.lab.KubeProxyRulesets;
import dev.shunt.bench.lab.LabService;
import dev.shunt.bench.lab.ServiceLab;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Two control-plane changes while N Services exist, timed as each data plane's control plane
 * makes them. {@code addService}: adding one Service,
 *
 * <ul>
 *   <li>iptables: kube-proxy's full sync, one {@code iptables-restore --noflush} of the complete
 *       filter and nat tables with N+1 Services (every chain it names is rewritten);</li>
 *   <li>nftables: kube-proxy's partial sync, one {@code nft -f} transaction adding the new
 *       Service's chains, rules and map elements;</li>
 *   <li>shunt: one API call ({@code POST /v1/services}), which returns once the agent has saved the
 *       Service and published the new Service table to the fast path (the next packet uses it).</li>
 * </ul>
 *
 * {@code changeEndpoint}: one endpoint of the measured Service (3 ports) stops being ready, as
 * when its pod fails readiness or starts terminating ({@link ServiceLab#prepareWithdrawal}):
 *
 * <ul>
 *   <li>iptables: kube-proxy's full sync, one {@code iptables-restore --noflush} of both tables
 *       without the endpoint (its KUBE-SEP chains deleted);</li>
 *   <li>nftables: kube-proxy's partial sync, one {@code nft -f} transaction that rewrites the
 *       Service's service and endpoint chains (add + flush + rules) and flushes the gone
 *       endpoint's chains; the map elements do not change;</li>
 *   <li>shunt: one API call, {@code DELETE /v1/pods/POD?grace=600}, which makes the pod
 *       terminating and returns once the new Service table is published (the next packet uses
 *       it).</li>
 * </ul>
 *
 * Before each withdrawal, and not timed, a spare endpoint is made ready ({@link
 * ServiceLab#addSpareEndpoint}: a new pod for Shunt, an address written into the measured
 * Service's chains for the kernel), so every iteration takes the same step from the same state.
 *
 * <p>Single-shot: one change per iteration. Generating the ruleset text is done before the
 * measured call (kube-proxy's own generation time is not counted against it, nor its {@code
 * iptables-save} / {@code nft list chains} calls before a sync); starting the tool process is
 * counted, as kube-proxy pays it too. What the step's end means is the same for all: the kernel
 * has committed the ruleset (the tools return after the netlink transaction), or Shunt's fast
 * path holds the new snapshot (a volatile write the poll thread reads before its next batch);
 * {@code ServiceLabTest} checks with real traffic that new flows then avoid the endpoint.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
public class RuleUpdateBench extends BenchmarkDefaults {
    @Param({"iptables", "nftables", "shunt"})
    public String dataplane;

    @Param({"1", "1000", "10000"})
    public int services;

    private ServiceLab lab;
    private List<LabService> present;
    private int added;
    private String nextRules;
    private ServiceSpec nextSpec;
    private int spares;
    private Supplier<Object> nextWithdrawal;

    @Setup(Level.Trial)
    public void setUp() {
        lab = ServiceLab.start(ServiceLab.Dataplane.parse(dataplane), services);
        present = new ArrayList<>(ServiceLab.kubeServices(services, lab.serverIps()));
    }

    @Setup(Level.Iteration)
    public void prepareNext(BenchmarkParams params) {
        if (params.getBenchmark().endsWith(".changeEndpoint")) {
            String spare = lab.addSpareEndpoint(spares++);
            nextWithdrawal = lab.prepareWithdrawal(spare);
            return;
        }
        String name = String.format("added-%04d", added);
        String ip = "10.100.0." + (added + 1);
        LabService next = new LabService("bench", name, "http", "tcp", ip, ServiceLab.PORT, lab.serverIps(),
                ServiceLab.TARGET_PORT);
        switch (lab.dataplane()) {
            case IPTABLES -> {
                present.add(next);
                nextRules = KubeProxyRulesets.iptables(present, ServiceLab.CLUSTER_CIDR);
            }
            case NFTABLES -> nextRules = KubeProxyRulesets.nftService(next, ServiceLab.CLUSTER_CIDR);
            case SHUNT -> nextSpec = new ServiceSpec(name, ip, ServiceSpec.CLUSTER_IP,
                    List.of(new ServiceSpec.Port("http", "TCP", ServiceLab.PORT, ServiceLab.TARGET_PORT, 0)),
                    Map.of("app", "bench-server"), 0, ServiceSpec.CLUSTER, ServiceSpec.CLUSTER, System.currentTimeMillis());
        }
        added++;
    }

    @Benchmark
    public Object addService() {
        return switch (lab.dataplane()) {
            case IPTABLES -> lab.loadIptables(nextRules, true);
            case NFTABLES -> lab.loadNft(nextRules);
            case SHUNT -> lab.agentApi().call("POST", "/v1/services", nextSpec);
        };
    }

    @Benchmark
    public Object changeEndpoint() {
        return nextWithdrawal.get();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (lab != null) {
            lab.close();
        }
    }
}
