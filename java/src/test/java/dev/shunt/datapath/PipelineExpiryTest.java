package dev.shunt.datapath;

import dev.shunt.port.InMemoryPort;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static dev.shunt.datapath.PipelineRig.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The pace of connection-tracking expiry: the pipeline's clock hand keeps up with new flows
 * (no eviction, a bounded high-water mark), and flows also expire while no packets come, through
 * {@link Pipeline#expireIdle} and the poll loop that calls it when it goes to sleep.
 */
class PipelineExpiryTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
    private static final long UDP_TIMEOUT = 30 * SECOND; // kernel default, unreplied

    @Test
    void theSweepKeepsUpWithNewFlowsWithoutEvicting() {
        PipelineRig rig = new PipelineRig();
        ConntrackTable t = rig.conntrack; // 4096 flows
        // 32 new UDP flows per batch, one batch a second, each flow living 30 s: ~960 live flows,
        // 12,800 in all through a table of 4,096. Only expiry makes room; a sweep slower than the
        // arrivals would fill the table and evict live flows.
        int sourcePort = 1024;
        int maxLive = 0;
        for (int batch = 0; batch < 400; batch++) {
            for (int i = 0; i < 32; i++) {
                rig.ports[CLIENT].inject(podUdp(CLIENT, WEB, sourcePort++, 53, new byte[8]));
            }
            rig.now += SECOND;
            rig.pipeline.poll(rig.ports[CLIENT], rig.batch, rig.now);
            for (InMemoryPort p : rig.ports) {
                p.drainSent();
            }
            maxLive = Math.max(maxLive, t.live());
        }
        assertThat(rig.pipeline.counters().newFlows()).isEqualTo(12_800);
        assertThat(t.evicted()).as("flows pushed out by a full table").isZero();
        assertThat(t.insertFailures()).isZero();
        assertThat(t.expired()).isGreaterThan(10_000);
        // 30 batches of flows are alive; the hand, visiting 2 entries per new flow, frees an
        // expired one within one sweep of the used entries, so at most about as many again linger
        assertThat(maxLive).isBetween(30 * 32, 2 * 31 * 32);
        rig.assertBalanced();
    }

    @Test
    void establishedTrafficLeavesExpiryToTheHandAndIdleTime() {
        PipelineRig rig = new PipelineRig();
        ConntrackTable t = rig.conntrack;
        for (int i = 0; i < 1000; i++) {
            rig.send(CLIENT, podUdp(CLIENT, WEB, 2000 + i, 53, new byte[8]));
        }
        assertThat(t.live()).isEqualTo(1000);
        // One flow keeps talking for 40 s after the others went quiet: a batch of one packet now
        // and then sweeps a few entries, so most of the 999 quiet flows are still in the table.
        for (int i = 0; i < 40; i++) {
            rig.now += SECOND;
            rig.send(CLIENT, podUdp(CLIENT, WEB, 2000, 53, new byte[8]));
        }
        assertThat(t.live()).as("expired flows the hand has not reached yet").isGreaterThan(500);
        // Idle: each call sweeps Pipeline.EXPIRY_IDLE entries, enough for this table at once.
        int live = t.live();
        long expired = t.expired();
        int freed = rig.pipeline.expireIdle(rig.now);
        assertThat(freed).isEqualTo(live - 1);
        assertThat(t.expired()).isEqualTo(expired + freed);
        assertThat(t.live()).as("only the flow that kept talking").isEqualTo(1);
        assertThat(t.lookup(ip(POD_IP[CLIENT]), ip(WEB), 2000, 53, ConntrackTable.IPPROTO_UDP, rig.now)).isNotNegative();
        rig.assertBalanced();
    }

    @Test
    void theIdlePollLoopExpiresFlows() {
        PipelineRig rig = new PipelineRig();
        ConntrackTable t = rig.conntrack;
        // Flows created at the poll loop's clock (System.nanoTime), and long expired by it.
        long past = System.nanoTime() - 2 * UDP_TIMEOUT;
        for (int i = 0; i < 100; i++) {
            rig.ports[CLIENT].inject(podUdp(CLIENT, WEB, 3000 + i, 53, new byte[8]));
        }
        rig.pipeline.poll(rig.ports[CLIENT], rig.batch, past);
        rig.pipeline.poll(rig.ports[CLIENT], rig.batch, past);
        rig.pipeline.poll(rig.ports[CLIENT], rig.batch, past);
        rig.pipeline.poll(rig.ports[CLIENT], rig.batch, past);
        assertThat(t.live()).isEqualTo(100);

        // No ports: every round is idle, so the loop sleeps at once and sweeps before each sleep.
        PollLoop loop = new PollLoop(rig.pipeline, 0, "shunt-test-expiry");
        long deadline = System.nanoTime() + 5 * SECOND;
        while (loop.sleeps() < 2 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(loop.stopped()).isFalse();
        loop.close(); // joins the loop thread: what it did to the table is visible below
        assertThat(loop.stopped()).as("the agent unmaps rings and the table only after this").isTrue();
        assertThat(loop.failure()).isNull();
        assertThat(loop.sleeps()).isGreaterThanOrEqualTo(2);
        assertThat(t.live()).isZero();
        assertThat(t.expired()).isEqualTo(100);
    }
}
