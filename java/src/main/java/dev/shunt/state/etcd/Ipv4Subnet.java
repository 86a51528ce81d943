package dev.shunt.state.etcd;

import java.util.Locale;

/**
 * An IPv4 network, e.g. the cluster CIDR {@code 10.244.0.0/16} or a node's pod subnet
 * {@code 10.244.3.0/24}. Host bits must be zero. In etcd keys a subnet is written
 * {@code 10.244.3.0-24} (flannel's form: a key segment cannot hold a slash).
 */
public record Ipv4Subnet(int network, int prefixLength) implements Comparable<Ipv4Subnet> {
    public Ipv4Subnet {
        if (prefixLength < 0 || prefixLength > 32) {
            throw new IllegalArgumentException("prefix length " + prefixLength + " is out of range 0..32");
        }
        if ((network & ~mask(prefixLength)) != 0) {
            throw new IllegalArgumentException(format(network) + "/" + prefixLength + " has host bits set; the network is "
                    + format(network & mask(prefixLength)) + "/" + prefixLength);
        }
    }

    /** Parses {@code A.B.C.D/LEN}. */
    public static Ipv4Subnet parse(String text) {
        return parse(text, '/');
    }

    /** Parses the key form {@code A.B.C.D-LEN}. */
    public static Ipv4Subnet parseKeySegment(String text) {
        return parse(text, '-');
    }

    /** The {@code index}-th subnet of length {@code length} inside this one (0 is the first). */
    public Ipv4Subnet subnet(int length, long index) {
        if (length < prefixLength || length > 32) {
            throw new IllegalArgumentException("a /" + length + " does not fit in " + this);
        }
        if (index < 0 || index >= subnetCount(length)) {
            throw new IllegalArgumentException("subnet index " + index + " is outside " + this + " (it has "
                    + subnetCount(length) + " /" + length + "s)");
        }
        return new Ipv4Subnet(network + (int) (index << (32 - length)), length);
    }

    /** How many subnets of length {@code length} this network holds. */
    public long subnetCount(int length) {
        return 1L << (length - prefixLength);
    }

    public boolean contains(Ipv4Subnet other) {
        return other.prefixLength >= prefixLength && (other.network & mask(prefixLength)) == network;
    }

    /** {@code 10.244.3.0-24}. */
    public String keySegment() {
        return format(network) + "-" + prefixLength;
    }

    @Override
    public String toString() {
        return format(network) + "/" + prefixLength;
    }

    @Override
    public int compareTo(Ipv4Subnet o) {
        int c = Integer.compareUnsigned(network, o.network);
        return c != 0 ? c : Integer.compare(prefixLength, o.prefixLength);
    }

    private static Ipv4Subnet parse(String text, char separator) {
        if (text == null) {
            throw new IllegalArgumentException("subnet is missing");
        }
        String s = text.trim();
        int cut = s.indexOf(separator);
        String example = separator == '/' ? "10.244.3.0/24" : "10.244.3.0-24";
        if (cut < 0 || !s.substring(cut + 1).matches("\\d{1,2}")) {
            throw new IllegalArgumentException("'" + s + "' is not an IPv4 subnet like " + example);
        }
        String[] parts = s.substring(0, cut).split("\\.", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException("'" + s + "' is not an IPv4 subnet like " + example);
        }
        int address = 0;
        for (String part : parts) {
            if (!part.matches("\\d{1,3}") || Integer.parseInt(part) > 255) {
                throw new IllegalArgumentException("'" + s + "' is not an IPv4 subnet like " + example);
            }
            address = (address << 8) | Integer.parseInt(part);
        }
        return new Ipv4Subnet(address, Integer.parseInt(s.substring(cut + 1)));
    }

    private static int mask(int length) {
        return length == 0 ? 0 : -1 << (32 - length);
    }

    private static String format(int address) {
        return String.format(Locale.ROOT, "%d.%d.%d.%d", address >>> 24, (address >>> 16) & 0xff, (address >>> 8) & 0xff, address & 0xff);
    }
}
