package dev.shunt.netlink;

import dev.shunt.inet.InetText;

import java.net.Inet4Address;
import java.net.InetAddress;

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
        return InetText.parse(text).orElseThrow(() -> new IllegalArgumentException("invalid IP address '" + text + "'"));
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
        return new IpPrefix(InetText.of(raw), length);
    }

    /** The address in its canonical text form (RFC 5952 for IPv6), as iproute2 prints it. */
    public static String format(InetAddress address) {
        return InetText.format(address);
    }

    @Override
    public String toString() {
        return format(address) + "/" + length;
    }
}
