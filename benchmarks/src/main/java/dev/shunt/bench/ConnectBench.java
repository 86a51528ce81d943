package dev.shunt.bench;

import dev.shunt.bench.lab.LabClient;
import dev.shunt.bench.lab.ServiceLab;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;

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
public class ConnectBench extends ServiceLabBench {
    @Benchmark
    public int connect(Failures failures) {
        enterOnce();
        try {
            return LabClient.tcpRequest(1000);
        } catch (IOException e) {
            failures.failures++;
            return -1;
        }
    }
}
