package dev.shunt.packet;

import java.lang.foreign.MemorySegment;

import static dev.shunt.packet.NetworkOrder.i32;
import static dev.shunt.packet.NetworkOrder.setI32;
import static dev.shunt.packet.NetworkOrder.setU16;
import static dev.shunt.packet.NetworkOrder.setU8;
import static dev.shunt.packet.NetworkOrder.u16;
import static dev.shunt.packet.NetworkOrder.u8;

/**
 * Flyweight over an ICMPv6 message (RFC 4443). Same 8-byte header shape as ICMPv4, but types
 * below 128 are errors, "packet too big" carries a 32-bit MTU, and the checksum includes the IPv6
 * pseudo-header ({@link Checksums#icmpv6Checksum}). Errors quote as much of the offending packet
 * as fits in 1280 bytes, starting with its fixed IPv6 header, at {@link #embeddedOffset()}.
 */
public final class Icmpv6View {
    public static final int TYPE_OFFSET = 0;
    public static final int CODE_OFFSET = 1;
    public static final int CHECKSUM_OFFSET = 2;
    public static final int IDENTIFIER_OFFSET = 4;
    public static final int SEQUENCE_OFFSET = 6;
    public static final int MTU_OFFSET = 4;
    public static final int POINTER_OFFSET = 4;
    public static final int HEADER_LENGTH = 8;

    public static final int DEST_UNREACHABLE = 1;
    public static final int PACKET_TOO_BIG = 2;
    public static final int TIME_EXCEEDED = 3;
    public static final int PARAMETER_PROBLEM = 4;
    public static final int ECHO_REQUEST = 128;
    public static final int ECHO_REPLY = 129;
    public static final int NEIGHBOR_SOLICITATION = 135;
    public static final int NEIGHBOR_ADVERTISEMENT = 136;

    private MemorySegment segment;
    private long offset;

    public Icmpv6View wrap(MemorySegment segment, long offset) {
        this.segment = segment;
        this.offset = offset;
        return this;
    }

    public long offset() {
        return offset;
    }

    /** RFC 4443 section 2.1: the high bit of the type separates errors (0-127) from information. */
    public static boolean isError(int type) {
        return type < 128;
    }

    public static boolean isEcho(int type) {
        return type == ECHO_REQUEST || type == ECHO_REPLY;
    }

    public int type() {
        return u8(segment, offset + TYPE_OFFSET);
    }

    public void type(int type) {
        setU8(segment, offset + TYPE_OFFSET, type);
    }

    public int code() {
        return u8(segment, offset + CODE_OFFSET);
    }

    public void code(int code) {
        setU8(segment, offset + CODE_OFFSET, code);
    }

    public int checksum() {
        return u16(segment, offset + CHECKSUM_OFFSET);
    }

    public void checksum(int checksum) {
        setU16(segment, offset + CHECKSUM_OFFSET, checksum);
    }

    public int identifier() {
        return u16(segment, offset + IDENTIFIER_OFFSET);
    }

    public void identifier(int id) {
        setU16(segment, offset + IDENTIFIER_OFFSET, id);
    }

    public int sequence() {
        return u16(segment, offset + SEQUENCE_OFFSET);
    }

    public void sequence(int seq) {
        setU16(segment, offset + SEQUENCE_OFFSET, seq);
    }

    /** "Packet too big": the MTU, 32 bits. */
    public int mtu() {
        return i32(segment, offset + MTU_OFFSET);
    }

    public void mtu(int mtu) {
        setI32(segment, offset + MTU_OFFSET, mtu);
    }

    public long embeddedOffset() {
        return offset + HEADER_LENGTH;
    }
}
