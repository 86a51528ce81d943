package dev.shunt.sys;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Reads and writes at absolute addresses of native memory for the fast path: its own tables (the
 * connection-tracking table, in native byte order) and the headers of frames in native receive
 * buffers (big-endian, network order). The caller has checked the bounds once (the table's layout,
 * the frame's length) and keeps the memory mapped while it reads.
 *
 * <p>Why not the table's own {@link MemorySegment}: every access through a segment that C2 does
 * not know as a constant re-checks its class, bounds, session owner and state, and costs ~1,200 IR
 * nodes in the pipeline's deeply inlined code against C2's budget of 18,000 per compile unit; the
 * per-packet path then does not fit one unit, and where C2 cuts it depends on the compile order
 * (benchmarks/PIPELINE-RESULTS.md, session 6). Through one constant segment spanning the address
 * space the checks fold away and an access costs about half. The price is the usual one of raw
 * addresses: an address outside live memory is not an exception but a crash, which is why only
 * code that owns and validates its memory may use this.
 */
public final class NativeMemory {
    private static final MemorySegment EVERYTHING = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfLong LONG_BE = LONG.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt INT_BE = INT.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfShort SHORT_BE = SHORT.withOrder(ByteOrder.BIG_ENDIAN);

    private NativeMemory() {}

    /** The address of a native segment's first byte; refuses a heap segment, which has none. */
    public static long address(MemorySegment segment) {
        if (!segment.isNative()) {
            throw new IllegalArgumentException("a heap segment has no native address");
        }
        return segment.address();
    }

    public static long getLong(long address) {
        return EVERYTHING.get(LONG, address);
    }

    public static int getInt(long address) {
        return EVERYTHING.get(INT, address);
    }

    public static short getShort(long address) {
        return EVERYTHING.get(SHORT, address);
    }

    public static byte getByte(long address) {
        return EVERYTHING.get(ValueLayout.JAVA_BYTE, address);
    }

    public static void setLong(long address, long value) {
        EVERYTHING.set(LONG, address, value);
    }

    public static void setInt(long address, int value) {
        EVERYTHING.set(INT, address, value);
    }

    public static void setShort(long address, short value) {
        EVERYTHING.set(SHORT, address, value);
    }

    public static void setByte(long address, byte value) {
        EVERYTHING.set(ValueLayout.JAVA_BYTE, address, value);
    }

    /** 8 bytes in network order (a packet header's). */
    public static long getLongBigEndian(long address) {
        return EVERYTHING.get(LONG_BE, address);
    }

    public static void setLongBigEndian(long address, long value) {
        EVERYTHING.set(LONG_BE, address, value);
    }

    public static void setIntBigEndian(long address, int value) {
        EVERYTHING.set(INT_BE, address, value);
    }

    public static void setShortBigEndian(long address, short value) {
        EVERYTHING.set(SHORT_BE, address, value);
    }
}
