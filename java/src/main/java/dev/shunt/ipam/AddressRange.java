package dev.shunt.ipam;

import java.math.BigInteger;
import java.net.InetAddress;

/**
 * An inclusive range of addresses kept out of allocation, written {@code FIRST-LAST}, a CIDR, or a
 * single address.
 */
public record AddressRange(InetAddress first, InetAddress last) {
    public AddressRange {
        if (first.getAddress().length != last.getAddress().length) {
            throw new IpamException(IpamException.Code.INVALID_CONFIG, "range mixes IPv4 and IPv6: "
                    + Cidr.Addresses.format(first) + "-" + Cidr.Addresses.format(last));
        }
        if (value(first).compareTo(value(last)) > 0) {
            throw new IpamException(IpamException.Code.INVALID_CONFIG, "range starts after it ends: "
                    + Cidr.Addresses.format(first) + "-" + Cidr.Addresses.format(last));
        }
    }

    public static AddressRange parse(String text) {
        String s = text.trim();
        if (s.contains("/")) {
            Cidr cidr = Cidr.parse(s);
            return new AddressRange(cidr.network(), cidr.lastAddress());
        }
        int dash = s.indexOf('-');
        if (dash < 0) {
            InetAddress single = Cidr.Addresses.parse(s);
            return new AddressRange(single, single);
        }
        return new AddressRange(Cidr.Addresses.parse(s.substring(0, dash)), Cidr.Addresses.parse(s.substring(dash + 1)));
    }

    static BigInteger value(InetAddress address) {
        return new BigInteger(1, address.getAddress());
    }

    @Override
    public String toString() {
        String a = Cidr.Addresses.format(first);
        return first.equals(last) ? a : a + "-" + Cidr.Addresses.format(last);
    }
}
