package dev.shunt.packet;

import java.lang.foreign.MemorySegment;

import static dev.shunt.packet.NetworkOrder.i32;
import static dev.shunt.packet.NetworkOrder.setI32;
import static dev.shunt.packet.NetworkOrder.setU16;
import static dev.shunt.packet.NetworkOrder.setU8;
import static dev.shunt.packet.NetworkOrder.u16;
import static dev.shunt.packet.NetworkOrder.u8;

/**
 * Flyweight over an IPv4 header (RFC 791), options included. Addresses are ints in network order
 * (10.0.0.1 is 0x0A000001). Setters do not touch the header checksum: call
 * {@link #updateChecksum()} after a batch of writes, or rewrite through {@link NatRewrites}, which
 * patches checksums incrementally.
 */
public final class Ipv4View {
    public static final int VERSION_IHL_OFFSET = 0;
    public static final int TOS_OFFSET = 1;
    public static final int TOTAL_LENGTH_OFFSET = 2;
    public static final int ID_OFFSET = 4;
    /** Flags (reserved, DF, MF) in the top 3 bits, fragment offset in 8-byte units below. */
    public static final int FLAGS_FRAGMENT_OFFSET = 6;
    public static final int TTL_OFFSET = 8;
    public static final int PROTOCOL_OFFSET = 9;
    public static final int CHECKSUM_OFFSET = 10;
    public static final int SRC_OFFSET = 12;
    public static final int DST_OFFSET = 16;
    public static final int MIN_LENGTH = 20;
    public static final int MAX_LENGTH = 60;

    public static final int FLAG_DF = 0x4000;
    public static final int FLAG_MF = 0x2000;
    public static final int FRAGMENT_OFFSET_MASK = 0x1FFF;

    private MemorySegment segment;
    private long offset;

    public Ipv4View wrap(MemorySegment segment, long offset) {
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

    public int ihl() {
        return u8(segment, offset) & 0x0F;
    }

    /** IHL in bytes: 20 plus options. */
    public int headerLength() {
        return ihl() * 4;
    }

    /** Sets version 4 and the header length in bytes (a multiple of 4, 20..60). */
    public void versionAndHeaderLength(int headerLength) {
        setU8(segment, offset, 0x40 | (headerLength >>> 2));
    }

    public int tos() {
        return u8(segment, offset + TOS_OFFSET);
    }

    public void tos(int tos) {
        setU8(segment, offset + TOS_OFFSET, tos);
    }

    public int totalLength() {
        return u16(segment, offset + TOTAL_LENGTH_OFFSET);
    }

    public void totalLength(int length) {
        setU16(segment, offset + TOTAL_LENGTH_OFFSET, length);
    }

    public int identification() {
        return u16(segment, offset + ID_OFFSET);
    }

    public void identification(int id) {
        setU16(segment, offset + ID_OFFSET, id);
    }

    /** The raw 16-bit flags + fragment offset word. */
    public int flagsAndFragment() {
        return u16(segment, offset + FLAGS_FRAGMENT_OFFSET);
    }

    public void flagsAndFragment(int value) {
        setU16(segment, offset + FLAGS_FRAGMENT_OFFSET, value);
    }

    public boolean dontFragment() {
        return (flagsAndFragment() & FLAG_DF) != 0;
    }

    public boolean moreFragments() {
        return (flagsAndFragment() & FLAG_MF) != 0;
    }

    /** Fragment offset in bytes (the field counts 8-byte units). */
    public int fragmentOffset() {
        return (flagsAndFragment() & FRAGMENT_OFFSET_MASK) << 3;
    }

    /** True for any fragment, first (MF set) or later (offset non-zero). */
    public boolean isFragment() {
        return (flagsAndFragment() & (FLAG_MF | FRAGMENT_OFFSET_MASK)) != 0;
    }

    public int ttl() {
        return u8(segment, offset + TTL_OFFSET);
    }

    public void ttl(int ttl) {
        setU8(segment, offset + TTL_OFFSET, ttl);
    }

    public int protocol() {
        return u8(segment, offset + PROTOCOL_OFFSET);
    }

    public void protocol(int protocol) {
        setU8(segment, offset + PROTOCOL_OFFSET, protocol);
    }

    public int checksum() {
        return u16(segment, offset + CHECKSUM_OFFSET);
    }

    public void checksum(int checksum) {
        setU16(segment, offset + CHECKSUM_OFFSET, checksum);
    }

    public int source() {
        return i32(segment, offset + SRC_OFFSET);
    }

    public void source(int address) {
        setI32(segment, offset + SRC_OFFSET, address);
    }

    public int destination() {
        return i32(segment, offset + DST_OFFSET);
    }

    public void destination(int address) {
        setI32(segment, offset + DST_OFFSET, address);
    }

    /** Offset of the options (empty when IHL is 5), relative to the segment. */
    public long optionsOffset() {
        return offset + MIN_LENGTH;
    }

    /** Offset of the payload (L4 header of a first fragment), relative to the segment. */
    public long payloadOffset() {
        return offset + headerLength();
    }

    /** Recomputes and stores the header checksum. */
    public void updateChecksum() {
        checksum(Checksums.ipv4HeaderChecksum(segment, offset, headerLength()));
    }

    public boolean checksumValid() {
        return Checksums.verifyIpv4Header(segment, offset, headerLength());
    }

    /**
     * Decrements TTL and patches the checksum incrementally (RFC 1624): the forwarding step, a
     * handful of instructions instead of a 20-byte sum.
     */
    public void decrementTtl() {
        int oldWord = u16(segment, offset + TTL_OFFSET);
        int newWord = oldWord - 0x0100;
        setU16(segment, offset + TTL_OFFSET, newWord);
        checksum(Checksums.update16(checksum(), oldWord, newWord & 0xFFFF));
    }
}
