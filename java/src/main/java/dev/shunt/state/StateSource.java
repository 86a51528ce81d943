package dev.shunt.state;

/**
 * Where the desired state comes from: a full snapshot, then ordered changes. Revisions number the
 * state a listener holds after each call, so a source backed by a store with revisions of its own
 * (etcd) can hand out its own and resume a watch from the last one seen.
 *
 * <p>Implemented by {@link DiffingStateSource} (a holder fed whole states, e.g. the agent's
 * own: the files applied to it, its pods and Services).
 */
public interface StateSource {
    /**
     * Starts delivering to {@code listener}: a snapshot of the current state at once (on the
     * calling thread), then every change. Closing the returned handle stops delivery.
     */
    AutoCloseable subscribe(StateListener listener);
}
