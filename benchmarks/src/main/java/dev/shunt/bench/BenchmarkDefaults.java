package dev.shunt.bench;

import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * JMH defaults shared by every Shunt benchmark (the annotations are inherited): average time per
 * call in nanoseconds, one thread, one fork with native access enabled (Panama downcalls and
 * jnr-ffi/jffi's JNI library), and short warmup/measurement phases that suit a small, shared
 * 2-core machine. Command-line options ({@code -f -wi -w -i -r}) override them.
 *
 * <p>The fork is started with {@code -cp}, not {@code -jar}, so the jar manifest's
 * {@code Enable-Native-Access} does not reach it: the flag must be passed here.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 3, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 1, timeUnit = TimeUnit.SECONDS)
@Threads(1)
@State(Scope.Thread)
public abstract class BenchmarkDefaults {
}
