package dev.shunt.state;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * A {@link StateSource} fed whole states: each {@link #publish} is compared with the state before
 * and the difference goes to the listeners as the changes of one new revision (none if nothing
 * changed, so publishing the same state again is free for listeners). Revision 0 is the empty
 * state it starts with; each publish that changes something makes the next one. Revisions live as
 * long as this object: a new one (e.g. after an agent restart) starts over, and its listeners start
 * from a snapshot.
 *
 * <p>Thread-safe: publishing and subscribing are serialised on this object, so a listener sees its
 * snapshot and then every later change exactly once, in order. A listener that throws is dropped
 * (it would hold a state that no longer follows) and its exception handed to {@code
 * onListenerFailure}: the publisher's own work (e.g. the agent's) must not fail for a follower's bug.
 */
public final class DiffingStateSource implements StateSource {
    private final List<StateListener> listeners = new CopyOnWriteArrayList<>();
    private final Consumer<RuntimeException> onListenerFailure;
    private ClusterState current = ClusterState.EMPTY;
    private long revision;

    public DiffingStateSource(Consumer<RuntimeException> onListenerFailure) {
        this.onListenerFailure = onListenerFailure;
    }

    /** Makes {@code next} the current state; returns the changes delivered (empty if none). */
    public synchronized List<StateChange> publish(ClusterState next) {
        List<StateChange> changes = current.changesTo(next);
        current = next;
        if (changes.isEmpty()) {
            return changes;
        }
        revision++;
        for (StateListener l : listeners) {
            try {
                l.changes(revision, changes);
            } catch (RuntimeException e) {
                listeners.remove(l);
                onListenerFailure.accept(e);
            }
        }
        return changes;
    }

    /** Whether anyone listens: a holder may leave states unpublished (and uncomputed) until someone does. */
    public boolean hasListeners() {
        return !listeners.isEmpty();
    }

    public synchronized ClusterState current() {
        return current;
    }

    public synchronized long revision() {
        return revision;
    }

    @Override
    public synchronized AutoCloseable subscribe(StateListener listener) {
        listener.snapshot(revision, current);
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }
}
