package dev.shunt.packet;

import java.lang.foreign.MemorySegment;

import static dev.shunt.packet.NetworkOrder.i32;
import static dev.shunt.packet.NetworkOrder.setI32;
import static dev.shunt.packet.NetworkOrder.setU16;
import static dev.shunt.packet.NetworkOrder.setU8;
import static dev.shunt.packet.NetworkOrder.u16;
import static dev.shunt.packet.NetworkOrder.u8;

/** Flyweight over a TCP header (RFC 9293), options included. Sequence numbers are raw ints. */
public final class TcpView {
    public static final int SRC_PORT_OFFSET = 0;
    public static final int DST_PORT_OFFSET = 2;
    public static final int SEQ_OFFSET = 4;
    public static final int ACK_OFFSET = 8;
    /** Data offset in the top 4 bits (32-bit words), then reserved bits. */
    public static final int DATA_OFFSET_OFFSET = 12;
    public static final int FLAGS_OFFSET = 13;
    public static final int WINDOW_OFFSET = 14;
    public static final int CHECKSUM_OFFSET = 16;
    public static final int URGENT_OFFSET = 18;
    public static final int MIN_LENGTH = 20;

    public static final int FIN = 0x01;
    public static final int SYN = 0x02;
    public static final int RST = 0x04;
    public static final int PSH = 0x08;
    public static final int ACK = 0x10;
    public static final int URG = 0x20;
    public static final int ECE = 0x40;
    public static final int CWR = 0x80;

    private MemorySegment segment;
    private long offset;

    public TcpView wrap(MemorySegment segment, long offset) {
        this.segment = segment;
        this.offset = offset;
        return this;
    }

    public long offset() {
        return offset;
    }

    public int sourcePort() {
        return u16(segment, offset + SRC_PORT_OFFSET);
    }

    public void sourcePort(int port) {
        setU16(segment, offset + SRC_PORT_OFFSET, port);
    }

    public int destinationPort() {
        return u16(segment, offset + DST_PORT_OFFSET);
    }

    public void destinationPort(int port) {
        setU16(segment, offset + DST_PORT_OFFSET, port);
    }

    public int sequence() {
        return i32(segment, offset + SEQ_OFFSET);
    }

    public void sequence(int seq) {
        setI32(segment, offset + SEQ_OFFSET, seq);
    }

    public int acknowledgment() {
        return i32(segment, offset + ACK_OFFSET);
    }

    public void acknowledgment(int ack) {
        setI32(segment, offset + ACK_OFFSET, ack);
    }

    /** Data offset field: header length in 32-bit words (5..15). */
    public int dataOffset() {
        return u8(segment, offset + DATA_OFFSET_OFFSET) >>> 4;
    }

    public int headerLength() {
        return dataOffset() * 4;
    }

    /** Sets the header length in bytes (multiple of 4); clears the reserved bits. */
    public void headerLength(int bytes) {
        setU8(segment, offset + DATA_OFFSET_OFFSET, (bytes >>> 2) << 4);
    }

    /** FIN..CWR as the low 8 bits (see the constants). */
    public int flags() {
        return u8(segment, offset + FLAGS_OFFSET);
    }

    public void flags(int flags) {
        setU8(segment, offset + FLAGS_OFFSET, flags);
    }

    public int window() {
        return u16(segment, offset + WINDOW_OFFSET);
    }

    public void window(int window) {
        setU16(segment, offset + WINDOW_OFFSET, window);
    }

    public int checksum() {
        return u16(segment, offset + CHECKSUM_OFFSET);
    }

    public void checksum(int checksum) {
        setU16(segment, offset + CHECKSUM_OFFSET, checksum);
    }

    public int urgentPointer() {
        return u16(segment, offset + URGENT_OFFSET);
    }

    public void urgentPointer(int pointer) {
        setU16(segment, offset + URGENT_OFFSET, pointer);
    }

    public long payloadOffset() {
        return offset + headerLength();
    }
}
