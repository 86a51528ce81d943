package dev.shunt.netlink;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static dev.shunt.netlink.NetlinkDescriptor.NLMSG_HDRLEN;

/**
 * One received netlink message (a copy, so it outlives the receive buffer): its type and flags,
 * and readers for the family header and the attributes after it.
 */
public final class NetlinkMessage {
    private final int type;
    private final int flags;
    private final ByteBuffer bytes;

    NetlinkMessage(int type, int flags, byte[] wholeMessage) {
        this.type = type;
        this.flags = flags;
        this.bytes = ByteBuffer.wrap(wholeMessage).order(ByteOrder.nativeOrder());
    }

    public int type() {
        return type;
    }

    public int flags() {
        return flags;
    }

    /** Reads the family header: offsets are relative to the end of the netlink header. */
    public int u8(int offset) {
        return bytes.get(NLMSG_HDRLEN + offset) & 0xff;
    }

    public int u16(int offset) {
        return bytes.getShort(NLMSG_HDRLEN + offset) & 0xffff;
    }

    public int u32(int offset) {
        return bytes.getInt(NLMSG_HDRLEN + offset);
    }

    /** The attributes that follow a family header of {@code familyHeaderSize} bytes. */
    public NetlinkAttributes attributes(int familyHeaderSize) {
        int start = NLMSG_HDRLEN + NetlinkDescriptor.align(familyHeaderSize);
        return NetlinkAttributes.parse(bytes, start, bytes.capacity() - start);
    }
}
