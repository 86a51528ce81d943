package dev.shunt.bench;

import dev.shunt.bench.lab.LabClient;
import dev.shunt.bench.lab.ServiceLab;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Bulk TCP through a Service VIP: from the client pod's namespace, one transfer per operation of
 * {@value #TRANSFER_BYTES} bytes (or what {@value #TRANSFER_MILLIS} ms allow, whichever ends
 * first) to {@value ServiceLab#VIP}:{@value ServiceLab#BULK_PORT}, over a new connection, ended
 * when the server pod's sink answers with the byte count it received ({@link
 * LabClient#bulkTransfer}). Every data plane gets the same client code, socket options (the
 * kernel's defaults and buffer autotuning, RST close), sinks and Services ({@link ServiceLab}).
 *
 * <p>Why this client and not iperf3: it runs in the JMH thread that entered the client pod, as
 * {@link ConnectBench} does, so JMH times the transfers itself (no process start, no parsing of
 * a tool's own report); it writes from one direct buffer and the sink reads into one (no copy
 * through the Java heap, as iperf3 does it in C); and each transfer only counts once the receiver
 * confirmed every byte, so bytes sitting in a socket buffer are never counted as throughput.
 * {@code netns-scripts/measure-offload.sh} measures iperf3 on the same kinds of paths, as a
 * cross-check.
 *
 * <p>Throughput mode: the primary score is transfers/s; {@code bytes} (bytes/s delivered,
 * confirmed by the sink) is the figure to read: Gbit/s = bytes × 8 / 1e9. {@code cutShort}
 * counts transfers the time limit ended early (their confirmed bytes still count), {@code
 * failures} transfers that failed (refused, reset, no answer: their bytes do not count). Both
 * should be 0.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class ThroughputBench extends ServiceLabBench {
    static final long TRANSFER_BYTES = 64L << 20;
    static final long TRANSFER_MILLIS = 2000;
    private static final int CHUNK_BYTES = 1 << 18;

    private ByteBuffer chunk;

    @Setup(Level.Trial)
    public void fillChunk() {
        chunk = ByteBuffer.allocateDirect(CHUNK_BYTES);
        byte[] noise = new byte[CHUNK_BYTES];
        new Random(1).nextBytes(noise);
        chunk.put(noise).flip();
    }

    @Benchmark
    public long transfer(Failures failures, Transferred transferred, CutShort cutShort) {
        enterOnce();
        try {
            LabClient.Transfer t = LabClient.bulkTransfer(chunk, TRANSFER_BYTES, TRANSFER_MILLIS);
            transferred.bytes += t.delivered();
            if (t.cutShort()) {
                cutShort.cutShort++;
            }
            return t.delivered();
        } catch (IOException e) {
            failures.failures++;
            return -1;
        }
    }

    /** Bytes the sinks confirmed, reported per second like the primary score. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Transferred {
        public long bytes;

        @Setup(Level.Iteration)
        public void reset() {
            bytes = 0;
        }
    }

    /** Transfers the time limit ended before all their bytes were sent, per iteration. Expected: 0. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class CutShort {
        public long cutShort;

        @Setup(Level.Iteration)
        public void reset() {
            cutShort = 0;
        }
    }
}
