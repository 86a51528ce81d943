package dev.shunt.netns;

/** A namespace that is missing, already there, or badly named: a user-facing message. */
public class NetnsException extends RuntimeException {
    public NetnsException(String message) {
        super(message);
    }

    public NetnsException(String message, Throwable cause) {
        super(message, cause);
    }
}
