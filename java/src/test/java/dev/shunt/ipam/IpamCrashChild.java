package dev.shunt.ipam;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The child process of {@link IpamCrashTest} and {@link IpamConcurrencyTest}: opens the store and
 * allocates (and sometimes releases) for unique owners in a loop, reporting each call on stdout only
 * after it returned, flushed at once:
 * <pre>
 * ACK owner pool address     allocate returned (the allocation is durable)
 * WILL-REL owner             about to release (the release may or may not happen)
 * REL owner                  release returned (the owner holds nothing any more)
 * DONE                       the loop ended normally
 * </pre>
 * Arguments: {@code DIR COMPACT_AFTER OWNER_PREFIX OWNERS SEED}: allocates for {@code OWNERS} owners, then
 * prints DONE and exits. Owners are {@code PREFIX-N/eth0};
 * every third one also gets an IPv6 address.
 */
public final class IpamCrashChild {
    static final Cidr V4 = Cidr.parse("10.96.0.0/16");
    static final Cidr V6 = Cidr.parse("fd00:96::/112");

    private IpamCrashChild() {}

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        int compactAfter = Integer.parseInt(args[1]);
        String prefix = args[2];
        int owners = Integer.parseInt(args[3]);
        Random random = new Random(Long.parseLong(args[4]));
        PrintStream out = System.out;
        List<Owner> held = new ArrayList<>();
        try (IpamStore store = IpamStore.open(dir, compactAfter)) {
            for (int i = 0; i < owners; ) {
                if (!held.isEmpty() && random.nextInt(4) == 0) {
                    Owner victim = held.remove(random.nextInt(held.size()));
                    out.println("WILL-REL " + victim.containerId());
                    out.flush();
                    if (random.nextBoolean()) {
                        store.release(victim);
                    } else {
                        store.releaseContainer(victim.containerId());
                    }
                    out.println("REL " + victim.containerId());
                    out.flush();
                    continue;
                }
                Owner owner = Owner.of(prefix + "-" + i);
                Allocation a = store.allocate(V4, owner);
                out.println("ACK " + owner.containerId() + " " + V4 + " " + Cidr.Addresses.format(a.address()));
                out.flush();
                if (i % 3 == 0) {
                    Allocation b = store.allocate(V6, owner);
                    out.println("ACK " + owner.containerId() + " " + V6 + " " + Cidr.Addresses.format(b.address()));
                    out.flush();
                }
                held.add(owner);
                i++;
            }
        }
        out.println("DONE");
        out.flush();
    }
}
