package dev.shunt.packet;

import java.lang.foreign.MemorySegment;

import static dev.shunt.packet.NetworkOrder.i32;
import static dev.shunt.packet.NetworkOrder.setI32;
import static dev.shunt.packet.NetworkOrder.u8;

/**
 * Flyweight over the 8-byte VXLAN header (RFC 7348) that follows UDP port 4789: flags (I bit =
 * VNI valid), 24 reserved bits, 24-bit VNI, 8 reserved bits. The inner Ethernet frame starts at
 * {@link #innerFrameOffset()}; parse it with {@link PacketParser} at that offset.
 */
public final class VxlanView {
    public static final int FLAGS_OFFSET = 0;
    public static final int VNI_OFFSET = 4;
    public static final int LENGTH = 8;
    public static final int FLAG_VNI_VALID = 0x08;
    public static final int MAX_VNI = 0xFF_FFFF;

    private MemorySegment segment;
    private long offset;

    public VxlanView wrap(MemorySegment segment, long offset) {
        this.segment = segment;
        this.offset = offset;
        return this;
    }

    public long offset() {
        return offset;
    }

    public int flags() {
        return u8(segment, offset + FLAGS_OFFSET);
    }

    public boolean vniValid() {
        return (flags() & FLAG_VNI_VALID) != 0;
    }

    public int vni() {
        return i32(segment, offset + VNI_OFFSET) >>> 8;
    }

    /** Writes a complete header: I flag, zeroed reserved fields, the VNI. */
    public void init(int vni) {
        setI32(segment, offset + FLAGS_OFFSET, FLAG_VNI_VALID << 24);
        setI32(segment, offset + VNI_OFFSET, (vni & MAX_VNI) << 8);
    }

    public long innerFrameOffset() {
        return offset + LENGTH;
    }
}
