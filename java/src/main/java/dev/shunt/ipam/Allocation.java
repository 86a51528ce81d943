package dev.shunt.ipam;

import java.net.InetAddress;

/** One address held by one owner, from one pool. */
public record Allocation(Cidr pool, InetAddress address, Owner owner) {
    /** The address with the pod-side prefix length: a /32 or /128, as pods get it. */
    public String hostPrefix() {
        return Cidr.Addresses.format(address) + (pool.isIpv4() ? "/32" : "/128");
    }

    @Override
    public String toString() {
        return Cidr.Addresses.format(address) + " (" + pool + ") " + owner;
    }
}
