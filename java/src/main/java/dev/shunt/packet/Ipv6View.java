package dev.shunt.packet;

import java.lang.foreign.MemorySegment;

import static dev.shunt.packet.NetworkOrder.i32;
import static dev.shunt.packet.NetworkOrder.i64;
import static dev.shunt.packet.NetworkOrder.setI32;
import static dev.shunt.packet.NetworkOrder.setI64;
import static dev.shunt.packet.NetworkOrder.setU16;
import static dev.shunt.packet.NetworkOrder.setU8;
import static dev.shunt.packet.NetworkOrder.u16;
import static dev.shunt.packet.NetworkOrder.u8;

/**
 * Flyweight over the fixed IPv6 header (RFC 8200). An address is two longs, high (first 8 bytes)
 * and low, so a lookup key needs no byte[]. Extension headers are walked by {@link PacketParser}
 * (see {@link PacketMeta#l4Offset()}); the static helpers here read their layouts.
 */
public final class Ipv6View {
    /** Version 4 bits, traffic class 8 bits, flow label 20 bits. */
    public static final int VERSION_CLASS_FLOW_OFFSET = 0;
    public static final int PAYLOAD_LENGTH_OFFSET = 4;
    public static final int NEXT_HEADER_OFFSET = 6;
    public static final int HOP_LIMIT_OFFSET = 7;
    public static final int SRC_OFFSET = 8;
    public static final int DST_OFFSET = 24;
    public static final int LENGTH = 40;

    /** Generic extension header: next header, length in 8-byte units not counting the first 8. */
    public static final int EXT_NEXT_HEADER_OFFSET = 0;
    public static final int EXT_LENGTH_OFFSET = 1;
    /** Fragment header (always 8 bytes): offset in bytes 2-3 (13 bits << 3, M flag in bit 0), id 4-7. */
    public static final int FRAGMENT_OFFSET_FLAGS_OFFSET = 2;
    public static final int FRAGMENT_ID_OFFSET = 4;
    public static final int FRAGMENT_HEADER_LENGTH = 8;
    public static final int FRAGMENT_OFFSET_MASK = 0xFFF8;
    public static final int FRAGMENT_MORE = 0x0001;

    private MemorySegment segment;
    private long offset;

    public Ipv6View wrap(MemorySegment segment, long offset) {
        this.segment = segment;
        this.offset = offset;
        return this;
    }

    public long offset() {
        return offset;
    }

    public int version() {
        return u8(segment, offset) >>> 4;
    }

    public int trafficClass() {
        return (i32(segment, offset) >>> 20) & 0xFF;
    }

    public int flowLabel() {
        return i32(segment, offset) & 0xFFFFF;
    }

    /** Writes version 6 with the given traffic class and flow label. */
    public void versionClassFlow(int trafficClass, int flowLabel) {
        setI32(segment, offset, (6 << 28) | ((trafficClass & 0xFF) << 20) | (flowLabel & 0xFFFFF));
    }

    /** Bytes after the fixed 40-byte header, extension headers included. */
    public int payloadLength() {
        return u16(segment, offset + PAYLOAD_LENGTH_OFFSET);
    }

    public void payloadLength(int length) {
        setU16(segment, offset + PAYLOAD_LENGTH_OFFSET, length);
    }

    public int nextHeader() {
        return u8(segment, offset + NEXT_HEADER_OFFSET);
    }

    public void nextHeader(int nextHeader) {
        setU8(segment, offset + NEXT_HEADER_OFFSET, nextHeader);
    }

    public int hopLimit() {
        return u8(segment, offset + HOP_LIMIT_OFFSET);
    }

    public void hopLimit(int hopLimit) {
        setU8(segment, offset + HOP_LIMIT_OFFSET, hopLimit);
    }

    public long sourceHigh() {
        return i64(segment, offset + SRC_OFFSET);
    }

    public long sourceLow() {
        return i64(segment, offset + SRC_OFFSET + 8);
    }

    public void source(long high, long low) {
        setI64(segment, offset + SRC_OFFSET, high);
        setI64(segment, offset + SRC_OFFSET + 8, low);
    }

    public long destinationHigh() {
        return i64(segment, offset + DST_OFFSET);
    }

    public long destinationLow() {
        return i64(segment, offset + DST_OFFSET + 8);
    }

    public void destination(long high, long low) {
        setI64(segment, offset + DST_OFFSET, high);
        setI64(segment, offset + DST_OFFSET + 8, low);
    }

    /** Offset just after the fixed header: the first extension header or the upper layer. */
    public long payloadOffset() {
        return offset + LENGTH;
    }

    /** Length in bytes of a (non-fragment) extension header at {@code extOffset}. */
    public static int extensionLength(MemorySegment segment, long extOffset) {
        return (u8(segment, extOffset + EXT_LENGTH_OFFSET) + 1) * 8;
    }

    /** Fragment offset in bytes of the fragment header at {@code fragOffset}. */
    public static int fragmentOffset(MemorySegment segment, long fragOffset) {
        return u16(segment, fragOffset + FRAGMENT_OFFSET_FLAGS_OFFSET) & FRAGMENT_OFFSET_MASK;
    }

    public static boolean fragmentMore(MemorySegment segment, long fragOffset) {
        return (u16(segment, fragOffset + FRAGMENT_OFFSET_FLAGS_OFFSET) & FRAGMENT_MORE) != 0;
    }

    public static int fragmentId(MemorySegment segment, long fragOffset) {
        return i32(segment, fragOffset + FRAGMENT_ID_OFFSET);
    }

    /** Decrements the hop limit; IPv6 has no header checksum, so that is all forwarding does. */
    public void decrementHopLimit() {
        hopLimit(hopLimit() - 1);
    }
}
