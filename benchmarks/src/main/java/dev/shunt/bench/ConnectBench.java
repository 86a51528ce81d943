package dev.shunt.bench;

import dev.shunt.bench.lab.ServiceLab;
import dev.shunt.sys.Fd;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * A new TCP connection per operation through a Service VIP, as kube-proxy's per-connection cost
 * is usually measured: from the client pod's namespace connect to {@value ServiceLab#VIP}:{@value
 * ServiceLab#PORT}, send 1 byte, read the server's 1-byte reply, close with RST (SO_LINGER 0, so
 * no TIME_WAIT exhausts the client's ports). Every data plane gets the same client code, socket
 * options, servers and Services ({@link ServiceLab}); the lab, and with it the kernel's or
 * Shunt's connection table, is made fresh for every trial.
 *
 * <p>Sample mode: the score is the mean time per connection (connections/s = 1e9 / mean ns on one
 * thread) and JMH reports its percentiles. A request that fails or times out (1 s) is counted in
 * {@code failures}, not retried; it should be 0.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class ConnectBench extends BenchmarkDefaults {
    @Param({"iptables", "nftables", "shunt"})
    public String dataplane;

    @Param({"1", "1000", "10000"})
    public int services;

    private ServiceLab lab;
    private Thread inside;
    private Fd home;

    @Setup(Level.Trial)
    public void setUp() {
        lab = ServiceLab.start(ServiceLab.Dataplane.parse(dataplane), services);
        lab.flushConntrack();
    }

    @Benchmark
    public int connect(Failures failures) {
        enterOnce();
        try {
            return ServiceLab.tcpRequest(1000);
        } catch (IOException e) {
            failures.failures++;
            return -1;
        }
    }

    /** JMH keeps one worker thread per benchmark thread for a trial; it is moved into the client pod on its first call. */
    private void enterOnce() {
        if (Thread.currentThread() != inside) {
            if (home != null) {
                ServiceLab.leave(home);
            }
            home = lab.enterClient();
            inside = Thread.currentThread();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        try {
            if (home != null && Thread.currentThread() == inside) {
                ServiceLab.leave(home);
            }
        } finally {
            home = null;
            inside = null;
            if (lab != null) {
                lab.close();
            }
        }
    }

    /** Connections that failed or timed out, per iteration. Expected: 0. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Failures {
        public long failures;

        @Setup(Level.Iteration)
        public void reset() {
            failures = 0;
        }
    }
}
