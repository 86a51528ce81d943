package dev.shunt.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * An epoll instance for a poll loop's idle wait: register fds once, then {@link #await} with a
 * timeout. Ready events land in native memory allocated once (no allocation per wait). Used by
 * one thread at a time.
 */
public final class Epoll implements AutoCloseable {
    public static final int EPOLLIN = 0x001;
    public static final int EPOLLOUT = 0x004;
    public static final int EPOLLERR = 0x008;
    public static final int EPOLLHUP = 0x010;

    private static final int EPOLL_CLOEXEC = 0x80000;
    private static final int EPOLL_CTL_ADD = 1;
    private static final int EPOLL_CTL_DEL = 2;
    /** struct epoll_event is packed on x86_64: u32 events, u64 data, 12 bytes. */
    private static final int EVENT_SIZE = 12;
    private static final int DATA_OFFSET = 4;

    private final Fd fd;
    private final MemorySegment events;
    private final MemorySegment ctlEvent;
    private final int maxEvents;

    private Epoll(Fd fd, int maxEvents) {
        this.fd = fd;
        this.maxEvents = maxEvents;
        Arena arena = Arena.ofAuto();
        this.events = arena.allocate((long) EVENT_SIZE * maxEvents, 8);
        this.ctlEvent = arena.allocate(EVENT_SIZE, 8);
    }

    /** epoll_create1(EPOLL_CLOEXEC), reporting at most {@code maxEvents} ready fds per wait. */
    public static Epoll create(int maxEvents) {
        MemorySegment state = LibC.callState();
        int r;
        try {
            r = (int) LibC.EPOLL_CREATE1.invokeExact(state, EPOLL_CLOEXEC);
        } catch (Throwable t) {
            throw LibC.downcallFailed("epoll_create1", t);
        }
        if (r < 0) {
            throw new SysException("epoll_create1", LibC.errno(state));
        }
        return new Epoll(new Fd(r, "epoll"), maxEvents);
    }

    /** epoll_ctl(ADD), level-triggered, with {@code data} handed back by {@link #data(int)}. */
    public void add(Fd target, int eventMask, long data) {
        ctlEvent.set(JAVA_INT, 0, eventMask);
        ctlEvent.set(JAVA_LONG.withByteAlignment(1), DATA_OFFSET, data);
        ctl(EPOLL_CTL_ADD, target);
    }

    public void remove(Fd target) {
        ctl(EPOLL_CTL_DEL, target);
    }

    private void ctl(int op, Fd target) {
        MemorySegment state = LibC.callState();
        int r;
        try {
            r = (int) LibC.EPOLL_CTL.invokeExact(state, fd.value(), op, target.value(), ctlEvent);
        } catch (Throwable t) {
            throw LibC.downcallFailed("epoll_ctl", t);
        }
        if (r < 0) {
            throw new SysException("epoll_ctl(" + op + ", " + target + ")", LibC.errno(state));
        }
    }

    /**
     * epoll_wait for at most {@code timeoutMillis} (0 = poll, -1 = forever); returns the number of
     * ready fds (0 on timeout or when a signal interrupted the wait).
     */
    public int await(int timeoutMillis) {
        MemorySegment state = LibC.callState();
        int r;
        try {
            r = (int) LibC.EPOLL_WAIT.invokeExact(state, fd.value(), events, maxEvents, timeoutMillis);
        } catch (Throwable t) {
            throw LibC.downcallFailed("epoll_wait", t);
        }
        if (r < 0) {
            int errno = LibC.errno(state);
            if (errno == Errno.EINTR) {
                return 0;
            }
            throw new SysException("epoll_wait", errno);
        }
        return r;
    }

    /** The event mask of ready entry {@code i} of the last {@link #await}. */
    public int events(int i) {
        return events.get(JAVA_INT, (long) EVENT_SIZE * i);
    }

    /** The data registered with the fd of ready entry {@code i}. */
    public long data(int i) {
        return events.get(JAVA_LONG.withByteAlignment(1), (long) EVENT_SIZE * i + DATA_OFFSET);
    }

    @Override
    public void close() {
        fd.close();
    }
}
