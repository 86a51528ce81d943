package dev.shunt.ipam;

import java.util.List;

/**
 * The same allocation policy as {@link IpamStore} without the disk: for tests, benchmarks and
 * callers that keep durability elsewhere. Not thread-safe.
 */
public final class InMemoryIpam {
    private final IpamState state = new IpamState();

    public void definePool(Cidr cidr, List<AddressRange> reserved) {
        if (state.needsDefinition(cidr, reserved)) {
            state.definePool(cidr, reserved);
        }
    }

    /** The owner's address from {@code pool}, existing or new (the pool is defined if unknown). */
    public Allocation allocate(Cidr pool, Owner owner) {
        definePool(pool, List.of());
        IpamState.Planned planned = state.planAllocate(pool, owner);
        if (planned.isNew()) {
            state.applyAllocate(planned.allocation());
        }
        return planned.allocation();
    }

    public List<Allocation> release(Owner owner) {
        List<Allocation> held = List.copyOf(state.allocationsOf(owner));
        for (Allocation a : held) {
            state.applyRelease(a);
        }
        return held;
    }

    public List<Allocation> allocationsOf(Owner owner) {
        return List.copyOf(state.allocationsOf(owner));
    }

    /** Addresses in use in {@code pool}. */
    public long used(Cidr pool) {
        return state.pool(pool).map(AddressPool::used).orElse(0L);
    }
}
