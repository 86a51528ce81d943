package dev.shunt.datapath;

import dev.shunt.port.PollablePort;
import dev.shunt.port.RxBatch;
import dev.shunt.sys.Epoll;

import java.util.Arrays;

/**
 * The fast path's thread: polls every attached port's ring through the {@link Pipeline}, spinning
 * while there is work and for {@code spinNanos} after the last work, then for {@code yieldNanos}
 * more with a {@link Thread#yield()} between polls (hands the core to a pod that is ready, keeps
 * polling if none is), then sleeping in epoll on all ring fds (Agrona's backoff idle strategy).
 * On two cores a thread that spins forever takes a whole core from the pods (PERFORMANCE.md,
 * technique 9); one that sleeps at once adds a wake-up to every request (measured: ping 0.34 ms
 * sleeping at once against 0.15 ms spinning first, docs/afpacket.md).
 *
 * <p>The spin is a time, not a count of rounds: a round's length grows with the number of ports
 * (one ring check each), so a count that is 300 µs on a node with three pods is several
 * milliseconds of a stolen core on a node with a hundred. One clock read per round serves every
 * port of it (the pipeline's timestamps only feed timeouts of seconds).
 *
 * <p>Ports are added and removed by the control plane as copy-on-write snapshots; epoll_ctl is
 * safe to call from another thread, and the loop wakes at least every {@link #MAX_SLEEP_MS} to see
 * a new port array or a stop request.
 */
public final class PollLoop implements AutoCloseable {
    /** Spin after the last work, µs: docs/afpacket.md, "The idle spin as a time". */
    public static final long DEFAULT_SPIN_MICROS = 200;
    static final int MAX_SLEEP_MS = 100;
    private static final int BATCH = 64;

    private final Pipeline pipeline;
    private final long spinNanos;
    private final long yieldNanos;
    private final Epoll epoll = Epoll.create(256);
    private final Thread thread;
    private volatile PollablePort[] ports = new PollablePort[0];
    private volatile boolean running = true;
    private volatile Throwable failure;
    private volatile long sleeps;

    public PollLoop(Pipeline pipeline, long spinNanos, String name) {
        this(pipeline, spinNanos, 0, name);
    }

    public PollLoop(Pipeline pipeline, long spinNanos, long yieldNanos, String name) {
        if (spinNanos < 0 || yieldNanos < 0) {
            throw new IllegalArgumentException("spin and yield times must be >= 0 ns: " + spinNanos + ", " + yieldNanos);
        }
        this.pipeline = pipeline;
        this.spinNanos = spinNanos;
        this.yieldNanos = yieldNanos;
        this.thread = Thread.ofPlatform().name(name).daemon(true).unstarted(this::loop);
        thread.start();
    }

    /** Adds a port to poll (control plane). */
    public synchronized void add(PollablePort port) {
        epoll.add(port.ringFd(), Epoll.EPOLLIN, port.id());
        PollablePort[] next = Arrays.copyOf(ports, ports.length + 1);
        next[next.length - 1] = port;
        ports = next;
    }

    /**
     * Stops polling a port (control plane). Returns true once the loop is past any poll of it (a
     * full round later, or the loop has stopped): then the caller may close the port and unmap its
     * ring. False if the loop did not finish a round within a second: the port must stay mapped,
     * since the pipeline reads its frames at raw addresses (a read of unmapped memory is a crash).
     */
    public synchronized boolean remove(PollablePort port) {
        epoll.remove(port.ringFd());
        ports = Arrays.stream(ports).filter(p -> p != port).toArray(PollablePort[]::new);
        // The loop may be inside a poll of this port right now: wait one full round.
        long seen = rounds;
        long deadline = System.nanoTime() + 1_000_000_000L;
        while (rounds == seen && thread.isAlive() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        return rounds != seen || !thread.isAlive();
    }

    /** True once the poll thread has ended (after {@link #close}, or a failure). */
    public boolean stopped() {
        return !thread.isAlive();
    }

    /** How often the loop went to sleep in epoll: a rough idleness figure. */
    public long sleeps() {
        return sleeps;
    }

    /** The loop's failure, if it died (it should not: the pipeline never throws on bad input). */
    public Throwable failure() {
        return failure;
    }

    private volatile long rounds;

    private void loop() {
        RxBatch batch = new RxBatch(BATCH);
        long lastWork = System.nanoTime();
        try {
            while (running) {
                PollablePort[] current = ports;
                long now = System.nanoTime();
                int work = 0;
                for (PollablePort port : current) {
                    work += pipeline.poll(port, batch, now);
                    work += port.txWaiting();
                }
                rounds++;
                long idle = now - lastWork;
                if (work > 0) {
                    lastWork = now;
                } else if (idle > spinNanos) {
                    if (idle <= spinNanos + yieldNanos) {
                        Thread.yield();
                    } else {
                        sleeps++;
                        // Idle: the pipeline sweeps connection tracking only a few entries per
                        // batch, so quiet time does the rest (also after a timed-out wait).
                        pipeline.expireIdle(now);
                        epoll.await(MAX_SLEEP_MS);
                        // A wake-up is usually a packet, and its conversation goes on: spin again.
                        lastWork = System.nanoTime();
                    }
                }
            }
        } catch (Throwable t) {
            failure = t;
        }
    }

    @Override
    public void close() {
        running = false;
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        epoll.close();
    }
}
