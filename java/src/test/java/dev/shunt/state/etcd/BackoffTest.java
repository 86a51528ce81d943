package dev.shunt.state.etcd;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BackoffTest {
    @Test
    void doublesWithinTwentyPercentUpToTheCapAndStartsOverAfterReset() {
        Backoff b = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5));
        long[] bases = {100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000};
        for (int round = 0; round < 50; round++) {
            for (long base : bases) {
                assertThat(b.nextDelayMillis()).isBetween(base - base / 5, Math.min(5000, base + base / 5));
            }
            b.reset();
        }
    }

    @Test
    void refusesAnUpsideDownRange() {
        assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(5), Duration.ofMillis(100))).hasMessageContaining("0 < min <= max");
        assertThatThrownBy(() -> new Backoff(Duration.ZERO, Duration.ofMillis(100))).hasMessageContaining("0 < min <= max");
    }
}
