package dev.shunt.state;

import java.util.List;

/**
 * Receives the desired state from a {@link StateSource}: one snapshot first, then changes in
 * order. Called on the source's thread, one call at a time; a listener must return quickly and
 * must not call back into the source.
 */
public interface StateListener {
    /**
     * The whole state as of {@code revision}; it replaces whatever the listener held (a source may
     * send a new snapshot at any time, e.g. when it lost track of changes, as an etcd watch does
     * after a compaction).
     */
    void snapshot(long revision, ClusterState state);

    /**
     * The changes that make {@code revision}, in the order they apply, on top of the last snapshot
     * and every change delivered since. Revisions grow strictly from one call to the next.
     */
    void changes(long revision, List<StateChange> changes);
}
