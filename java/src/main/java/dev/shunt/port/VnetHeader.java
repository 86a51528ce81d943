package dev.shunt.port;

import dev.shunt.packet.Checksums;
import dev.shunt.packet.NetworkOrder;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The offload state of one frame, as a {@code struct virtio_net_hdr} (PACKET_VNET_HDR) says it:
 * flags, gso_type, hdr_len, gso_size, csum_start, csum_offset. A reusable holder of primitives: the
 * pipeline keeps one, {@link #read}s every received frame's header into it and hands it to
 * {@link Port#transmit(MemorySegment, long, int, VnetHeader)}, which writes the same header in
 * front of the frame (a port with PACKET_VNET_HDR) or finishes the checksum in software (a port
 * without; a GSO frame it cannot carry is refused and counted). Nothing is allocated per frame.
 *
 * <p>The header's fields are in the host's byte order (PACKET_VNET_HDR uses legacy virtio
 * endianness, which is the host's); csum_start is counted from the first byte of the Ethernet
 * header.
 */
public final class VnetHeader {
    /** sizeof(struct virtio_net_hdr). */
    public static final int LENGTH = 10;
    public static final int FLAGS_OFFSET = 0;
    public static final int GSO_TYPE_OFFSET = 1;
    public static final int HDR_LEN_OFFSET = 2;
    public static final int GSO_SIZE_OFFSET = 4;
    public static final int CSUM_START_OFFSET = 6;
    public static final int CSUM_OFFSET_OFFSET = 8;

    /** VIRTIO_NET_HDR_F_NEEDS_CSUM: CHECKSUM_PARTIAL; the L4 checksum field holds the pseudo-header sum. */
    public static final int F_NEEDS_CSUM = 1;
    /** VIRTIO_NET_HDR_F_DATA_VALID: CHECKSUM_UNNECESSARY (receive side only). */
    public static final int F_DATA_VALID = 2;
    public static final int GSO_NONE = 0;
    public static final int GSO_TCPV4 = 1;
    public static final int GSO_UDP = 3;
    public static final int GSO_TCPV6 = 4;
    public static final int GSO_UDP_L4 = 5;
    public static final int GSO_ECN = 0x80;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private int flags;
    private int gsoType;
    private int hdrLen;
    private int gsoSize;
    private int csumStart;
    private int csumOffset;

    /** Reads the 10-byte header at {@code offset}. */
    public void read(MemorySegment s, long offset) {
        flags = s.get(ValueLayout.JAVA_BYTE, offset + FLAGS_OFFSET) & 0xff;
        gsoType = s.get(ValueLayout.JAVA_BYTE, offset + GSO_TYPE_OFFSET) & 0xff;
        hdrLen = Short.toUnsignedInt(s.get(U16, offset + HDR_LEN_OFFSET));
        gsoSize = Short.toUnsignedInt(s.get(U16, offset + GSO_SIZE_OFFSET));
        csumStart = Short.toUnsignedInt(s.get(U16, offset + CSUM_START_OFFSET));
        csumOffset = Short.toUnsignedInt(s.get(U16, offset + CSUM_OFFSET_OFFSET));
    }

    /**
     * Writes this header for a frame of {@code frameLength} bytes at {@code offset}. Only
     * NEEDS_CSUM is kept of the flags (DATA_VALID means nothing on transmit). hdr_len (how much
     * the kernel copies into the skb's linear part) is always the frame length: a linear skb is
     * cheaper to forward (PERFORMANCE.md), and what tpacket_snd does not copy it attaches as page
     * fragments of the TX ring itself, so the slot stays pinned until the receiver frees the skb
     * (a bulk TCP test through the port stalled that way: docs/kernel-notes.md).
     */
    public void write(MemorySegment s, long offset, int frameLength) {
        boolean gso = isGso();
        s.set(ValueLayout.JAVA_BYTE, offset + FLAGS_OFFSET, (byte) (flags & F_NEEDS_CSUM));
        s.set(ValueLayout.JAVA_BYTE, offset + GSO_TYPE_OFFSET, (byte) gsoType);
        s.set(U16, offset + HDR_LEN_OFFSET, (short) frameLength);
        s.set(U16, offset + GSO_SIZE_OFFSET, (short) (gso ? gsoSize : 0));
        s.set(U16, offset + CSUM_START_OFFSET, (short) csumStart);
        s.set(U16, offset + CSUM_OFFSET_OFFSET, (short) csumOffset);
    }

    /** Writes the six fields back unchanged (a received header after {@link #shift}). */
    void writeAsIs(MemorySegment s, long offset) {
        s.set(ValueLayout.JAVA_BYTE, offset + FLAGS_OFFSET, (byte) flags);
        s.set(ValueLayout.JAVA_BYTE, offset + GSO_TYPE_OFFSET, (byte) gsoType);
        s.set(U16, offset + HDR_LEN_OFFSET, (short) hdrLen);
        s.set(U16, offset + GSO_SIZE_OFFSET, (short) gsoSize);
        s.set(U16, offset + CSUM_START_OFFSET, (short) csumStart);
        s.set(U16, offset + CSUM_OFFSET_OFFSET, (short) csumOffset);
    }

    /** Writes a header that asks for nothing (no GSO, no checksum offload), hdr_len = the frame length. */
    public static void writeNone(MemorySegment s, long offset, int frameLength) {
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, offset, 0L);
        s.set(U16, offset + 8, (short) 0);
        s.set(U16, offset + HDR_LEN_OFFSET, (short) frameLength);
    }

    /** No offload: a complete frame. */
    public void clear() {
        flags = 0;
        gsoType = GSO_NONE;
        hdrLen = 0;
        gsoSize = 0;
        csumStart = 0;
        csumOffset = 0;
    }

    public void set(int flags, int gsoType, int hdrLen, int gsoSize, int csumStart, int csumOffset) {
        this.flags = flags;
        this.gsoType = gsoType;
        this.hdrLen = hdrLen;
        this.gsoSize = gsoSize;
        this.csumStart = csumStart;
        this.csumOffset = csumOffset;
    }

    /** The frame moved {@code bytes} further from its start (a VLAN tag put back in front of its EtherType). */
    public void shift(int bytes) {
        if ((flags & F_NEEDS_CSUM) != 0) {
            csumStart += bytes;
        }
        if (isGso()) {
            hdrLen += bytes;
        }
    }

    /** CHECKSUM_PARTIAL: the L4 checksum is still to be computed from {@link #csumStart()} on. */
    public boolean needsChecksum() {
        return (flags & F_NEEDS_CSUM) != 0;
    }

    /** A GSO frame: longer than the MTU, to be cut into gso_size segments by whoever transmits it. */
    public boolean isGso() {
        return (gsoType & ~GSO_ECN) != GSO_NONE;
    }

    /** True when the frame needs nothing from its transmitter: no GSO, no checksum left to fill. */
    public boolean isComplete() {
        return !needsChecksum() && !isGso();
    }

    public int flags() {
        return flags;
    }

    public int gsoType() {
        return gsoType;
    }

    public int hdrLen() {
        return hdrLen;
    }

    public int gsoSize() {
        return gsoSize;
    }

    public int csumStart() {
        return csumStart;
    }

    public int csumOffset() {
        return csumOffset;
    }

    /**
     * Finishes a CHECKSUM_PARTIAL frame's checksum in place, as the kernel's
     * {@code skb_checksum_help} does: the one's-complement sum of the bytes from csum_start to the
     * end of the frame (the checksum field holds the pseudo-header sum), complemented, stored at
     * csum_start + csum_offset (0 is sent as 0xFFFF). Returns false, touching nothing, when those
     * offsets do not lie inside the frame.
     */
    public boolean completeChecksum(MemorySegment s, long frameOffset, int frameLength) {
        if (!needsChecksum()) {
            return true;
        }
        if (csumStart + csumOffset + 2 > frameLength) {
            return false;
        }
        int c = ~Checksums.fold(Checksums.sum(s, frameOffset + csumStart, frameLength - csumStart)) & 0xFFFF;
        NetworkOrder.setU16(s, frameOffset + csumStart + csumOffset, c == 0 ? 0xFFFF : c);
        return true;
    }

    @Override
    public String toString() {
        return "vnet[flags " + flags + ", gso " + gsoType + "/" + gsoSize + ", hdr_len " + hdrLen + ", csum "
                + csumStart + "+" + csumOffset + "]";
    }
}
