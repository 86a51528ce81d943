package dev.shunt.datapath;

import org.junit.jupiter.api.Test;

import static dev.shunt.datapath.ConntrackTable.*;
import static dev.shunt.datapath.Flows.*;
import static org.assertj.core.api.Assertions.assertThat;

/** A full table: which flow an insert pushes out, and what is counted. */
class ConntrackEvictionTest {
    static final int POD = ip(10, 244, 1, 5);
    static final int SERVER = ip(10, 244, 2, 7);

    /** Capacity 8, so the 8-entry sample covers every flow: the choice is deterministic. */
    static ConntrackTable fullOfUdp(int unrepliedIndex) {
        ConntrackTable t = table(8);
        for (int i = 0; i < 8; i++) {
            int h = insertPlain(t, POD, SERVER, 1000 + i, 53, IPPROTO_UDP, T0 + i * S);
            t.update(h, 0, ORIGINAL, 64, T0 + i * S);
            if (i != unrepliedIndex) {
                t.update(h | REPLY, 0, REPLY, 64, T0 + i * S);
            }
        }
        return t;
    }

    static int insertNew(ConntrackTable t, long now) {
        return insertPlain(t, POD, SERVER, 9999, 53, IPPROTO_UDP, now);
    }

    static boolean present(ConntrackTable t, int i, long now) {
        return t.lookup(POD, SERVER, 1000 + i, 53, IPPROTO_UDP, now) >= 0;
    }

    static void assertBalanced(ConntrackTable t) {
        assertThat((long) t.live()).isEqualTo(t.inserts() - t.removes() - t.expired() - t.evicted());
    }

    @Test
    void anExpiredFlowGoesFirstAndCountsAsExpired() {
        ConntrackTable t = fullOfUdp(5); // flow 5: unreplied, 30 s timeout, seen at T0+5s
        long now = T0 + 40 * S;
        assertThat(insertNew(t, now)).isGreaterThanOrEqualTo(0);
        assertThat(present(t, 5, now)).isFalse();
        assertThat(t.expired()).isEqualTo(1);
        assertThat(t.evicted()).isZero();
        assertBalanced(t);
    }

    @Test
    void thenAnUnrepliedFlowEvenIfNewer() {
        ConntrackTable t = fullOfUdp(5);
        long now = T0 + 20 * S;
        assertThat(insertNew(t, now)).isGreaterThanOrEqualTo(0);
        assertThat(present(t, 5, now)).isFalse();
        assertThat(present(t, 0, now)).isTrue();
        assertThat(t.evicted()).isEqualTo(1);
        assertBalanced(t);
    }

    @Test
    void thenTheLeastRecentlySeen() {
        ConntrackTable t = fullOfUdp(-1);
        t.update(t.lookup(POD, SERVER, 1000, 53, IPPROTO_UDP, T0 + 10 * S), 0, ORIGINAL, 64, T0 + 10 * S); // flow 0 refreshed
        long now = T0 + 20 * S;
        assertThat(insertNew(t, now)).isGreaterThanOrEqualTo(0);
        assertThat(present(t, 1, now)).as("flow 1 is now the oldest").isFalse();
        assertThat(present(t, 0, now)).isTrue();
        assertThat(t.live()).isEqualTo(8);
        assertThat(t.evicted()).isEqualTo(1);
    }

    @Test
    void aClosingTcpConnectionGoesBeforeAnOlderLiveOne() {
        ConntrackTable t = table(8);
        for (int i = 0; i < 8; i++) {
            long now = T0 + i * S;
            int h = insertPlain(t, POD, SERVER, 1000 + i, 80, IPPROTO_TCP, now);
            t.update(h, TcpState.TCP_SYN, ORIGINAL, 60, now);
            t.update(h | REPLY, TcpState.TCP_SYN | TcpState.TCP_ACK, REPLY, 60, now);
            t.update(h, TcpState.TCP_ACK, ORIGINAL, 52, now);
            if (i == 6) {
                t.update(h, TcpState.TCP_FIN | TcpState.TCP_ACK, ORIGINAL, 52, now);
            }
        }
        long now = T0 + 20 * S;
        assertThat(insertPlain(t, POD, SERVER, 9999, 80, IPPROTO_TCP, now)).isGreaterThanOrEqualTo(0);
        assertThat(t.lookup(POD, SERVER, 1006, 80, IPPROTO_TCP, now)).isEqualTo(MISS);
        assertThat(t.lookup(POD, SERVER, 1000, 80, IPPROTO_TCP, now)).isGreaterThanOrEqualTo(0);
    }

    @Test
    void failsWhenEveryFlowWasSeenNow() {
        ConntrackTable t = table(8);
        for (int i = 0; i < 8; i++) {
            insertPlain(t, POD, SERVER, 1000 + i, 53, IPPROTO_UDP, T0);
        }
        assertThat(insertNew(t, T0)).isEqualTo(FULL);
        assertThat(t.insertFailures()).isEqualTo(1);
        assertThat(t.live()).isEqualTo(8);
        assertThat(insertNew(t, T0 + 1)).as("one tick later they may go").isGreaterThanOrEqualTo(0);
        assertThat(t.evicted()).isEqualTo(1);
        assertBalanced(t);
    }

    @Test
    void aLongRunOfInsertsKeepsTheTableFullAndCounted() {
        ConntrackTable t = table(1000);
        long now = T0;
        for (int i = 0; i < 10_000; i++) {
            now += 1_000_000; // 1 ms
            int h = insertPlain(t, POD, SERVER, i, 53, IPPROTO_UDP, now);
            assertThat(h).isGreaterThanOrEqualTo(0);
            assertThat(t.lookup(POD, SERVER, i, 53, IPPROTO_UDP, now)).isEqualTo(h);
        }
        assertThat(t.live()).isEqualTo(1000);
        assertThat(t.evicted()).isEqualTo(9000);
        assertThat(t.index().size()).isEqualTo(2000);
        assertBalanced(t);
    }

    @Test
    void establishedFlowsSurviveAFloodOfUnrepliedOnes() {
        ConntrackTable t = table(1000);
        int[] established = new int[500];
        long now = T0;
        for (int i = 0; i < established.length; i++) {
            established[i] = insertPlain(t, POD, SERVER, i, 443, IPPROTO_TCP, now);
            t.update(established[i], TcpState.TCP_SYN, ORIGINAL, 60, now);
            t.update(established[i] | REPLY, TcpState.TCP_SYN | TcpState.TCP_ACK, REPLY, 60, now);
            t.update(established[i], TcpState.TCP_ACK, ORIGINAL, 52, now);
        }
        for (int i = 0; i < 100_000; i++) { // a SYN flood from spoofed sources, none answered
            now += 1_000;
            int h = insertPlain(t, ip(198, 18, i >> 8 & 0xff, i & 0xff), SERVER, 10_000 + (i >> 16), 443, IPPROTO_TCP, now);
            if (h >= 0) {
                t.update(h, TcpState.TCP_SYN, ORIGINAL, 60, now);
            }
        }
        int survivors = 0;
        for (int i = 0; i < established.length; i++) {
            if (t.lookup(POD, SERVER, i, 443, IPPROTO_TCP, now) >= 0) {
                survivors++;
            }
        }
        // a sample evicts an established flow only when all 8 sampled flows are established
        assertThat(survivors).isGreaterThan(400);
        assertThat(t.live()).isEqualTo(1000);
        assertBalanced(t);
    }
}
