package dev.shunt.ipam;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What children reported ({@link IpamCrashChild}'s ACK / WILL-REL / REL lines) and what the store
 * must therefore hold, checked against the store's {@code usage()}.
 *
 * <ul>
 *   <li>ACKed and not released: held by that owner at that address, now and after every later kill.</li>
 *   <li>WILL-REL without REL (killed in between): either still held at the ACKed address, or gone;
 *       whichever the next check sees is then fixed for good.</li>
 *   <li>Not ACKed but found in the store (killed after the write, before the print): allowed for an
 *       owner of a child that did not finish; from then on it must stay like any ACKed one.</li>
 * </ul>
 */
final class Ledger {
    /** container id → pool → address, for every allocation that must be held. */
    final Map<String, Map<Cidr, String>> mustHold = new HashMap<>();
    final Set<String> released = new HashSet<>();
    final Set<String> maybeReleased = new HashSet<>();
    /** Owners of children whose unacknowledged last call may have been durable. */
    final Set<String> unsettledPrefixes = new HashSet<>();
    long acks;
    long releases;
    long adoptedUnacked;
    long maybeReleasedThatHappened;

    /** Applies one child's complete output lines. */
    synchronized void apply(List<String> lines, String prefix, boolean killed) {
        for (String line : lines) {
            String[] f = line.split(" ");
            switch (f[0]) {
                case "ACK" -> {
                    if (f.length != 4) {
                        throw new AssertionError("bad child line: " + line);
                    }
                    Cidr pool = Cidr.parse(f[2]);
                    String previous = mustHold.computeIfAbsent(f[1], k -> new HashMap<>()).put(pool, f[3]);
                    if (previous != null && !previous.equals(f[3])) {
                        throw new AssertionError(f[1] + " was ACKed " + previous + " and then " + f[3]);
                    }
                    acks++;
                }
                case "WILL-REL" -> maybeReleased.add(f[1]);
                case "REL" -> {
                    maybeReleased.remove(f[1]);
                    mustHold.remove(f[1]);
                    released.add(f[1]);
                    releases++;
                }
                case "DONE" -> { }
                default -> throw new AssertionError("bad child line: " + line);
            }
        }
        if (killed) {
            unsettledPrefixes.add(prefix + "-");
        }
    }

    /**
     * Checks the store's allocations against the ledger, then settles what a kill left open.
     * Returns the problems found (empty = fine).
     */
    synchronized List<String> verify(List<IpamStore.PoolUsage> usage) {
        List<String> problems = new ArrayList<>();
        Map<String, Map<Cidr, String>> actual = new TreeMap<>();
        for (IpamStore.PoolUsage u : usage) {
            Set<String> addresses = new HashSet<>();
            for (Allocation a : u.allocations()) {
                String ip = Cidr.Addresses.format(a.address());
                if (!addresses.add(ip)) {
                    problems.add(ip + " is held twice in " + u.cidr());
                }
                Map<Cidr, String> byPool = actual.computeIfAbsent(a.owner().containerId(), k -> new HashMap<>());
                for (Cidr other : byPool.keySet()) {
                    if (other.isIpv4() == u.cidr().isIpv4()) {
                        problems.add(a.owner() + " holds two addresses of one family: " + byPool.get(other) + " and " + ip);
                    }
                }
                byPool.put(u.cidr(), ip);
            }
        }
        mustHold.forEach((owner, pools) -> {
            Map<Cidr, String> now = actual.getOrDefault(owner, Map.of());
            pools.forEach((pool, ip) -> {
                if (maybeReleased.contains(owner)) {
                    String held = now.get(pool);
                    if (held != null && !held.equals(ip)) {
                        problems.add(owner + " was ACKed " + ip + " in " + pool + " but holds " + held);
                    }
                } else if (!ip.equals(now.get(pool))) {
                    problems.add(owner + " was ACKed " + ip + " in " + pool + " but holds " + now.get(pool) + " (lost acknowledged allocation)");
                }
            });
        });
        for (String owner : released) {
            if (actual.containsKey(owner)) {
                problems.add(owner + " was released (REL) but still holds " + actual.get(owner));
            }
        }
        actual.forEach((owner, pools) -> pools.forEach((pool, ip) -> {
            String acked = mustHold.getOrDefault(owner, Map.of()).get(pool);
            if (acked == null) {
                boolean allowed = unsettledPrefixes.stream().anyMatch(owner::startsWith);
                if (!allowed) {
                    problems.add(owner + " holds " + ip + " in " + pool + " without an ACK from a killed child");
                }
            }
        }));
        if (!problems.isEmpty()) {
            return problems;
        }
        // Settle: what the store shows now must stay.
        for (String owner : Set.copyOf(maybeReleased)) {
            if (actual.containsKey(owner)) {
                mustHold.put(owner, new HashMap<>(actual.get(owner)));
            } else {
                mustHold.remove(owner);
                released.add(owner);
                maybeReleasedThatHappened++;
            }
            maybeReleased.remove(owner);
        }
        actual.forEach((owner, pools) -> pools.forEach((pool, ip) -> {
            Map<Cidr, String> must = mustHold.computeIfAbsent(owner, k -> new HashMap<>());
            if (must.putIfAbsent(pool, ip) == null) {
                adoptedUnacked++;
            }
        }));
        unsettledPrefixes.clear();
        return problems;
    }

    synchronized long outstanding() {
        return mustHold.values().stream().mapToLong(Map::size).sum();
    }
}
