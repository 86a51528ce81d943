package dev.shunt.agent;

import dev.shunt.datapath.DatapathCounters;
import dev.shunt.port.InMemoryPort;
import dev.shunt.port.PortCounters;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class StatsTest {
    @Test
    void perPortCountersCarryTheirDropsByReason() {
        InMemoryPort port = new InMemoryPort(1, "shunt-p1");
        port.setTxCapacity(1);
        MemorySegment frame = MemorySegment.ofArray(new byte[60]);
        assertThat(port.transmit(frame, 0, 60)).isTrue();
        assertThat(port.transmit(frame, 0, 60)).as("TX capacity reached").isFalse();
        port.flush();

        Map<String, Object> stats = Stats.of(new DatapathCounters(), Map.<String, PortCounters>of("pod-a (shunt-p1)", port.counters()));

        @SuppressWarnings("unchecked")
        Map<String, Object> p = (Map<String, Object>) ((Map<String, Object>) stats.get("ports")).get("pod-a (shunt-p1)");
        assertThat(p).containsEntry("txPackets", 1L).containsEntry("txDropped", 1L).containsEntry("rxDropped", 0L);
        assertThat(p.get("drops")).as("only non-zero reasons").isEqualTo(Map.of("txRingFull", 1L));
    }
}
