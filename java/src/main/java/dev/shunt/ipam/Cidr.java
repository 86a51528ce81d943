package dev.shunt.ipam;

import dev.shunt.inet.InetText;

import java.math.BigInteger;
import java.net.Inet4Address;
import java.net.InetAddress;

/**
 * An IPv4 or IPv6 network in CIDR notation, e.g. {@code 10.244.1.0/24} or {@code fd00:244:1::/64}.
 *
 * <p>Parsing is strict: a CIDR with host bits set ({@code 10.244.1.5/24}) is refused, with the
 * network it probably meant in the message, because a pool written that way is almost always a
 * typo for an address, not a network. Use {@link #parseLenient} where an interface-style
 * "address/length" is meant and the network is wanted.
 */
public record Cidr(InetAddress network, int prefixLength) {
    private static final BigInteger TWO_POW_64 = BigInteger.ONE.shiftLeft(64);

    public Cidr {
        int bits = network.getAddress().length * 8;
        if (prefixLength < 0 || prefixLength > bits) {
            throw new IpamException(IpamException.Code.INVALID_CONFIG, "prefix length " + prefixLength
                    + " is out of range 0.." + bits + " for " + network.getHostAddress());
        }
    }

    /** Parses {@code NETWORK/LENGTH}; refuses host bits, bad lengths and anything that is not a literal address. */
    public static Cidr parse(String text) {
        Cidr lenient = parseLenient(text);
        Cidr network = lenient.masked();
        if (!network.network.equals(lenient.network)) {
            throw new IpamException(IpamException.Code.INVALID_CONFIG, "'" + text.trim() + "' has host bits set; the network is "
                    + network + " (write that instead)");
        }
        return network;
    }

    /** Parses {@code ADDRESS/LENGTH} keeping the address as written (host bits allowed). */
    public static Cidr parseLenient(String text) {
        if (text == null) {
            throw new IpamException(IpamException.Code.INVALID_CONFIG, "CIDR is missing");
        }
        String s = text.trim();
        int slash = s.indexOf('/');
        if (slash < 0) {
            throw new IpamException(IpamException.Code.INVALID_CONFIG, "'" + s + "' is not a CIDR: expected ADDRESS/LENGTH, e.g. 10.244.1.0/24");
        }
        InetAddress address = Addresses.parse(s.substring(0, slash));
        String length = s.substring(slash + 1);
        if (!length.matches("\\d{1,3}")) {
            throw new IpamException(IpamException.Code.INVALID_CONFIG, "'" + s + "' has an invalid prefix length '" + length + "'");
        }
        int bits = address.getAddress().length * 8;
        int prefix = Integer.parseInt(length);
        if (prefix > bits) {
            throw new IpamException(IpamException.Code.INVALID_CONFIG, "'" + s + "': prefix length " + prefix + " is longer than "
                    + bits + " bits");
        }
        return new Cidr(address, prefix);
    }

    public boolean isIpv4() {
        return network instanceof Inet4Address;
    }

    /** 32 or 128. */
    public int addressBits() {
        return isIpv4() ? 32 : 128;
    }

    /** The number of addresses, 2^(bits - prefix). */
    public BigInteger size() {
        return BigInteger.ONE.shiftLeft(addressBits() - prefixLength);
    }

    /** Whether {@link #size()} fits an unsigned 64-bit offset (every IPv4 CIDR; IPv6 /64 and longer). */
    public boolean fitsUnsignedLong() {
        return addressBits() - prefixLength <= 64;
    }

    public boolean contains(InetAddress address) {
        if (address.getAddress().length != network.getAddress().length) {
            return false;
        }
        return new Cidr(address, prefixLength).masked().network.equals(network);
    }

    /** Whether the two networks share any address. */
    public boolean overlaps(Cidr other) {
        if (other.isIpv4() != isIpv4()) {
            return false;
        }
        return contains(other.network) || other.contains(network);
    }

    /** The address {@code n} places after the network address (0 is the network address itself). */
    public InetAddress address(BigInteger n) {
        if (n.signum() < 0 || n.compareTo(size()) >= 0) {
            throw new IpamException(IpamException.Code.INVALID_CONFIG, "index " + n + " is outside " + this + " (size " + size() + ")");
        }
        BigInteger value = new BigInteger(1, network.getAddress()).add(n);
        return Addresses.fromBigInteger(value, network.getAddress().length);
    }

    /** {@link #address(BigInteger)} for an unsigned 64-bit offset, without BigInteger arithmetic. */
    public InetAddress address(long unsignedOffset) {
        int hostBits = addressBits() - prefixLength;
        if (hostBits < 64 && Long.compareUnsigned(unsignedOffset, 1L << hostBits) >= 0) {
            throw new IpamException(IpamException.Code.INVALID_CONFIG, "offset " + Long.toUnsignedString(unsignedOffset)
                    + " is outside " + this);
        }
        byte[] raw = network.getAddress();
        long carry = unsignedOffset;
        // Add the 64-bit offset to the big-endian address, byte by byte from the end.
        int i = raw.length - 1;
        int add = 0;
        for (int k = 0; k < 8 && i >= 0; k++, i--) {
            int sum = (raw[i] & 0xff) + (int) (carry & 0xff) + add;
            raw[i] = (byte) sum;
            add = sum >>> 8;
            carry >>>= 8;
        }
        for (; i >= 0 && add != 0; i--) {
            int sum = (raw[i] & 0xff) + add;
            raw[i] = (byte) sum;
            add = sum >>> 8;
        }
        return Addresses.of(raw);
    }

    /** The offset of {@code address} from the network address; the address must be inside. */
    public BigInteger offsetOf(InetAddress address) {
        if (!contains(address)) {
            throw new IpamException(IpamException.Code.INVALID_CONFIG, address.getHostAddress() + " is not in " + this);
        }
        return new BigInteger(1, address.getAddress()).subtract(new BigInteger(1, network.getAddress()));
    }

    /** {@link #offsetOf} as an unsigned 64-bit value, for CIDRs that {@link #fitsUnsignedLong()}. */
    public long unsignedOffsetOf(InetAddress address) {
        BigInteger offset = offsetOf(address);
        if (offset.compareTo(TWO_POW_64) >= 0) {
            throw new IllegalStateException(this + " is larger than 2^64 addresses");
        }
        return offset.longValue();
    }

    /** The IPv4 broadcast address (the last one); for IPv6 the last address of the range. */
    public InetAddress lastAddress() {
        return address(size().subtract(BigInteger.ONE));
    }

    /** The same network with the host bits cleared. */
    public Cidr masked() {
        byte[] raw = network.getAddress();
        for (int bit = prefixLength; bit < raw.length * 8; bit++) {
            raw[bit / 8] &= (byte) ~(0x80 >>> (bit % 8));
        }
        return new Cidr(Addresses.of(raw), prefixLength);
    }

    @Override
    public String toString() {
        return Addresses.format(network) + "/" + prefixLength;
    }

    /** Literal-address helpers of the package, over {@link InetText}. */
    static final class Addresses {
        private Addresses() {}

        static InetAddress parse(String text) {
            return InetText.parse(text).orElseThrow(() -> new IpamException(IpamException.Code.INVALID_CONFIG,
                    "'" + text + "' is not an IPv4 or IPv6 address"));
        }

        static InetAddress of(byte[] raw) {
            return InetText.of(raw);
        }

        static InetAddress fromBigInteger(BigInteger value, int bytes) {
            byte[] big = value.toByteArray();
            byte[] raw = new byte[bytes];
            int copy = Math.min(bytes, big.length);
            System.arraycopy(big, big.length - copy, raw, bytes - copy, copy);
            return of(raw);
        }

        static String format(InetAddress address) {
            return InetText.format(address);
        }
    }
}
