package dev.shunt.packet;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Big-endian ("network order") reads and writes at any byte offset of a segment. Headers sit at
 * arbitrary offsets (a VLAN tag shifts everything by 4, IPv4 options by 4n), hence the unaligned
 * layouts. The layouts are static final so the JIT folds them: each access compiles to a load
 * plus a byte swap, with no allocation.
 */
public final class NetworkOrder {
    public static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;
    public static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    public static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    public static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private NetworkOrder() {}

    public static int u8(MemorySegment segment, long offset) {
        return segment.get(U8, offset) & 0xFF;
    }

    public static int u16(MemorySegment segment, long offset) {
        return segment.get(U16, offset) & 0xFFFF;
    }

    /** 32 bits as a Java int (IPv4 addresses, sequence numbers): compare unsigned where it matters. */
    public static int i32(MemorySegment segment, long offset) {
        return segment.get(U32, offset);
    }

    public static long i64(MemorySegment segment, long offset) {
        return segment.get(U64, offset);
    }

    /** A 48-bit MAC address in the low bits of a long. */
    public static long mac(MemorySegment segment, long offset) {
        return ((long) u16(segment, offset) << 32) | (i32(segment, offset + 2) & 0xFFFF_FFFFL);
    }

    public static void setU8(MemorySegment segment, long offset, int value) {
        segment.set(U8, offset, (byte) value);
    }

    public static void setU16(MemorySegment segment, long offset, int value) {
        segment.set(U16, offset, (short) value);
    }

    public static void setI32(MemorySegment segment, long offset, int value) {
        segment.set(U32, offset, value);
    }

    public static void setI64(MemorySegment segment, long offset, long value) {
        segment.set(U64, offset, value);
    }

    public static void setMac(MemorySegment segment, long offset, long mac) {
        setU16(segment, offset, (int) (mac >>> 32));
        setI32(segment, offset + 2, (int) mac);
    }
}
