package dev.shunt.sys;

/**
 * A failed system call: the operation that failed, the errno by name and number, and the C
 * library's description, e.g. {@code setns(/run/netns/x): EINVAL (Invalid argument)}.
 */
public class SysException extends RuntimeException {
    private final String operation;
    private final int errno;

    public SysException(String operation, int errno) {
        this(operation, errno, null);
    }

    /** {@code detail}, when present, is appended after the errno (e.g. the kernel's extended ack). */
    public SysException(String operation, int errno, String detail) {
        super(operation + ": " + Errno.name(errno) + " (" + LibC.strerror(errno) + ")"
                + (detail == null || detail.isEmpty() ? "" : ": " + detail));
        this.operation = operation;
        this.errno = errno;
    }

    public String operation() {
        return operation;
    }

    public int errno() {
        return errno;
    }

    public String errnoName() {
        return Errno.name(errno);
    }
}
