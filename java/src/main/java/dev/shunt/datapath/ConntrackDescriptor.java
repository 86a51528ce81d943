package dev.shunt.datapath;

/**
 * The binary layout of a {@link ConntrackTable}: one memory segment, position-independent (it holds
 * indexes, never addresses), so that it can be mapped from a file on tmpfs by a later agent process.
 *
 * <pre>
 *   0                     HEADER_SIZE             entriesOffset(cap)         extrasOffset(cap)
 *   | header (256 B)      | index: slots x 8 B    | entries: cap x 64 B      | extras: cap x 16 B |
 * </pre>
 *
 * <ul>
 *   <li><b>Header</b>: identity and layout (magic, version, sizes, capacity, index slots, hash seed,
 *       clock unit), then the table's mutable state (generation, clock, clock hand, free list,
 *       high-water mark, live count) and its counters. Everything the table knows lives here, so a
 *       table wrapped from a copy of the bytes continues exactly where the first one stopped
 *       (after {@link ConntrackTable#flushCounters()}: the lookup counters reach the header once
 *       per batch).</li>
 *   <li><b>Index</b>: open addressing with linear probing, {@link #indexSlots} slots (a power of
 *       two, at least 4 x capacity: two keys per entry, load factor at most 0.5). A slot is one
 *       {@code long}: {@code (hash32 << 32) | (ref + 1)}, where {@code ref = entry << 1 | direction}
 *       and {@code 0} means empty. The stored 32-bit hash gives the slot's home (so a
 *       backward shift never touches entries) and filters out most foreign keys before the entry is
 *       read.</li>
 *   <li><b>Entries</b>: 64 bytes, one cache line holding everything a packet of an established
 *       flow reads or writes: both tuples, protocol/state/flags, the expiry time and the per-flow
 *       counters. The last-seen time is not stored: it is the expiry time minus the timeout of
 *       the flow's state (see {@link ConntrackTable#lastSeen}). Packet counters are 48 bits (a low
 *       int next to the byte counters, a high short in the word after the flags), byte counters 64.</li>
 *   <li><b>Extras</b>: 16 bytes per entry that only inserts, purges and readers touch (creation
 *       time, Service port and backend ids), kept apart so that the hot entry fits one line.</li>
 * </ul>
 *
 * All values are in native byte order (the file never leaves the host); the magic read in the
 * other order tells a byte-order mismatch from garbage. IPv4 addresses are host-order ints
 * ({@code 10.244.1.5 = 0x0af40105}); ports are 0-65535. Timestamps are in the caller's clock
 * ({@link #H_CLOCK_UNIT_NANOS} records its unit).
 */
public final class ConntrackDescriptor {
    private ConntrackDescriptor() {}

    /** "SHUNTCT1" read as a big-endian long; stored in native order. */
    public static final long MAGIC = 0x5348554e54435431L;
    /**
     * 3: each direction's ports next to the protocol/state/flags word (one read matches a tuple's
     * ports and protocol) and one counter word per direction (packets and bytes, low 32 bits each,
     * one read-modify-write per packet). 2 had one-line entries with separate counters and the
     * one-multiplication index hash; older tables are formatted anew.
     */
    public static final int VERSION = 3;

    // ---------------------------------------------------------------- header (all 8-aligned)
    public static final int H_MAGIC = 0; // long
    public static final int H_VERSION = 8; // int
    public static final int H_HEADER_SIZE = 12; // int
    public static final int H_ENTRY_SIZE = 16; // int
    public static final int H_EXTRAS_SIZE = 20; // int
    public static final int H_CAPACITY = 24; // int
    public static final int H_INDEX_SLOTS = 28; // int, power of two
    public static final int H_HASH_SEED = 32; // long: per table, so crafted tuples cannot aim at one probe chain
    public static final int H_CLOCK_UNIT_NANOS = 40; // long: 1 for nanoseconds, 1_000_000 for milliseconds
    /** 0 when allocated, +1 for every {@code wrap}: how many agent processes adopted the table. */
    public static final int H_GENERATION = 48; // long
    /** The largest {@code now} insert or expire was given (the table's idea of the time; the pipeline expires after every batch). */
    public static final int H_CLOCK = 56; // long
    public static final int H_CLOCK_HAND = 64; // int: next entry expire() and eviction look at
    public static final int H_FREE_HEAD = 68; // int: first free entry below the high-water mark, -1 if none
    public static final int H_HIGH_WATER = 72; // int: entries [0, highWater) have been used at least once
    public static final int H_LIVE = 76; // int
    public static final int H_INSERTS = 80; // long
    public static final int H_REMOVES = 88; // long: remove() and purges
    public static final int H_EXPIRED = 96; // long: lazy (lookup/insert), expire() and expired eviction victims
    public static final int H_EVICTED = 104; // long: live flows pushed out by an insert into a full table
    public static final int H_INSERT_FAILURES = 112; // long: full and nothing evictable
    public static final int H_INSERT_CLASHES = 120; // long: a tuple of the new flow already belonged to a live flow
    public static final int H_LOOKUP_HITS = 128; // long
    public static final int H_LOOKUP_MISSES = 136; // long
    public static final int H_PURGED = 144; // long: of H_REMOVES, how many by purgeBackend/purgeServicePort
    /**
     * Non-zero while an insert or free is changing the index and free list: a table wrapped with
     * it set was left half-changed by a process that died, and its index and free list are rebuilt
     * from the entries.
     */
    public static final int H_MUTATING = 152; // int
    public static final int HEADER_SIZE = 256; // room for more fields without moving the index

    // ---------------------------------------------------------------- entry (64 B, one cache line)
    /** {@code (long) srcIp << 32 | dstIp & 0xffffffffL} of the original direction. */
    public static final int E_ORIG_IPS = 0; // long
    /** The same for the reply direction: what packets from the other end carry after NAT. */
    public static final int E_REPLY_IPS = 8; // long
    public static final int E_ORIG_PORTS = 16; // int: srcPort << 16 | dstPort
    /** Free-list link while the entry is free (the tuple is dead then). */
    public static final int E_FREE_NEXT = E_ORIG_PORTS; // int
    // The protocol/state/flags word sits between the two directions' ports, so the 8 bytes at
    // E_ORIG_PORTS + 4 * direction hold that direction's ports and the word.
    public static final int E_PROTOCOL = 20; // byte
    public static final int E_TCP_STATE = 21; // byte, TcpState.*
    public static final int E_FLAGS = 22; // short, FLAG_*
    public static final int E_REPLY_PORTS = 24; // int
    /** Bits 32-47 of the original direction's packet counter; the reply's follow at +2. */
    public static final int E_ORIG_PACKETS_HIGH = 28; // short
    public static final int E_REPLY_PACKETS_HIGH = 30; // short
    public static final int E_EXPIRES_AT = 32; // long: last seen + timeout of the current state
    /**
     * The original direction's counters: bits 0-31 of its packet count in the high half, bits 0-31
     * of its byte count in the low half (a long in native order); the reply's follow at +8.
     */
    public static final int E_ORIG_COUNTERS = 40; // long
    public static final int E_REPLY_COUNTERS = 48; // long
    /** Bits 32-63 of the original direction's byte counter; the reply's follow at +4. */
    public static final int E_ORIG_BYTES_HIGH = 56; // int
    public static final int E_REPLY_BYTES_HIGH = 60; // int
    public static final int ENTRY_SIZE = 64;
    public static final int ENTRY_SHIFT = 6;

    // ---------------------------------------------------------------- per-entry extras (16 B)
    public static final int X_CREATED = 0; // long
    public static final int X_SERVICE_PORT_ID = 8; // int
    public static final int X_BACKEND_ID = 12; // int
    public static final int EXTRAS_SIZE = 16;
    public static final int EXTRAS_SHIFT = 4;

    // ---------------------------------------------------------------- index slot
    public static final int SLOT_SIZE = 8;

    // ---------------------------------------------------------------- entry flags (E_FLAGS)
    public static final int FLAG_IN_USE = 1;
    /** A packet of the reply direction has been seen. */
    public static final int FLAG_SEEN_REPLY = 1 << 1;
    /** TCP reached ESTABLISHED, or UDP saw both directions (conntrack's [ASSURED]). */
    public static final int FLAG_ASSURED = 1 << 2;
    /** The original destination was translated (Service VIP to backend). Given by the caller. */
    public static final int FLAG_DNAT = 1 << 3;
    /** The original source was translated too (hairpin, NodePort SNAT). Given by the caller. */
    public static final int FLAG_SNAT = 1 << 4;
    /** The reply tuple equals the original one, so the entry has one index key, not two. */
    public static final int FLAG_SINGLE_KEY = 1 << 5;
    public static final int FLAG_FIN_ORIGINAL = 1 << 6;
    public static final int FLAG_FIN_REPLY = 1 << 7;
    /** Kept by a draining purge of its (terminating) backend. */
    public static final int FLAG_DRAINING = 1 << 8;
    /** The flags a caller may pass to insert. */
    public static final int CALLER_FLAGS = FLAG_DNAT | FLAG_SNAT;

    /** Largest capacity: refs ({@code entry << 1 | direction}) stay positive ints, slots fit an int. */
    public static final int MAX_CAPACITY = 1 << 28;

    /** Index slots for {@code capacity} entries: the power of two at least 4 x capacity (min 16). */
    public static int indexSlots(int capacity) {
        checkCapacity(capacity);
        long wanted = Math.max(16L, 4L * capacity);
        return (int) Long.highestOneBit(wanted - 1) << 1;
    }

    public static long entriesOffset(int indexSlots) {
        return HEADER_SIZE + (long) indexSlots * SLOT_SIZE;
    }

    public static long extrasOffset(int indexSlots, int capacity) {
        return entriesOffset(indexSlots) + ((long) capacity << ENTRY_SHIFT);
    }

    /** Bytes of a table of {@code capacity} entries. */
    public static long bytesFor(int capacity) {
        int slots = indexSlots(capacity);
        return extrasOffset(slots, capacity) + ((long) capacity << EXTRAS_SHIFT);
    }

    static void checkCapacity(int capacity) {
        if (capacity < 1 || capacity > MAX_CAPACITY) {
            throw new IllegalArgumentException("conntrack capacity must be 1.." + MAX_CAPACITY + ", not " + capacity);
        }
    }
}
