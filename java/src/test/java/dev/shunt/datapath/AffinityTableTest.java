package dev.shunt.datapath;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class AffinityTableTest {
    static final long SECOND = 1_000_000_000L;

    @Test
    void aClientKeepsItsBackendWithinTheTimeout() {
        AffinityTable t = new AffinityTable(1024);
        t.remember(0x0af40105, 0x0a60000a, 6, 80, 0x0af40206, 8080, 10 * SECOND);
        long b = t.lookup(0x0af40105, 0x0a60000a, 6, 80, 20 * SECOND, 10800 * SECOND);
        assertThat(b >>> 16).isEqualTo(0x0af40206L);
        assertThat(b & 0xffff).isEqualTo(8080);
        // Another port, protocol, VIP or client is another affinity.
        assertThat(t.lookup(0x0af40105, 0x0a60000a, 17, 80, 20 * SECOND, 10800 * SECOND)).isEqualTo(-1);
        assertThat(t.lookup(0x0af40105, 0x0a60000a, 6, 81, 20 * SECOND, 10800 * SECOND)).isEqualTo(-1);
        assertThat(t.lookup(0x0af40106, 0x0a60000a, 6, 80, 20 * SECOND, 10800 * SECOND)).isEqualTo(-1);
        // Expired after the timeout.
        assertThat(t.lookup(0x0af40105, 0x0a60000a, 6, 80, 10 * SECOND + 11 * SECOND, 10 * SECOND)).isEqualTo(-1);
        // Refreshed by remember.
        t.remember(0x0af40105, 0x0a60000a, 6, 80, 0x0af40207, 8080, 30 * SECOND);
        assertThat(t.lookup(0x0af40105, 0x0a60000a, 6, 80, 35 * SECOND, 10 * SECOND) >>> 16).isEqualTo(0x0af40207L);
    }

    @Test
    void aFullTableEvictsInsteadOfFailing() {
        AffinityTable t = new AffinityTable(64);
        Random r = new Random(1);
        for (int i = 0; i < 10_000; i++) {
            t.remember(r.nextInt(), 0x0a60000a, 6, 80, i, 8080, i + 1);
        }
        assertThat(t.evictions()).isPositive();
        int client = 0x7f000001;
        t.remember(client, 0x0a60000a, 6, 80, 42, 8080, 20_000);
        assertThat(t.lookup(client, 0x0a60000a, 6, 80, 20_001, SECOND) >>> 16).isEqualTo(42);
    }
}
