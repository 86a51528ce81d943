package dev.shunt.netlink;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.shunt.netlink.NetlinkDescriptor.NLA_HDRLEN;
import static dev.shunt.netlink.NetlinkDescriptor.NLA_TYPE_MASK;
import static dev.shunt.netlink.NetlinkDescriptor.align;

/**
 * A parsed run of netlink attributes, by type (the NESTED and BYTEORDER flag bits masked off). A
 * truncated or overlong attribute ends the run rather than throwing: the kernel never sends one,
 * and a reader must not crash on one.
 */
public final class NetlinkAttributes {
    private final Map<Integer, List<ByteBuffer>> byType = new HashMap<>();

    private NetlinkAttributes() {}

    static NetlinkAttributes parse(ByteBuffer source, int offset, int length) {
        NetlinkAttributes attrs = new NetlinkAttributes();
        int position = offset;
        int end = Math.min(source.capacity(), offset + length);
        while (position + NLA_HDRLEN <= end) {
            int attrLength = source.getShort(position) & 0xffff;
            int type = source.getShort(position + 2) & NLA_TYPE_MASK;
            if (attrLength < NLA_HDRLEN || position + attrLength > end) {
                break;
            }
            ByteBuffer value = source.slice(position + NLA_HDRLEN, attrLength - NLA_HDRLEN).order(ByteOrder.nativeOrder());
            attrs.byType.computeIfAbsent(type, k -> new ArrayList<>()).add(value);
            position += align(attrLength);
        }
        return attrs;
    }

    static NetlinkAttributes empty() {
        return new NetlinkAttributes();
    }

    public boolean has(int type) {
        return byType.containsKey(type);
    }

    private ByteBuffer first(int type) {
        List<ByteBuffer> values = byType.get(type);
        return values == null ? null : values.get(0);
    }

    public int u8(int type, int absent) {
        ByteBuffer v = first(type);
        return v == null || v.capacity() < 1 ? absent : v.get(0) & 0xff;
    }

    public int u16(int type, int absent) {
        ByteBuffer v = first(type);
        return v == null || v.capacity() < 2 ? absent : v.getShort(0) & 0xffff;
    }

    public int be16(int type, int absent) {
        ByteBuffer v = first(type);
        return v == null || v.capacity() < 2 ? absent : ((v.get(0) & 0xff) << 8) | (v.get(1) & 0xff);
    }

    public int u32(int type, int absent) {
        ByteBuffer v = first(type);
        return v == null || v.capacity() < 4 ? absent : v.getInt(0);
    }

    public long u64(int type, long absent) {
        ByteBuffer v = first(type);
        return v == null || v.capacity() < 8 ? absent : v.getLong(0);
    }

    /** A NUL-terminated string attribute, or {@code null}. */
    public String string(int type) {
        ByteBuffer v = first(type);
        if (v == null) {
            return null;
        }
        int length = 0;
        while (length < v.capacity() && v.get(length) != 0) {
            length++;
        }
        byte[] text = new byte[length];
        v.get(0, text);
        return new String(text, StandardCharsets.UTF_8);
    }

    public byte[] bytes(int type) {
        ByteBuffer v = first(type);
        if (v == null) {
            return null;
        }
        byte[] out = new byte[v.capacity()];
        v.get(0, out);
        return out;
    }

    /** A 4- or 16-byte address attribute, or {@code null}. */
    public InetAddress address(int type) {
        byte[] raw = bytes(type);
        if (raw == null || (raw.length != 4 && raw.length != 16)) {
            return null;
        }
        try {
            return InetAddress.getByAddress(raw);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // unreachable: the length was checked
        }
    }

    /** The attributes nested inside {@code type}, empty if absent. */
    public NetlinkAttributes nested(int type) {
        ByteBuffer v = first(type);
        return v == null ? empty() : parse(v, 0, v.capacity());
    }

    /** Every occurrence of {@code type}, each parsed as a nested run (e.g. ethtool bitset bits). */
    public List<NetlinkAttributes> nestedAll(int type) {
        List<ByteBuffer> values = byType.getOrDefault(type, List.of());
        List<NetlinkAttributes> out = new ArrayList<>(values.size());
        for (ByteBuffer v : values) {
            out.add(parse(v, 0, v.capacity()));
        }
        return out;
    }
}
