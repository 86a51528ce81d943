package dev.shunt.packet;

import java.lang.foreign.MemorySegment;

import static dev.shunt.packet.NetworkOrder.mac;
import static dev.shunt.packet.NetworkOrder.setMac;
import static dev.shunt.packet.NetworkOrder.setU16;
import static dev.shunt.packet.NetworkOrder.u16;

/**
 * Flyweight over an Ethernet II header with at most one 802.1Q tag. Wrap it once per packet and
 * read fields in place; nothing is copied. Views do not validate: {@link PacketParser} does, and a
 * view used on a frame the parser accepted stays inside it. MACs are the low 48 bits of a long.
 */
public final class EthernetView {
    public static final int DST_OFFSET = 0;
    public static final int SRC_OFFSET = 6;
    /** EtherType, or the TPID 0x8100 when a tag follows. */
    public static final int TYPE_OFFSET = 12;
    public static final int LENGTH = 14;
    /** Inside a tag: TCI (PCP 3 bits, DEI 1 bit, VID 12 bits), then the real EtherType. */
    public static final int VLAN_TCI_OFFSET = 14;
    public static final int VLAN_TYPE_OFFSET = 16;
    public static final int VLAN_LENGTH = 18;
    public static final int VLAN_ID_MASK = 0x0FFF;

    private MemorySegment segment;
    private long offset;

    public EthernetView wrap(MemorySegment segment, long offset) {
        this.segment = segment;
        this.offset = offset;
        return this;
    }

    public MemorySegment segment() {
        return segment;
    }

    public long offset() {
        return offset;
    }

    public long destination() {
        return mac(segment, offset + DST_OFFSET);
    }

    public void destination(long mac) {
        setMac(segment, offset + DST_OFFSET, mac);
    }

    public long source() {
        return mac(segment, offset + SRC_OFFSET);
    }

    public void source(long mac) {
        setMac(segment, offset + SRC_OFFSET, mac);
    }

    /** The EtherType field at offset 12: 0x8100 for a tagged frame. */
    public int outerType() {
        return u16(segment, offset + TYPE_OFFSET);
    }

    public boolean hasVlan() {
        return outerType() == PacketDescriptor.ETHERTYPE_VLAN;
    }

    /** The EtherType of the payload, behind the tag if there is one. */
    public int etherType() {
        return hasVlan() ? u16(segment, offset + VLAN_TYPE_OFFSET) : outerType();
    }

    public void etherType(int type) {
        setU16(segment, offset + (hasVlan() ? VLAN_TYPE_OFFSET : TYPE_OFFSET), type);
    }

    /** Tag control information; only meaningful when {@link #hasVlan()}. */
    public int vlanTci() {
        return u16(segment, offset + VLAN_TCI_OFFSET);
    }

    public void vlanTci(int tci) {
        setU16(segment, offset + VLAN_TCI_OFFSET, tci);
    }

    public int vlanId() {
        return vlanTci() & VLAN_ID_MASK;
    }

    public int vlanPriority() {
        return vlanTci() >>> 13;
    }

    /** 14, or 18 with a tag: where the L3 header starts relative to {@link #offset()}. */
    public int headerLength() {
        return hasVlan() ? VLAN_LENGTH : LENGTH;
    }
}
