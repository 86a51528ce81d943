package dev.shunt.datapath;

import dev.shunt.datapath.ConntrackTimeouts.Kind;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static dev.shunt.datapath.ConntrackTable.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConntrackTimeoutsTest {

    @Test
    void kernelDefaultsInTheCallersUnit() {
        ConntrackTimeouts ns = ConntrackTimeouts.kernelDefaults(TimeUnit.NANOSECONDS);
        ConntrackTimeouts ms = ConntrackTimeouts.kernelDefaults(TimeUnit.MILLISECONDS);
        assertThat(ns.ticks(Kind.TCP_ESTABLISHED)).isEqualTo(432_000_000_000_000L);
        assertThat(ms.ticks(Kind.TCP_ESTABLISHED)).isEqualTo(432_000_000L);
        long s = 1_000_000_000L;
        assertThat(ns.timeout(IPPROTO_TCP, TcpState.NONE, false)).isEqualTo(120 * s);
        assertThat(ns.timeout(IPPROTO_TCP, TcpState.SYN_SENT, false)).isEqualTo(120 * s);
        assertThat(ns.timeout(IPPROTO_TCP, TcpState.SYN_RECV, true)).isEqualTo(60 * s);
        assertThat(ns.timeout(IPPROTO_TCP, TcpState.FIN_WAIT, true)).isEqualTo(120 * s);
        assertThat(ns.timeout(IPPROTO_TCP, TcpState.CLOSE_WAIT, true)).isEqualTo(60 * s);
        assertThat(ns.timeout(IPPROTO_TCP, TcpState.LAST_ACK, true)).isEqualTo(30 * s);
        assertThat(ns.timeout(IPPROTO_TCP, TcpState.TIME_WAIT, true)).isEqualTo(120 * s);
        assertThat(ns.timeout(IPPROTO_TCP, TcpState.CLOSE, true)).isEqualTo(10 * s);
        assertThat(ns.timeout(IPPROTO_UDP, TcpState.NONE, false)).isEqualTo(30 * s);
        assertThat(ns.timeout(IPPROTO_UDP, TcpState.NONE, true)).isEqualTo(120 * s);
        assertThat(ns.timeout(IPPROTO_ICMP, TcpState.NONE, true)).isEqualTo(30 * s);
        assertThat(ns.timeout(47, TcpState.NONE, false)).as("GRE: generic").isEqualTo(600 * s);
    }

    @Test
    void withReturnsAChangedCopy() {
        ConntrackTimeouts defaults = ConntrackTimeouts.kernelDefaults(TimeUnit.MILLISECONDS);
        ConntrackTimeouts shorter = defaults.with(Kind.TCP_ESTABLISHED, Duration.ofHours(1));
        assertThat(shorter.ticks(Kind.TCP_ESTABLISHED)).isEqualTo(3_600_000L);
        assertThat(defaults.ticks(Kind.TCP_ESTABLISHED)).isEqualTo(432_000_000L);
        assertThat(shorter).isNotEqualTo(defaults);
        assertThat(shorter.with(Kind.TCP_ESTABLISHED, Duration.ofDays(5))).isEqualTo(defaults)
                .hasSameHashCodeAs(defaults);
        assertThat(defaults.with(Kind.ICMP, Duration.ofNanos(1)).ticks(Kind.ICMP)).as("at least one tick").isEqualTo(1);
        assertThatThrownBy(() -> defaults.with(Kind.ICMP, Duration.ZERO)).hasMessageContaining("ICMP timeout must be positive");
        assertThatThrownBy(() -> defaults.withTicks(Kind.OTHER, -1)).hasMessageContaining("OTHER");
        assertThat(defaults.toString()).contains("TCP_ESTABLISHED=PT120H", "UDP_UNREPLIED=PT30S");
    }

    @Test
    void aTableUsesItsTimeouts() {
        ConntrackTimeouts timeouts = ConntrackTimeouts.kernelDefaults(TimeUnit.MILLISECONDS).withTicks(Kind.UDP_UNREPLIED, 5);
        ConntrackTable t = ConntrackTable.allocate(java.lang.foreign.Arena.ofAuto(), 16, timeouts, 1);
        assertThat(t.timeouts()).isSameAs(timeouts);
        int h = Flows.insertPlain(t, 1, 2, 3, 4, IPPROTO_UDP, 100);
        assertThat(t.expiresAt(h)).isEqualTo(105);
        assertThat(t.lookup(1, 2, 3, 4, IPPROTO_UDP, 104)).isEqualTo(h);
        assertThat(t.lookup(2, 1, 4, 3, IPPROTO_UDP, 105)).isEqualTo(MISS);
    }
}
