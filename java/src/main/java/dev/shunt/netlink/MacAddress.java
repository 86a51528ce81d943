package dev.shunt.netlink;

import java.util.Arrays;
import java.util.HexFormat;

/** A 48-bit Ethernet address, printed as {@code aa:bb:cc:dd:ee:ff} as iproute2 prints it. */
public record MacAddress(byte[] bytes) {
    private static final HexFormat HEX = HexFormat.ofDelimiter(":");

    public MacAddress {
        if (bytes == null || bytes.length != 6) {
            throw new IllegalArgumentException("a MAC address has 6 bytes");
        }
        bytes = bytes.clone();
    }

    /** Parses {@code aa:bb:cc:dd:ee:ff} (case-insensitive). */
    public static MacAddress parse(String text) {
        try {
            byte[] raw = HEX.parseHex(text.trim());
            if (raw.length == 6) {
                return new MacAddress(raw);
            }
        } catch (IllegalArgumentException ignored) {
            // fall through to the one message below
        }
        throw new IllegalArgumentException("invalid MAC address '" + text + "': expected six hex bytes like 02:00:00:00:00:01");
    }

    /** A MAC, or {@code null} for attributes that are not 6 bytes long (e.g. none on a tunnel). */
    static MacAddress ofNullable(byte[] raw) {
        return raw == null || raw.length != 6 ? null : new MacAddress(raw);
    }

    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MacAddress other && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return HEX.formatHex(bytes);
    }
}
