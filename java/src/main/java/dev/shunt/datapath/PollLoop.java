package dev.shunt.datapath;

import dev.shunt.port.PollablePort;
import dev.shunt.port.RxBatch;
import dev.shunt.sys.Epoll;

import java.util.Arrays;

/**
 * The fast path's thread: polls every attached port's ring through the {@link Pipeline}, spinning
 * while there is work and for {@code spinRounds} empty rounds after it, then for
 * {@code yieldRounds} rounds with a {@link Thread#yield()} between them (hands the core to a pod
 * that is ready, keeps polling if none is), then sleeping in epoll on all ring fds (Agrona's
 * backoff idle strategy). On two cores a thread that
 * spins forever takes a whole core from the pods (PERFORMANCE.md, technique 9); one that sleeps at
 * once adds a wake-up to every request (measured: ping 0.34 ms sleeping at once against 0.15 ms
 * spinning 20k rounds first, docs/afpacket.md).
 *
 * <p>Ports are added and removed by the control plane as copy-on-write snapshots; epoll_ctl is
 * safe to call from another thread, and the loop wakes at least every {@link #MAX_SLEEP_MS} to see
 * a new port array or a stop request.
 */
public final class PollLoop implements AutoCloseable {
    public static final int DEFAULT_SPIN_ROUNDS = 20_000;
    static final int MAX_SLEEP_MS = 100;
    private static final int BATCH = 64;

    private final Pipeline pipeline;
    private final int spinRounds;
    private final int yieldRounds;
    private final Epoll epoll = Epoll.create(256);
    private final Thread thread;
    private volatile PollablePort[] ports = new PollablePort[0];
    private volatile boolean running = true;
    private volatile Throwable failure;
    private volatile long sleeps;

    public PollLoop(Pipeline pipeline, int spinRounds, String name) {
        this(pipeline, spinRounds, 0, name);
    }

    public PollLoop(Pipeline pipeline, int spinRounds, int yieldRounds, String name) {
        if (spinRounds < 0 || yieldRounds < 0) {
            throw new IllegalArgumentException("spin and yield rounds must be >= 0: " + spinRounds + ", " + yieldRounds);
        }
        this.pipeline = pipeline;
        this.spinRounds = spinRounds;
        this.yieldRounds = yieldRounds;
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

    /** Stops polling a port (control plane); the caller closes it after this returns and the loop moved on. */
    public synchronized void remove(PollablePort port) {
        epoll.remove(port.ringFd());
        ports = Arrays.stream(ports).filter(p -> p != port).toArray(PollablePort[]::new);
        // The loop may be inside a poll of this port right now: wait one full round.
        long seen = rounds;
        long deadline = System.nanoTime() + 1_000_000_000L;
        while (rounds == seen && thread.isAlive() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
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
        int idle = 0;
        try {
            while (running) {
                PollablePort[] current = ports;
                int work = 0;
                for (PollablePort port : current) {
                    work += pipeline.poll(port, batch, System.nanoTime());
                    work += port.txWaiting();
                }
                rounds++;
                if (work > 0) {
                    idle = 0;
                } else if (++idle > spinRounds) {
                    if (idle <= spinRounds + yieldRounds) {
                        Thread.yield();
                    } else {
                        sleeps++;
                        epoll.await(MAX_SLEEP_MS);
                        idle = 0;
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
