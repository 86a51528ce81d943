package dev.shunt.state.etcd;

import java.time.Clock;
import java.time.Instant;
import java.util.Optional;

/**
 * The store's connection state, fed by every request and background stream: a success means
 * connected, a connectivity failure (see {@link Failures#isConnectivity}) means retrying. Failures
 * of the request itself (a compare that did not hold, a bad argument) say nothing about the
 * connection and are not reported here.
 */
final class ConnectionHealth {
    private final Clock clock;
    private final String endpoints;
    private EtcdStatus.State state = EtcdStatus.State.CONNECTING;
    private Instant since;
    private String lastError;
    private Instant lastErrorAt;
    private Runnable onRetrying = () -> {};

    ConnectionHealth(Clock clock, String endpoints) {
        this.clock = clock;
        this.endpoints = endpoints;
        this.since = clock.instant();
    }

    /** Called (outside the lock) each time the state turns to RETRYING. */
    synchronized void onRetrying(Runnable action) {
        this.onRetrying = action;
    }

    void succeeded() {
        synchronized (this) {
            if (state == EtcdStatus.State.CONNECTED || state == EtcdStatus.State.CLOSED) {
                return;
            }
            state = EtcdStatus.State.CONNECTED;
            since = clock.instant();
        }
    }

    void failed(Throwable error) {
        Runnable action;
        synchronized (this) {
            if (state == EtcdStatus.State.CLOSED) {
                return;
            }
            lastError = Failures.describe(error);
            lastErrorAt = clock.instant();
            if (state == EtcdStatus.State.RETRYING) {
                return;
            }
            state = EtcdStatus.State.RETRYING;
            since = lastErrorAt;
            action = onRetrying;
        }
        action.run();
    }

    /** Reports {@code error} if it is a connectivity failure, a success otherwise. */
    void completed(Throwable error) {
        if (error == null) {
            succeeded();
        } else if (Failures.isConnectivity(error)) {
            failed(error);
        } else {
            // etcd answered (with a refusal): the connection works.
            succeeded();
        }
    }

    synchronized void closed() {
        state = EtcdStatus.State.CLOSED;
        since = clock.instant();
    }

    synchronized boolean retrying() {
        return state == EtcdStatus.State.RETRYING;
    }

    synchronized EtcdStatus snapshot() {
        return new EtcdStatus(state, since, endpoints, Optional.ofNullable(lastError), Optional.ofNullable(lastErrorAt));
    }
}
