package dev.shunt.ipam;

import java.math.BigInteger;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The allocation policy of one pool (a node's pod CIDR), in memory.
 *
 * <p>Never handed out: the first and the last address of the CIDR (IPv4 network and broadcast;
 * for IPv6 the subnet-router anycast address and, for symmetry and to keep every usable offset
 * within an unsigned 64-bit value, the last one) unless the pool is a /31, /32, /127 or /128, and
 * every configured reserved range. The next allocation takes the first free address after the last
 * one handed out, wrapping around at the end, as the CNI host-local plugin does: an address
 * released a moment ago is reused only once the search comes round to it again (unless it lies
 * right after the last handout). IPv6 pools must be /64 or longer.
 */
final class AddressPool {
    private final Cidr cidr;
    private final List<AddressRange> reserved;
    private final long firstUsable;
    private final long lastUsable;
    /** Reserved offsets clipped to the usable range, merged and sorted: pairs [first, last] inclusive. */
    private final long[][] reservedOffsets;
    private final long reservedCount;
    private final Occupancy occupancy;
    private final Map<Long, Owner> owners = new HashMap<>();
    /** The offset of the last address handed out, or -1 before the first. */
    private long cursor = -1;

    AddressPool(Cidr cidr, List<AddressRange> reserved) {
        if (!cidr.fitsUnsignedLong()) {
            throw new IpamException(IpamException.Code.INVALID_CONFIG, "pool " + cidr
                    + " is too large: IPv6 pools must be /64 or longer (a node's pod CIDR)");
        }
        this.cidr = cidr;
        this.reserved = List.copyOf(reserved);
        int hostBits = cidr.addressBits() - cidr.prefixLength();
        if (hostBits <= 1) {
            firstUsable = 0;
            lastUsable = hostBits == 0 ? 0 : 1;
        } else {
            firstUsable = 1;
            lastUsable = hostBits == 64 ? -2L /* 2^64 - 2 unsigned */ : (1L << hostBits) - 2;
        }
        this.reservedOffsets = clip(cidr, reserved, firstUsable, lastUsable);
        long count = 0;
        for (long[] r : reservedOffsets) {
            count += r[1] - r[0] + 1;
        }
        this.reservedCount = count;
        this.occupancy = Occupancy.forPool(cidr);
    }

    Cidr cidr() {
        return cidr;
    }

    List<AddressRange> reserved() {
        return reserved;
    }

    /** Usable addresses: the CIDR less the excluded first/last and the reserved ranges. */
    BigInteger capacity() {
        return new BigInteger(Long.toUnsignedString(lastUsable - firstUsable + 1)).subtract(BigInteger.valueOf(reservedCount));
    }

    long used() {
        return occupancy.count();
    }

    long cursor() {
        return cursor;
    }

    /** The offset the next allocation would get, without taking it; -1 if the pool is full. */
    long nextFree() {
        long start = cursor == -1 || cursor == lastUsable ? firstUsable : cursor + 1;
        long found = search(start, lastUsable);
        if (found == -1 && start != firstUsable) {
            found = search(firstUsable, start - 1);
        }
        return found;
    }

    InetAddress address(long offset) {
        return cidr.address(offset);
    }

    /** The offset of {@code address}, or throws if it is not a usable address of this pool. */
    long usableOffset(InetAddress address) {
        if (!cidr.contains(address)) {
            throw new IpamException(IpamException.Code.STORE_CORRUPT, Cidr.Addresses.format(address) + " is not in pool " + cidr);
        }
        long offset = cidr.unsignedOffsetOf(address);
        if (Long.compareUnsigned(offset, firstUsable) < 0 || Long.compareUnsigned(offset, lastUsable) > 0) {
            throw new IpamException(IpamException.Code.STORE_CORRUPT, Cidr.Addresses.format(address)
                    + " is a network, broadcast or anycast address of pool " + cidr);
        }
        if (reservedRangeOf(offset) != null) {
            throw new IpamException(IpamException.Code.STORE_CORRUPT, Cidr.Addresses.format(address) + " is reserved in pool " + cidr);
        }
        return offset;
    }

    Owner ownerOf(long offset) {
        return owners.get(offset);
    }

    /** Marks {@code offset} as held by {@code owner} and moves the cursor there. */
    void take(long offset, Owner owner) {
        Owner previous = owners.get(offset);
        if (previous != null && !previous.equals(owner)) {
            throw new IpamException(IpamException.Code.STORE_CORRUPT, Cidr.Addresses.format(address(offset))
                    + " would be held by both " + previous + " and " + owner);
        }
        owners.put(offset, owner);
        occupancy.take(offset);
        cursor = offset;
    }

    void setCursor(long offset) {
        cursor = offset;
    }

    void free(long offset) {
        owners.remove(offset);
        occupancy.free(offset);
    }

    Map<Long, Owner> holders() {
        return owners;
    }

    private long search(long from, long lastInclusive) {
        long a = from;
        while (Long.compareUnsigned(a, lastInclusive) <= 0) {
            long candidate = occupancy.firstFree(a, lastInclusive + 1);
            if (candidate == -1) {
                return -1;
            }
            long[] range = reservedRangeOf(candidate);
            if (range == null) {
                return candidate;
            }
            if (range[1] == lastInclusive) {
                return -1;
            }
            a = range[1] + 1;
        }
        return -1;
    }

    private long[] reservedRangeOf(long offset) {
        int lo = 0;
        int hi = reservedOffsets.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            long[] r = reservedOffsets[mid];
            if (Long.compareUnsigned(offset, r[0]) < 0) {
                hi = mid - 1;
            } else if (Long.compareUnsigned(offset, r[1]) > 0) {
                lo = mid + 1;
            } else {
                return r;
            }
        }
        return null;
    }

    private static long[][] clip(Cidr cidr, List<AddressRange> ranges, long first, long last) {
        List<long[]> clipped = new ArrayList<>();
        for (AddressRange range : ranges) {
            if (!cidr.contains(range.first()) || !cidr.contains(range.last())) {
                throw new IpamException(IpamException.Code.INVALID_CONFIG, "reserved range " + range + " is not inside pool " + cidr);
            }
            long a = cidr.unsignedOffsetOf(range.first());
            long b = cidr.unsignedOffsetOf(range.last());
            if (Long.compareUnsigned(a, first) < 0) {
                a = first;
            }
            if (Long.compareUnsigned(b, last) > 0) {
                b = last;
            }
            if (Long.compareUnsigned(a, b) <= 0) {
                clipped.add(new long[] {a, b});
            }
        }
        clipped.sort(Comparator.comparing((long[] r) -> r[0], Long::compareUnsigned));
        List<long[]> merged = new ArrayList<>();
        for (long[] r : clipped) {
            long[] tail = merged.isEmpty() ? null : merged.get(merged.size() - 1);
            if (tail != null && Long.compareUnsigned(r[0], tail[1] + 1) <= 0) {
                if (Long.compareUnsigned(r[1], tail[1]) > 0) {
                    tail[1] = r[1];
                }
            } else {
                merged.add(new long[] {r[0], r[1]});
            }
        }
        return merged.toArray(new long[0][]);
    }
}
