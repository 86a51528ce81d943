package dev.shunt.packet;

import java.lang.foreign.MemorySegment;

import static dev.shunt.packet.NetworkOrder.i32;
import static dev.shunt.packet.NetworkOrder.setI32;
import static dev.shunt.packet.NetworkOrder.setU16;
import static dev.shunt.packet.NetworkOrder.setU8;
import static dev.shunt.packet.NetworkOrder.u16;
import static dev.shunt.packet.NetworkOrder.u8;

/**
 * Flyweight over an ICMPv4 message (RFC 792). Every message has an 8-byte header: type, code,
 * checksum, and 4 type-specific bytes (echo identifier + sequence; next-hop MTU of "fragmentation
 * needed"; the pointer of "parameter problem"). Error messages then carry the offending packet's
 * IP header plus at least its first 8 L4 bytes, at {@link #embeddedOffset()}: that is how NAT
 * finds the flow an error belongs to. The checksum covers the message only (no pseudo-header).
 */
public final class IcmpView {
    public static final int TYPE_OFFSET = 0;
    public static final int CODE_OFFSET = 1;
    public static final int CHECKSUM_OFFSET = 2;
    public static final int IDENTIFIER_OFFSET = 4;
    public static final int SEQUENCE_OFFSET = 6;
    /** In "fragmentation needed" (type 3 code 4): the next-hop MTU (RFC 1191). */
    public static final int MTU_OFFSET = 6;
    public static final int POINTER_OFFSET = 4;
    public static final int HEADER_LENGTH = 8;

    public static final int ECHO_REPLY = 0;
    public static final int DEST_UNREACHABLE = 3;
    public static final int SOURCE_QUENCH = 4;
    public static final int REDIRECT = 5;
    public static final int ECHO_REQUEST = 8;
    public static final int TIME_EXCEEDED = 11;
    public static final int PARAMETER_PROBLEM = 12;

    public static final int CODE_PORT_UNREACHABLE = 3;
    public static final int CODE_FRAGMENTATION_NEEDED = 4;

    private MemorySegment segment;
    private long offset;

    public IcmpView wrap(MemorySegment segment, long offset) {
        this.segment = segment;
        this.offset = offset;
        return this;
    }

    public long offset() {
        return offset;
    }

    /**
     * Types that quote an offending packet (the set Linux's {@code icmp_is_err} uses): a NAT must
     * translate the quoted header too.
     */
    public static boolean isError(int type) {
        return type == DEST_UNREACHABLE || type == SOURCE_QUENCH || type == REDIRECT
                || type == TIME_EXCEEDED || type == PARAMETER_PROBLEM;
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

    /** The 4 type-specific bytes (bytes 4-7) as one int. */
    public int restOfHeader() {
        return i32(segment, offset + IDENTIFIER_OFFSET);
    }

    public void restOfHeader(int value) {
        setI32(segment, offset + IDENTIFIER_OFFSET, value);
    }

    public int nextHopMtu() {
        return u16(segment, offset + MTU_OFFSET);
    }

    /** Where the quoted IP header of an error message starts. */
    public long embeddedOffset() {
        return offset + HEADER_LENGTH;
    }

    /** Recomputes the checksum over {@code length} bytes of message (header + data). */
    public void updateChecksum(int length) {
        checksum(Checksums.icmpChecksum(segment, offset, length));
    }
}
