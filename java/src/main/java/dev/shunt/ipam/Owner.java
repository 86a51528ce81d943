package dev.shunt.ipam;

import java.util.regex.Pattern;

/**
 * Who holds an address: a container (or pod) id and the interface inside it, as the CNI spec
 * identifies an attachment. Both are restricted to characters that need no quoting in the store's
 * text format.
 */
public record Owner(String containerId, String ifname) implements Comparable<Owner> {
    private static final Pattern CONTAINER_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.\\-]{0,254}");
    private static final Pattern IFNAME = Pattern.compile("[A-Za-z0-9_.\\-@]{1,15}");
    public static final String DEFAULT_IFNAME = "eth0";

    public Owner {
        if (containerId == null || !CONTAINER_ID.matcher(containerId).matches()) {
            throw new IpamException(IpamException.Code.INVALID_CONFIG, "invalid owner id '" + containerId
                    + "': use 1 to 255 characters from A-Z a-z 0-9 _ . - (starting with a letter or digit)");
        }
        if (ifname == null || !IFNAME.matcher(ifname).matches()) {
            throw new IpamException(IpamException.Code.INVALID_CONFIG, "invalid interface name '" + ifname
                    + "': use 1 to 15 characters from A-Z a-z 0-9 _ . - @");
        }
    }

    public static Owner of(String containerId) {
        return new Owner(containerId, DEFAULT_IFNAME);
    }

    @Override
    public int compareTo(Owner o) {
        int c = containerId.compareTo(o.containerId);
        return c != 0 ? c : ifname.compareTo(o.ifname);
    }

    @Override
    public String toString() {
        return containerId + "/" + ifname;
    }
}
