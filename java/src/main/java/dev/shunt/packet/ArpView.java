package dev.shunt.packet;

import java.lang.foreign.MemorySegment;

import static dev.shunt.packet.NetworkOrder.i32;
import static dev.shunt.packet.NetworkOrder.mac;
import static dev.shunt.packet.NetworkOrder.setI32;
import static dev.shunt.packet.NetworkOrder.setMac;
import static dev.shunt.packet.NetworkOrder.setU16;
import static dev.shunt.packet.NetworkOrder.u16;
import static dev.shunt.packet.NetworkOrder.u8;

/**
 * Flyweight over an ARP packet for IPv4 over Ethernet (RFC 826), the only kind proxy ARP answers.
 * Sender/target hardware addresses are 48-bit longs, protocol addresses ints.
 */
public final class ArpView {
    public static final int HTYPE_OFFSET = 0;
    public static final int PTYPE_OFFSET = 2;
    public static final int HLEN_OFFSET = 4;
    public static final int PLEN_OFFSET = 5;
    public static final int OPER_OFFSET = 6;
    public static final int SHA_OFFSET = 8;
    public static final int SPA_OFFSET = 14;
    public static final int THA_OFFSET = 18;
    public static final int TPA_OFFSET = 24;
    public static final int LENGTH = 28;

    public static final int HTYPE_ETHERNET = 1;
    public static final int OP_REQUEST = 1;
    public static final int OP_REPLY = 2;

    private MemorySegment segment;
    private long offset;

    public ArpView wrap(MemorySegment segment, long offset) {
        this.segment = segment;
        this.offset = offset;
        return this;
    }

    public long offset() {
        return offset;
    }

    public int hardwareType() {
        return u16(segment, offset + HTYPE_OFFSET);
    }

    public int protocolType() {
        return u16(segment, offset + PTYPE_OFFSET);
    }

    public int hardwareLength() {
        return u8(segment, offset + HLEN_OFFSET);
    }

    public int protocolLength() {
        return u8(segment, offset + PLEN_OFFSET);
    }

    public int operation() {
        return u16(segment, offset + OPER_OFFSET);
    }

    public void operation(int op) {
        setU16(segment, offset + OPER_OFFSET, op);
    }

    public long senderMac() {
        return mac(segment, offset + SHA_OFFSET);
    }

    public void senderMac(long mac) {
        setMac(segment, offset + SHA_OFFSET, mac);
    }

    public int senderIp() {
        return i32(segment, offset + SPA_OFFSET);
    }

    public void senderIp(int ip) {
        setI32(segment, offset + SPA_OFFSET, ip);
    }

    public long targetMac() {
        return mac(segment, offset + THA_OFFSET);
    }

    public void targetMac(long mac) {
        setMac(segment, offset + THA_OFFSET, mac);
    }

    public int targetIp() {
        return i32(segment, offset + TPA_OFFSET);
    }

    public void targetIp(int ip) {
        setI32(segment, offset + TPA_OFFSET, ip);
    }

    /** Writes the fixed Ethernet/IPv4 preamble (htype 1, ptype 0x0800, hlen 6, plen 4). */
    public void initEthernetIpv4(int op) {
        setU16(segment, offset + HTYPE_OFFSET, HTYPE_ETHERNET);
        setU16(segment, offset + PTYPE_OFFSET, PacketDescriptor.ETHERTYPE_IPV4);
        NetworkOrder.setU8(segment, offset + HLEN_OFFSET, 6);
        NetworkOrder.setU8(segment, offset + PLEN_OFFSET, 4);
        operation(op);
    }
}
