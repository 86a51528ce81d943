package dev.shunt.state.etcd;

import java.time.Instant;
import java.util.Optional;

/**
 * How the store's connection to etcd is doing, for {@code shunt status}: {@code since} is when it
 * entered {@code state}; the last connection error (if any) stays visible after a recovery.
 */
public record EtcdStatus(State state, Instant since, String endpoints, Optional<String> lastError, Optional<Instant> lastErrorAt) {
    public enum State {
        /** Opened; no request has completed yet. */
        CONNECTING,
        /** The last request that reached etcd succeeded. */
        CONNECTED,
        /** etcd could not be reached; requests fail fast and background work retries with backoff. */
        RETRYING,
        /** The store was closed. */
        CLOSED
    }

    public boolean connected() {
        return state == State.CONNECTED;
    }

    /** One line, e.g. {@code retrying since 2026-01-02T03:04:05Z (http://10.0.0.1:2379): UNAVAILABLE: connection refused}. */
    public String describe() {
        String text = switch (state) {
            case CONNECTING -> "connecting since " + since;
            case CONNECTED -> "connected since " + since;
            case RETRYING -> "retrying since " + since;
            case CLOSED -> "closed since " + since;
        };
        text += " (" + endpoints + ")";
        if (state != State.CONNECTED && lastError.isPresent()) {
            text += ": " + lastError.get();
        }
        return text;
    }
}
