package dev.shunt.port;

import dev.shunt.packet.EthernetView;
import dev.shunt.sys.Epoll;

import java.lang.foreign.MemorySegment;

/**
 * The tiny test data plane: moves IPv4 frames between two ports, rewriting the Ethernet
 * addresses as a router would (destination = the pod behind the other port, source = the other
 * port's own MAC), and drops everything else. It spins {@code spinLimit} empty rounds, then
 * sleeps in epoll on both ring fds (100 ms at most, so {@link #close} is noticed).
 */
final class TwoPortForwarder implements AutoCloseable {
    private static final int ETHERTYPE_IPV4 = 0x0800;

    private final AfPacketPort a;
    private final AfPacketPort b;
    private final long podAMac;
    private final long podBMac;
    private final long portAMac;
    private final long portBMac;
    private final int spinLimit;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile Throwable failure;
    // written by the loop thread only; read after close() (Thread.join orders them) or as a rough live figure
    long forwardedAToB;
    long forwardedBToA;
    long droppedNotIpv4;
    long epollWaits;

    TwoPortForwarder(AfPacketPort a, long podAMac, long portAMac, AfPacketPort b, long podBMac, long portBMac,
                     int spinLimit) {
        this.a = a;
        this.b = b;
        this.podAMac = podAMac;
        this.podBMac = podBMac;
        this.portAMac = portAMac;
        this.portBMac = portBMac;
        this.spinLimit = spinLimit;
        this.thread = Thread.ofPlatform().name("forwarder-" + a.name() + "-" + b.name()).daemon().start(this::loop);
    }

    private void loop() {
        RxBatch batch = new RxBatch(64);
        EthernetView eth = new EthernetView();
        try (Epoll epoll = Epoll.create(2)) {
            epoll.add(a.ringFd(), Epoll.EPOLLIN, 0);
            epoll.add(b.ringFd(), Epoll.EPOLLIN, 1);
            int idle = 0;
            while (running) {
                int moved = move(a, b, podBMac, portBMac, batch, eth, true)
                        + move(b, a, podAMac, portAMac, batch, eth, false);
                if (moved > 0 || a.txWaiting() > 0 || b.txWaiting() > 0) {
                    idle = 0;
                    continue;
                }
                if (++idle > spinLimit) {
                    epollWaits++;
                    int ready = epoll.await(100);
                    for (int i = 0; i < ready; i++) {
                        if ((epoll.events(i) & Epoll.EPOLLERR) != 0) {
                            (epoll.data(i) == 0 ? a : b).takeSocketError(); // e.g. ENETDOWN after link down
                        }
                    }
                    idle = 0;
                }
            }
        } catch (Throwable t) {
            failure = t;
        }
    }

    private int move(AfPacketPort from, AfPacketPort to, long dstMac, long srcMac, RxBatch batch, EthernetView eth,
                     boolean aToB) {
        int n = from.receive(batch);
        MemorySegment frames = batch.segment();
        for (int i = 0; i < n; i++) {
            eth.wrap(frames, batch.offset(i));
            if (eth.outerType() != ETHERTYPE_IPV4) {
                droppedNotIpv4++;
                continue;
            }
            eth.destination(dstMac);
            eth.source(srcMac);
            if (to.transmit(frames, batch.offset(i), batch.length(i))) {
                if (aToB) {
                    forwardedAToB++;
                } else {
                    forwardedBToA++;
                }
            }
        }
        from.release(batch);
        if (n > 0 || to.txWaiting() > 0) {
            to.flush();
        }
        return n;
    }

    /** The loop's exception, if it died. */
    Throwable failure() {
        return failure;
    }

    @Override
    public void close() {
        running = false;
        try {
            if (!thread.join(java.time.Duration.ofSeconds(5))) {
                throw new AssertionError("forwarder did not stop within 5 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
        if (failure != null) {
            throw new AssertionError("forwarder failed", failure);
        }
    }
}
