package dev.shunt.datapath;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import static dev.shunt.datapath.ConntrackDescriptor.FLAG_DNAT;
import static dev.shunt.datapath.ConntrackTable.*;
import static dev.shunt.datapath.Flows.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The per-packet API allocates nothing (PERFORMANCE.md technique 8), measured with the JVM's
 * per-thread allocation counter (exact for TLAB and outside-TLAB allocation). Not a timing test.
 */
class ConntrackAllocationTest {
    static final int FLOWS = 20_000;
    static final int VIP = ip(10, 96, 0, 10);

    @Test
    void lookupUpdateInsertRemoveAndExpireAllocateNothing() {
        ConntrackTable t = table(1 << 16);
        for (int k = 0; k < FLOWS; k++) {
            int h = t.insert(client(k), VIP, 40_000, 80, IPPROTO_TCP, backend(k), client(k), 8080, 40_000, FLAG_DNAT, 1, k % 50, T0);
            assertThat(h).isGreaterThanOrEqualTo(0);
        }
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long now = T0;
        for (int round = 0; round < 5; round++) { // warm-up: let C2 compile the loop and what it calls
            now = run(t, 200_000, now);
        }
        long baseline = -threads.getCurrentThreadAllocatedBytes() + threads.getCurrentThreadAllocatedBytes();
        long before = threads.getCurrentThreadAllocatedBytes();
        now = run(t, 1_000_000, now);
        long allocated = threads.getCurrentThreadAllocatedBytes() - before - baseline;

        assertThat(allocated).as("bytes allocated by 1M lookup+update+insert/remove steps").isZero();
        assertThat(t.live()).isEqualTo(FLOWS);
        assertThat(t.lookupMisses()).isZero();
        assertThat(t.insertFailures() + t.insertClashes() + t.evicted() + t.expired()).isZero();
        assertThat(t.clock()).isEqualTo(now);
    }

    /** {@code steps} packets: both directions of an existing flow, plus one short-lived flow. */
    static long run(ConntrackTable t, int steps, long now) {
        long x = 0x9e3779b97f4a7c15L;
        for (int i = 0; i < steps; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            int k = (int) ((x >>> 1) % FLOWS);
            now += 1_000;
            int h = t.lookup(client(k), VIP, 40_000, 80, IPPROTO_TCP, now);
            t.update(h, TcpState.TCP_ACK, direction(h), 1500, now);
            int r = t.lookup(backend(k), client(k), 8080, 40_000, IPPROTO_TCP, now);
            t.update(r, TcpState.TCP_ACK, direction(r), 64, now);
            int transient_ = t.insert(ip(10, 245, i >> 8 & 0xff, i & 0xff), VIP, 1024 + (i >>> 16), 53, IPPROTO_UDP,
                    backend(k), ip(10, 245, i >> 8 & 0xff, i & 0xff), 53, 1024 + (i >>> 16), FLAG_DNAT, 2, k % 50, now);
            t.update(transient_, 0, ORIGINAL, 80, now);
            t.remove(transient_);
            if ((i & 63) == 0) {
                t.expire(now, 16);
            }
        }
        return now;
    }

    static int client(int k) {
        return ip(10, 244, k >> 8 & 0xff, k & 0xff);
    }

    static int backend(int k) {
        return ip(10, 244, 200, k % 50);
    }
}
