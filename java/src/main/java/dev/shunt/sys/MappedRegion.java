package dev.shunt.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A shared memory mapping of a file descriptor (mmap(2) with MAP_SHARED), e.g. a packet socket's
 * rings. {@link #segment()} is exactly {@code length} bytes and belongs to a shared arena:
 * {@link #close()} first closes the arena, so any later access through the segment throws
 * (instead of touching unmapped memory), then munmaps.
 */
public final class MappedRegion implements AutoCloseable {
    public static final int PROT_READ = 0x1;
    public static final int PROT_WRITE = 0x2;
    public static final int MAP_SHARED = 0x01;
    public static final int MAP_LOCKED = 0x2000;
    public static final int MAP_POPULATE = 0x8000;
    private static final long MAP_FAILED = -1L;

    private final Arena arena;
    private final MemorySegment segment;
    private final long address;
    private final long length;
    private boolean closed;

    private MappedRegion(Arena arena, MemorySegment segment, long address, long length) {
        this.arena = arena;
        this.segment = segment;
        this.address = address;
        this.length = length;
    }

    /**
     * mmap(NULL, length, PROT_READ|PROT_WRITE, MAP_SHARED [|MAP_LOCKED|MAP_POPULATE], fd, 0).
     * {@code locked} pins the pages and faults them in now (needs RLIMIT_MEMLOCK or CAP_IPC_LOCK);
     * packet ring pages are kernel memory that is never swapped either way, so it only saves the
     * first-touch page faults.
     */
    public static MappedRegion map(Fd fd, long length, boolean locked) {
        int flags = MAP_SHARED | (locked ? MAP_LOCKED | MAP_POPULATE : 0);
        MemorySegment state = LibC.callState();
        MemorySegment raw;
        try {
            raw = (MemorySegment) LibC.MMAP.invokeExact(state, MemorySegment.NULL, length,
                    PROT_READ | PROT_WRITE, flags, fd.value(), 0L);
        } catch (Throwable t) {
            throw LibC.downcallFailed("mmap", t);
        }
        if (raw.address() == MAP_FAILED) {
            throw new SysException("mmap(" + fd + ", " + length + " bytes)", LibC.errno(state));
        }
        Arena arena = Arena.ofShared();
        return new MappedRegion(arena, raw.reinterpret(length, arena, null), raw.address(), length);
    }

    public MemorySegment segment() {
        return segment;
    }

    public long length() {
        return length;
    }

    /** Invalidates the segment, then munmap(2). Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        arena.close();
        MemorySegment state = LibC.callState();
        int r;
        try {
            r = (int) LibC.MUNMAP.invokeExact(state, MemorySegment.ofAddress(address), length);
        } catch (Throwable t) {
            throw LibC.downcallFailed("munmap", t);
        }
        if (r < 0) {
            throw new SysException("munmap(" + length + " bytes)", LibC.errno(state));
        }
    }
}
