package dev.shunt.state.etcd;

import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A watch on a key prefix that survives disconnects: each connection ("session") is a jetcd watch
 * starting at the revision after the last one delivered. The session ends at its first error and a
 * new one is opened after a backoff, rather than letting jetcd resume on its own: jetcd resumes
 * from the header revision of its last "created" response, which can skip events that were not
 * yet delivered when the stream broke. Events at or below the last delivered revision are dropped
 * (counted in {@link #duplicatesDropped()}), so a change is never delivered twice. When the history
 * needed was compacted, the prefix is re-listed and handed over as a snapshot.
 */
public final class PrefixWatch implements AutoCloseable {
    private final EtcdStore store;
    private final String prefix;
    private final WatchListener listener;
    private final Backoff backoff;
    private long lastRevision;
    private int session;
    private Watch.Watcher watcher;
    private boolean closed;
    private int sessionsOpened;
    private int relists;
    private long duplicatesDropped;
    private String lastError;

    PrefixWatch(EtcdStore store, String prefix, long afterRevision, WatchListener listener) {
        this.store = store;
        this.prefix = prefix;
        this.listener = listener;
        this.lastRevision = afterRevision;
        this.backoff = store.newBackoff();
    }

    public String prefix() {
        return prefix;
    }

    /** The revision of the last change (or snapshot) delivered: persist it to resume after a restart. */
    public synchronized long lastRevision() {
        return lastRevision;
    }

    /** Sessions that etcd confirmed (1 + reconnects). */
    public synchronized int sessionsOpened() {
        return sessionsOpened;
    }

    /** Times the prefix was re-listed because the history needed had been compacted. */
    public synchronized int relists() {
        return relists;
    }

    /** Events dropped because their revision had been delivered already. */
    public synchronized long duplicatesDropped() {
        return duplicatesDropped;
    }

    /** The error that ended the last session, if any. */
    public synchronized String lastError() {
        return lastError;
    }

    @Override
    public void close() {
        Watch.Watcher w;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            session++;
            w = watcher;
            watcher = null;
        }
        store.forget(this);
        if (w != null) {
            store.onStoreThread(w::close);
        }
    }

    @Override
    public String toString() {
        return "watch " + prefix + " after revision " + lastRevision();
    }

    void start() {
        store.onStoreThread(this::openSession);
    }

    /** On the store's thread. */
    private void openSession() {
        int gen;
        long from;
        synchronized (this) {
            if (closed) {
                return;
            }
            gen = ++session;
            from = lastRevision + 1;
        }
        Watch.Watcher w;
        try {
            w = store.watchClient().watch(EtcdStore.bytes(prefix),
                    WatchOption.builder().isPrefix(true).withRevision(from).withCreateNotify(true).build(),
                    Watch.listener(r -> onResponse(gen, r), t -> onError(gen, t), () -> onCompleted(gen)));
        } catch (RuntimeException e) {
            onError(gen, e);
            return;
        }
        synchronized (this) {
            if (gen == session) {
                watcher = w;
                return;
            }
        }
        w.close(); // the session failed (or the watch closed) while it was being opened
    }

    private void onResponse(int gen, WatchResponse response) {
        boolean confirmed = false;
        synchronized (this) {
            if (gen != session) {
                return;
            }
            if (response.isCreatedNotify()) {
                sessionsOpened++;
                backoff.reset();
                confirmed = true;
            } else {
                List<Change> changes = new ArrayList<>(response.getEvents().size());
                long newest = lastRevision;
                for (WatchEvent e : response.getEvents()) {
                    KeyValue kv = e.getKeyValue();
                    long revision = kv.getModRevision();
                    if (revision <= lastRevision) {
                        duplicatesDropped++;
                        continue;
                    }
                    Change.Type type = switch (e.getEventType()) {
                        case PUT -> Change.Type.PUT;
                        case DELETE -> Change.Type.DELETE;
                        case UNRECOGNIZED -> null;
                    };
                    if (type == null) {
                        continue;
                    }
                    changes.add(new Change(type, kv.getKey().toString(StandardCharsets.UTF_8),
                            type == Change.Type.PUT ? kv.getValue().getBytes() : new byte[0], revision));
                    newest = Math.max(newest, revision);
                }
                if (!changes.isEmpty()) {
                    // etcd never splits a revision across responses, so after this call every change
                    // up to `newest` has been delivered.
                    deliver(() -> listener.changed(List.copyOf(changes)));
                    lastRevision = newest;
                }
            }
        }
        if (confirmed) {
            store.health().succeeded();
        }
    }

    /**
     * A listener that throws has still been told: redelivering would only repeat its failure, and
     * an exception thrown into jetcd's callback would end the stream. The failure is kept in
     * {@link #lastError()}. Called with this watch's lock held.
     */
    private void deliver(Runnable call) {
        try {
            call.run();
        } catch (RuntimeException e) {
            lastError = "listener failed: " + Failures.describe(e);
        }
    }

    private void onError(int gen, Throwable error) {
        Watch.Watcher w;
        boolean compacted = Failures.isCompacted(error);
        long delay;
        synchronized (this) {
            if (gen != session || closed) {
                return;
            }
            session++; // ends this session; its late callbacks are ignored
            w = watcher;
            watcher = null;
            lastError = Failures.describe(error);
            delay = compacted ? 0 : backoff.nextDelayMillis();
        }
        if (w != null) {
            // Not from inside jetcd's callback: it still uses the stream after calling us.
            store.onStoreThread(w::close);
        }
        if (compacted) {
            store.onStoreThread(this::relist);
        } else {
            store.health().completed(error);
            store.retryLater(this::openSession, delay);
        }
    }

    private void onCompleted(int gen) {
        long delay;
        synchronized (this) {
            if (gen != session || closed) {
                return; // our own close, or a session already ended
            }
            session++;
            watcher = null;
            lastError = "the watch stream ended";
            delay = backoff.nextDelayMillis();
        }
        store.retryLater(this::openSession, delay);
    }

    private void relist() {
        store.listAsync(prefix).whenComplete((snapshot, error) -> {
            if (error != null) {
                long delay;
                synchronized (this) {
                    if (closed) {
                        return;
                    }
                    lastError = "re-list after compaction: " + Failures.describe(error);
                    delay = backoff.nextDelayMillis();
                }
                store.retryLater(this::relist, delay);
                return;
            }
            synchronized (this) {
                if (closed) {
                    return;
                }
                relists++;
                deliver(() -> listener.relisted(snapshot));
                lastRevision = snapshot.revision();
            }
            store.onStoreThread(this::openSession);
        });
    }
}
