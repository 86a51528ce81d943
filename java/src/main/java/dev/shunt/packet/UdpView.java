package dev.shunt.packet;

import java.lang.foreign.MemorySegment;

import static dev.shunt.packet.NetworkOrder.setU16;
import static dev.shunt.packet.NetworkOrder.u16;

/**
 * Flyweight over a UDP header (RFC 768). Over IPv4 a checksum of 0 means "none" (see
 * {@link Checksums#UDP_NO_CHECKSUM}); over IPv6 it is mandatory.
 */
public final class UdpView {
    public static final int SRC_PORT_OFFSET = 0;
    public static final int DST_PORT_OFFSET = 2;
    public static final int LENGTH_OFFSET = 4;
    public static final int CHECKSUM_OFFSET = 6;
    public static final int LENGTH = 8;

    private MemorySegment segment;
    private long offset;

    public UdpView wrap(MemorySegment segment, long offset) {
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

    /** Header plus data, in bytes. */
    public int length() {
        return u16(segment, offset + LENGTH_OFFSET);
    }

    public void length(int length) {
        setU16(segment, offset + LENGTH_OFFSET, length);
    }

    public int checksum() {
        return u16(segment, offset + CHECKSUM_OFFSET);
    }

    public void checksum(int checksum) {
        setU16(segment, offset + CHECKSUM_OFFSET, checksum);
    }

    public long payloadOffset() {
        return offset + LENGTH;
    }
}
