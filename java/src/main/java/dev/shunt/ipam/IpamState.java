package dev.shunt.ipam;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Every pool and every allocation, in memory, with no I/O. Changes are planned first
 * ({@link #planAllocate}) and applied only after the store has made them durable, so a failed
 * write leaves this state as it was.
 */
final class IpamState {
    private final Map<Cidr, AddressPool> pools = new LinkedHashMap<>();
    private final Map<Owner, List<Allocation>> byOwner = new TreeMap<>();

    Collection<AddressPool> pools() {
        return pools.values();
    }

    Optional<AddressPool> pool(Cidr cidr) {
        return Optional.ofNullable(pools.get(cidr));
    }

    /** Whether defining this pool would change anything; throws if it conflicts with an existing one. */
    boolean needsDefinition(Cidr cidr, List<AddressRange> reserved) {
        AddressPool existing = pools.get(cidr);
        if (existing != null) {
            if (!reserved.isEmpty() && !existing.reserved().equals(reserved)) {
                throw new IpamException(IpamException.Code.INVALID_CONFIG, "pool " + cidr + " already exists with reserved ranges "
                        + existing.reserved() + "; it cannot be redefined with " + reserved);
            }
            return false;
        }
        for (Cidr other : pools.keySet()) {
            if (other.overlaps(cidr)) {
                throw new IpamException(IpamException.Code.INVALID_CONFIG, "pool " + cidr + " overlaps existing pool " + other);
            }
        }
        new AddressPool(cidr, reserved); // validates the CIDR and the ranges
        return true;
    }

    void definePool(Cidr cidr, List<AddressRange> reserved) {
        pools.computeIfAbsent(cidr, c -> new AddressPool(c, reserved));
    }

    List<Allocation> allocationsOf(Owner owner) {
        return byOwner.getOrDefault(owner, List.of());
    }

    Map<Owner, List<Allocation>> allAllocations() {
        return byOwner;
    }

    /**
     * What allocating from {@code cidr} to {@code owner} means: the owner's existing address from
     * that pool (idempotent ADD), or a new one not yet applied.
     */
    Planned planAllocate(Cidr cidr, Owner owner) {
        AddressPool pool = pools.get(cidr);
        if (pool == null) {
            throw new IllegalStateException("pool " + cidr + " is not defined");
        }
        for (Allocation held : allocationsOf(owner)) {
            if (held.pool().equals(cidr)) {
                return new Planned(held, false);
            }
            if (held.pool().isIpv4() == cidr.isIpv4()) {
                throw new IpamException(IpamException.Code.OWNER_CONFLICT, owner + " already holds "
                        + Cidr.Addresses.format(held.address()) + " from pool " + held.pool() + "; an owner holds at most one "
                        + (cidr.isIpv4() ? "IPv4" : "IPv6") + " address");
            }
        }
        long offset = pool.nextFree();
        if (offset == -1) {
            throw new IpamException(IpamException.Code.POOL_EXHAUSTED, "pool " + cidr + " is exhausted: all " + pool.capacity()
                    + " usable addresses are allocated");
        }
        return new Planned(new Allocation(cidr, pool.address(offset), owner), true);
    }

    record Planned(Allocation allocation, boolean isNew) {}

    /** Applies an allocation (new, or replayed from the store); refuses a second holder of one address. */
    void applyAllocate(Allocation allocation) {
        AddressPool pool = pools.get(allocation.pool());
        if (pool == null) {
            throw new IpamException(IpamException.Code.STORE_CORRUPT, "allocation " + allocation + " names an undefined pool");
        }
        long offset = pool.usableOffset(allocation.address());
        Owner holder = pool.ownerOf(offset);
        if (holder != null && holder.equals(allocation.owner())) {
            pool.setCursor(offset);
            return;
        }
        for (Allocation held : allocationsOf(allocation.owner())) {
            if (held.pool().isIpv4() == allocation.pool().isIpv4()) {
                throw new IpamException(IpamException.Code.STORE_CORRUPT, allocation.owner() + " would hold both "
                        + held + " and " + allocation);
            }
        }
        pool.take(offset, allocation.owner());
        byOwner.computeIfAbsent(allocation.owner(), o -> new ArrayList<>(2)).add(allocation);
    }

    /** Removes one allocation (new, or replayed); absent ones are ignored. */
    void applyRelease(Allocation allocation) {
        AddressPool pool = pools.get(allocation.pool());
        if (pool == null) {
            return;
        }
        long offset = pool.usableOffset(allocation.address());
        if (!allocation.owner().equals(pool.ownerOf(offset))) {
            return;
        }
        pool.free(offset);
        List<Allocation> held = byOwner.get(allocation.owner());
        if (held != null) {
            held.removeIf(a -> a.pool().equals(allocation.pool()));
            if (held.isEmpty()) {
                byOwner.remove(allocation.owner());
            }
        }
    }

    void setCursor(Cidr cidr, InetAddress address) {
        AddressPool pool = pools.get(cidr);
        if (pool == null) {
            throw new IpamException(IpamException.Code.STORE_CORRUPT, "cursor for undefined pool " + cidr);
        }
        pool.setCursor(pool.cidr().unsignedOffsetOf(address));
    }
}
