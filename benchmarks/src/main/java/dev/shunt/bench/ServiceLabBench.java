package dev.shunt.bench;

import dev.shunt.bench.lab.ServiceLab;
import dev.shunt.sys.Fd;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What {@link ConnectBench} and {@link UdpFlowBench} share: the data plane and Service count
 * parameters, one {@link ServiceLab} per trial (so the kernel's or Shunt's connection table starts
 * empty), the benchmark thread moved into the client pod, and the failure counter. A subclass only
 * says what one request is.
 */
public abstract class ServiceLabBench extends BenchmarkDefaults {
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

    /** JMH keeps one worker thread per benchmark thread for a trial; it is moved into the client pod on its first call. */
    protected final void enterOnce() {
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

    /** Requests that failed or timed out, per iteration. Expected: 0. */
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
