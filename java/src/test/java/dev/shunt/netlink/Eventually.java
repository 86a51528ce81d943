package dev.shunt.netlink;

import java.time.Duration;

/**
 * Retries an assertion until it passes or a deadline passes, for kernel state that settles
 * asynchronously (operstate is set by the linkwatch worker, up to a second after the change).
 */
final class Eventually {
    private Eventually() {}

    /** Runs {@code assertion} every 50 ms until it passes; after {@code timeout}, its last failure is thrown. */
    static void within(Duration timeout, Runnable assertion) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                assertion.run();
                return;
            } catch (AssertionError e) {
                if (System.nanoTime() - deadline >= 0) {
                    throw e;
                }
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting", e);
            }
        }
    }
}
