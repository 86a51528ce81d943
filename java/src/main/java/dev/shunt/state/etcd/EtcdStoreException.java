package dev.shunt.state.etcd;

/**
 * A store operation failed: etcd unreachable or too slow ({@link #unavailable()}), or etcd refused
 * the request, or no subnet was free. The message says which, with the endpoints.
 */
public class EtcdStoreException extends RuntimeException {
    private final boolean unavailable;

    EtcdStoreException(String message, boolean unavailable, Throwable cause) {
        super(message, cause);
        this.unavailable = unavailable;
    }

    EtcdStoreException(String message) {
        this(message, false, null);
    }

    /** Whether etcd could not be reached (or did not answer in time): the caller may retry later. */
    public boolean unavailable() {
        return unavailable;
    }
}
