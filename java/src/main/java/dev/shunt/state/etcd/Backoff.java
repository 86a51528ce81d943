package dev.shunt.state.etcd;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff between retries: min, 2 min, 4 min ... capped at max, each delay spread by
 * up to 20% either way so that nodes that lost etcd together do not all come back in the same
 * millisecond. Not thread-safe; each retry loop has its own.
 */
final class Backoff {
    private final long minMillis;
    private final long maxMillis;
    private long nextMillis;

    Backoff(Duration min, Duration max) {
        this.minMillis = min.toMillis();
        this.maxMillis = max.toMillis();
        if (minMillis <= 0 || maxMillis < minMillis) {
            throw new IllegalArgumentException("backoff needs 0 < min <= max, not " + min + " and " + max);
        }
        this.nextMillis = minMillis;
    }

    /** The delay before the next attempt (then doubles, up to max). */
    long nextDelayMillis() {
        long base = nextMillis;
        nextMillis = Math.min(maxMillis, nextMillis * 2);
        long spread = base / 5;
        long jittered = base + (spread == 0 ? 0 : ThreadLocalRandom.current().nextLong(-spread, spread + 1));
        return Math.max(1, Math.min(maxMillis, jittered));
    }

    /** After a success: the next failure waits min again. */
    void reset() {
        nextMillis = minMillis;
    }
}
