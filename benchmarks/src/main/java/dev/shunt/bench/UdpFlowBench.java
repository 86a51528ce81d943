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
 * A new UDP flow per operation through a Service VIP: from the client pod's namespace a new socket
 * (a new source port, so the data plane sees a new flow and walks its Service rules every time)
 * sends 1 byte to {@value ServiceLab#VIP}:{@value ServiceLab#PORT} and reads the server's 1-byte
 * reply, then closes. Same lab, client code and servers for every data plane ({@link
 * ServiceLab}).
 *
 * <p>Sample mode: the score is the mean time per request (flows/s = 1e9 / mean ns on one thread).
 * A reply that does not come within 200 ms is counted in {@code failures} (its 200 ms stay in the
 * score, so losses are paid for, not hidden); it should be 0. Every flow leaves a connection-table
 * entry behind (30 s UDP timeout in the kernel), as real DNS traffic does.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class UdpFlowBench extends ServiceLabBench {
    @Benchmark
    public int flow(Failures failures) {
        enterOnce();
        try {
            return LabClient.udpRequest(200);
        } catch (IOException e) {
            failures.failures++;
            return -1;
        }
    }
}
