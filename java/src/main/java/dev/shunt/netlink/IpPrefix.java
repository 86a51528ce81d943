package dev.shunt.netlink;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * An address with a prefix length, {@code 10.244.1.5/32} or {@code fd00::1/64}. Host bits may be
 * set (an interface address keeps them); {@link #network()} clears them for route destinations.
 */
public record IpPrefix(InetAddress address, int length) {
    public IpPrefix {
        int max = maxLength(address);
        if (length < 0 || length > max) {
            throw new IllegalArgumentException("prefix length " + length + " is out of range 0.." + max + " for " + address.getHostAddress());
        }
    }

    /** Parses {@code ADDRESS/LENGTH}, or a bare address as a host prefix (/32 or /128). Literal addresses only. */
    public static IpPrefix parse(String text) {
        String trimmed = text.trim();
        int slash = trimmed.indexOf('/');
        InetAddress address = parseAddress(slash < 0 ? trimmed : trimmed.substring(0, slash));
        if (slash < 0) {
            return new IpPrefix(address, maxLength(address));
        }
        try {
            return new IpPrefix(address, Integer.parseInt(trimmed.substring(slash + 1)));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid prefix length in '" + text + "'");
        }
    }

    /** Parses a literal IPv4 or IPv6 address without ever doing a DNS lookup. */
    public static InetAddress parseAddress(String text) {
        String s = text.trim();
        boolean v4 = s.matches("\\d{1,3}(\\.\\d{1,3}){3}");
        boolean v6 = s.contains(":") && s.matches("[0-9A-Fa-f:.]+");
        if (!v4 && !v6) {
            throw new IllegalArgumentException("invalid IP address '" + text + "'");
        }
        if (v4) {
            for (String part : s.split("\\.")) {
                if (Integer.parseInt(part) > 255) {
                    throw new IllegalArgumentException("invalid IP address '" + text + "'");
                }
            }
        }
        try {
            return InetAddress.getByName(s); // a literal: no resolver involved
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("invalid IP address '" + text + "'");
        }
    }

    public static int maxLength(InetAddress address) {
        return address instanceof Inet4Address ? 32 : 128;
    }

    public boolean isIpv4() {
        return address instanceof Inet4Address;
    }

    /** The prefix with host bits cleared. */
    public IpPrefix network() {
        byte[] raw = address.getAddress();
        for (int bit = length; bit < raw.length * 8; bit++) {
            raw[bit / 8] &= (byte) ~(0x80 >>> (bit % 8));
        }
        try {
            return new IpPrefix(InetAddress.getByAddress(raw), length);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The address in its canonical text form: dotted quad for IPv4, RFC 5952 for IPv6 (lower case,
     * the longest run of two or more zero groups shortened to {@code ::}), as iproute2 prints it.
     */
    public static String format(InetAddress address) {
        if (address instanceof Inet4Address) {
            return address.getHostAddress();
        }
        byte[] raw = address.getAddress();
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = ((raw[2 * i] & 0xff) << 8) | (raw[2 * i + 1] & 0xff);
        }
        int bestStart = -1;
        int bestLength = 1;
        for (int i = 0; i < 8; ) {
            if (groups[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && groups[j] == 0) {
                j++;
            }
            if (j - i > bestLength) {
                bestStart = i;
                bestLength = j - i;
            }
            i = j;
        }
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                text.append("::");
                i += bestLength - 1;
                continue;
            }
            if (text.length() > 0 && text.charAt(text.length() - 1) != ':') {
                text.append(':');
            }
            text.append(Integer.toHexString(groups[i]));
        }
        return text.toString();
    }

    @Override
    public String toString() {
        return format(address) + "/" + length;
    }
}
