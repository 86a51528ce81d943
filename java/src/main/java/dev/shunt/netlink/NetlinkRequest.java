package dev.shunt.netlink;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static dev.shunt.netlink.NetlinkDescriptor.NLA_F_NESTED;
import static dev.shunt.netlink.NetlinkDescriptor.NLA_HDRLEN;
import static dev.shunt.netlink.NetlinkDescriptor.NLMSG_HDRLEN;
import static dev.shunt.netlink.NetlinkDescriptor.align;

/**
 * Builds one netlink request: header, family header, then attributes (nested ones by
 * {@link #beginNested}/{@link #endNested}). The socket fills in length, sequence and port id when
 * it sends. {@code description} is the equivalent iproute2 command, used in error messages.
 */
public final class NetlinkRequest {
    private ByteBuffer buffer = ByteBuffer.allocate(4096).order(ByteOrder.nativeOrder());
    private final String description;

    public NetlinkRequest(int type, int flags, String description) {
        this.description = description;
        buffer.putInt(0); // length, set by finish()
        buffer.putShort((short) type);
        buffer.putShort((short) flags);
        buffer.putInt(0); // sequence, set by the socket
        buffer.putInt(0); // port id: 0 = the kernel fills it in
    }

    public String description() {
        return description;
    }

    public int type() {
        return buffer.getShort(4) & 0xffff;
    }

    public int flags() {
        return buffer.getShort(6) & 0xffff;
    }

    // Family headers and raw fields (written at the current position, in host order).

    public NetlinkRequest u8(int value) {
        ensure(1).put((byte) value);
        return this;
    }

    public NetlinkRequest u16(int value) {
        ensure(2).putShort((short) value);
        return this;
    }

    public NetlinkRequest u32(int value) {
        ensure(4).putInt(value);
        return this;
    }

    public NetlinkRequest zeros(int count) {
        ensure(count);
        for (int i = 0; i < count; i++) {
            buffer.put((byte) 0);
        }
        return this;
    }

    // Attributes.

    public NetlinkRequest attr(int type, byte[] value) {
        int length = NLA_HDRLEN + value.length;
        ensure(align(length));
        buffer.putShort((short) length).putShort((short) type).put(value);
        pad();
        return this;
    }

    public NetlinkRequest attrU8(int type, int value) {
        return attr(type, new byte[] {(byte) value});
    }

    public NetlinkRequest attrU16(int type, int value) {
        return attr(type, ByteBuffer.allocate(2).order(ByteOrder.nativeOrder()).putShort((short) value).array());
    }

    /** A 16-bit value in network byte order (ports, EtherTypes). */
    public NetlinkRequest attrBe16(int type, int value) {
        return attr(type, new byte[] {(byte) (value >>> 8), (byte) value});
    }

    public NetlinkRequest attrU32(int type, int value) {
        return attr(type, ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(value).array());
    }

    /** A NUL-terminated string. */
    public NetlinkRequest attrString(int type, String value) {
        byte[] text = value.getBytes(StandardCharsets.UTF_8);
        return attr(type, Arrays.copyOf(text, text.length + 1));
    }

    public NetlinkRequest attrAddress(int type, InetAddress address) {
        return attr(type, address.getAddress());
    }

    /** Starts a nested attribute; returns the mark to pass to {@link #endNested}. */
    public int beginNested(int type) {
        ensure(NLA_HDRLEN);
        int start = buffer.position();
        buffer.putShort((short) 0).putShort((short) (type | NLA_F_NESTED));
        return start;
    }

    public NetlinkRequest endNested(int mark) {
        buffer.putShort(mark, (short) (buffer.position() - mark));
        return this;
    }

    /** Starts a nested attribute whose type must be sent without NLA_F_NESTED (older kernel parsers). */
    public int beginNestedLegacy(int type) {
        ensure(NLA_HDRLEN);
        int start = buffer.position();
        buffer.putShort((short) 0).putShort((short) type);
        return start;
    }

    /** The finished message with the given sequence number. */
    byte[] finish(int sequence) {
        buffer.putInt(0, buffer.position());
        buffer.putInt(8, sequence);
        return Arrays.copyOf(buffer.array(), buffer.position());
    }

    int length() {
        return Math.max(buffer.position(), NLMSG_HDRLEN);
    }

    private void pad() {
        while ((buffer.position() & 3) != 0) {
            buffer.put((byte) 0);
        }
    }

    private ByteBuffer ensure(int more) {
        if (buffer.remaining() < more) {
            ByteBuffer bigger = ByteBuffer.allocate(Math.max(buffer.capacity() * 2, buffer.position() + more))
                    .order(ByteOrder.nativeOrder());
            bigger.put(buffer.array(), 0, buffer.position());
            buffer = bigger;
        }
        return buffer;
    }
}
