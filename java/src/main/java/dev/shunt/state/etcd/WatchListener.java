package dev.shunt.state.etcd;

import java.util.List;

/**
 * Receives what a {@link PrefixWatch} sees, one call at a time, never concurrently, in revision order.
 * Calls come from the client's threads: return quickly and never call the store's blocking methods
 * from inside them (hand the work to your own thread).
 */
public interface WatchListener {
    /**
     * Changes after the last revision delivered, in order: whole revisions only (all changes of one
     * transaction arrive in one call), each revision at most once.
     */
    void changed(List<Change> changes);

    /**
     * The revisions since the last delivered one were compacted away, so the changes in between
     * cannot be replayed: {@code snapshot} is everything under the prefix now, to be applied as a
     * replacement (keys not in it are gone); changes after {@code snapshot.revision()} follow.
     */
    void relisted(Snapshot snapshot);
}
