package dev.shunt.datapath;

import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;

/** Test helpers: IPv4 addresses as ints, tables with a fixed seed, one second in nanoseconds. */
final class Flows {
    static final long S = 1_000_000_000L;
    static final long T0 = 1_000 * S;
    static final long SEED = 0x5eed_c0ffeeL;

    private Flows() {}

    static int ip(int a, int b, int c, int d) {
        return a << 24 | b << 16 | c << 8 | d;
    }

    static ConntrackTable table(int capacity) {
        return ConntrackTable.allocate(Arena.ofAuto(), capacity, ConntrackTimeouts.kernelDefaults(TimeUnit.NANOSECONDS), SEED);
    }

    /** A flow without NAT: the reply tuple is the original reversed. */
    static int insertPlain(ConntrackTable t, int src, int dst, int sport, int dport, int proto, long now) {
        return t.insert(src, dst, sport, dport, proto, dst, src, dport, sport, 0, -1, -1, now);
    }
}
