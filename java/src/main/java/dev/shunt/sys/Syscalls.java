package dev.shunt.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Small process-level calls that fit nowhere else. */
public final class Syscalls {
    private Syscalls() {}

    /** getpid(2) through a plain downcall (the JVM transitions the thread to native and back). */
    public static int getpid() {
        try {
            return (int) LibC.GETPID.invokeExact();
        } catch (Throwable t) {
            throw LibC.downcallFailed("getpid", t);
        }
    }

    /** getpid(2) through a {@code critical} downcall: no thread-state transition, for calls that never block. */
    public static int getpidCritical() {
        try {
            return (int) LibC.GETPID_CRITICAL.invokeExact();
        } catch (Throwable t) {
            throw LibC.downcallFailed("getpid", t);
        }
    }

    /** gettid(2): the kernel's id of the calling thread, as in /proc/self/task/TID. */
    public static int gettid() {
        try {
            return (int) LibC.GETTID.invokeExact();
        } catch (Throwable t) {
            throw LibC.downcallFailed("gettid", t);
        }
    }

    /** if_nametoindex(3) in the calling thread's network namespace. */
    public static int interfaceIndex(String name) {
        MemorySegment state = LibC.callState();
        int r;
        try (Arena arena = Arena.ofConfined()) {
            r = (int) LibC.IF_NAMETOINDEX.invokeExact(state, arena.allocateFrom(name));
        } catch (Throwable t) {
            throw LibC.downcallFailed("if_nametoindex", t);
        }
        if (r == 0) {
            throw new SysException("if_nametoindex(" + name + ")", LibC.errno(state));
        }
        return r;
    }
}
