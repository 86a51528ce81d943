package dev.shunt.state.etcd;

import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.common.exception.EtcdException;
import io.etcd.jetcd.common.exception.ErrorCode;
import io.grpc.Status;

import java.io.IOException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

/** Classifies and describes the errors jetcd and gRPC hand back. */
final class Failures {
    private Failures() {}

    /** The error without the wrappers futures add. */
    static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** Whether {@code t} means etcd was not reached (or did not answer in time), as opposed to a refusal. */
    static boolean isConnectivity(Throwable t) {
        t = unwrap(t);
        if (t instanceof TimeoutException || t instanceof IOException) {
            return true;
        }
        if (t instanceof EtcdException e) {
            ErrorCode code = e.getErrorCode();
            if (code == ErrorCode.UNAVAILABLE || code == ErrorCode.DEADLINE_EXCEEDED) {
                return true;
            }
        }
        Status.Code code = Status.fromThrowable(t).getCode();
        return code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED;
    }

    static boolean isCompacted(Throwable t) {
        return unwrap(t) instanceof CompactedException;
    }

    /** etcd's "requested lease not found": the lease expired or was revoked. */
    static boolean isLeaseNotFound(Throwable t) {
        t = unwrap(t);
        return t instanceof EtcdException e && e.getErrorCode() == ErrorCode.NOT_FOUND
                || String.valueOf(t.getMessage()).contains("requested lease not found");
    }

    /** One line: the status or exception, then the innermost cause (e.g. "Connection refused: /127.0.0.1:2379"). */
    static String describe(Throwable t) {
        t = unwrap(t);
        String text = t instanceof TimeoutException ? "no answer in time" : message(t);
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root != t) {
            String rootText = message(root);
            if (!text.contains(rootText)) {
                text += " (" + rootText + ")";
            }
        }
        return text;
    }

    private static String message(Throwable t) {
        String m = t.getMessage();
        return m == null || m.isBlank() ? t.getClass().getSimpleName() : m;
    }
}
