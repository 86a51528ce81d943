package dev.shunt.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * An owned file descriptor. Closing is idempotent; {@link #value()} on a closed Fd throws, so a
 * descriptor number is never reused by mistake after the kernel has handed it to someone else.
 */
public final class Fd implements AutoCloseable {
    public static final int O_RDONLY = 0;
    public static final int O_CLOEXEC = 0x80000;

    private final int fd;
    private final String what;
    private volatile boolean closed;

    Fd(int fd, String what) {
        this.fd = fd;
        this.what = what;
    }

    /** open(2) read-only with O_CLOEXEC, e.g. a namespace file. */
    public static Fd openReadOnly(String path) {
        MemorySegment state = LibC.callState();
        int r;
        try (Arena arena = Arena.ofConfined()) {
            r = (int) LibC.OPEN.invokeExact(state, arena.allocateFrom(path), O_RDONLY | O_CLOEXEC, 0);
        } catch (Throwable t) {
            throw LibC.downcallFailed("open", t);
        }
        if (r < 0) {
            throw new SysException("open(" + path + ")", LibC.errno(state));
        }
        return new Fd(r, path);
    }

    public int value() {
        if (closed) {
            throw new IllegalStateException("file descriptor for " + what + " is closed");
        }
        return fd;
    }

    public boolean isOpen() {
        return !closed;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        MemorySegment state = LibC.callState();
        int r;
        try {
            r = (int) LibC.CLOSE.invokeExact(state, fd);
        } catch (Throwable t) {
            throw LibC.downcallFailed("close", t);
        }
        // close(2) releases the descriptor even when it reports EINTR: never retry.
        if (r < 0 && LibC.errno(state) != Errno.EINTR) {
            throw new SysException("close(" + what + ")", LibC.errno(state));
        }
    }

    @Override
    public String toString() {
        return "Fd[" + fd + " " + what + (closed ? " closed" : "") + "]";
    }
}
