package dev.shunt.datapath;

import dev.shunt.service.Hashing;

import dev.shunt.sys.NativeMemory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;

import static dev.shunt.datapath.ConntrackDescriptor.*;

/**
 * The fast path's connection-tracking table: IPv4 TCP, UDP and ICMP flows with their NAT mapping,
 * fixed capacity, off-heap in one position-independent {@link MemorySegment} (layout in
 * {@link ConntrackDescriptor}) that a later agent process can {@link #wrap} again.
 *
 * <h2>Flows, tuples, handles</h2>
 * A flow has an <em>original</em> tuple (the first packet's, before NAT) and a <em>reply</em> tuple
 * (what packets of the other direction carry when they reach the fast path: after DNAT to a backend
 * that is backend to client, after SNAT backend to the SNAT address). Both are indexed, so
 * {@link #lookup} finds a flow from either direction and returns a <em>handle</em>
 * {@code entry << 1 | direction} ({@link #ORIGINAL} or {@link #REPLY}); every accessor takes it.
 * For ICMP echo the identifier takes the source port's place and {@code type << 8 | code} the
 * destination port's ({@link #icmpKey}): a request {@code (client, server, id, 8<<8)} has the reply
 * tuple {@code (server, client, id, 0)}. The NAT mapping is in the tuples: the Service VIP:port is
 * the original destination, the backend the reply source, and with {@link ConntrackDescriptor#FLAG_SNAT}
 * the SNAT address the reply destination; {@link #natSrcIp} and friends give what a packet matched by
 * a handle must carry after translation.
 *
 * <h2>Time</h2>
 * Every operation that needs the time takes {@code now} in the unit of the table's
 * {@link ConntrackTimeouts} (nothing here reads a clock). Comparisons use {@code a - b}, so the
 * clock may be {@link System#nanoTime()}, which HotSpot on Linux reads from CLOCK_MONOTONIC: the same
 * for every process, reset only by a reboot, which also empties tmpfs. A flow expires when
 * {@code now - lastSeen >= timeout(protocol, state)}; {@link #expire} frees expired flows a few at a
 * time from a clock hand and {@link #lookup} treats an expired flow as a miss and frees it.
 * A flow touched at {@code now} (inserted, updated) is never expired nor evicted by an operation at
 * the same {@code now}, so handles taken while processing one batch (one {@code now}) stay valid for
 * that batch unless the caller removes or purges them. A handle names an entry, not a flow: once
 * its flow is gone the entry may hold another one, so handles are not kept across batches, and
 * per-packet methods trust the handle they get (only {@link #remove} and {@link #isLive} check it).
 *
 * <h2>When full</h2>
 * {@link #insert} reuses a free entry, else evicts one among {@value #EVICTION_SAMPLE} entries at the
 * clock hand: an expired flow first, then a closing or unreplied one, then the least recently seen
 * (an approximate LRU, like Redis' sampled eviction, with no list links to update per packet).
 * It fails (returns {@link #FULL}) only when every sampled flow was seen at {@code now}.
 *
 * <h2>Threads and memory ordering</h2>
 * Not thread-safe: one owner thread (the poll loop) calls every method, control-plane ones
 * ({@link #purgeBackend}, {@link #purgeServicePort}, {@link #forEach}) included, between batches.
 * All accesses are plain but one: an insert publishes the entry's in-use flag last, with release
 * semantics, for {@link ConntrackSnapshot}, the one reader allowed on another thread. Counters in
 * the header are aligned longs, so a metrics thread reading them through {@link #segment()} sees
 * untorn but possibly stale values; the lookup hit and miss counters reach the header only when
 * the owner calls {@link #flushCounters()} (the pipeline does at the end of every batch), so
 * whoever reads or copies the segment directly sees them as of the last flush. Only one process
 * may have the segment wrapped at a time.
 *
 * <p>Nothing here allocates after construction: the per-packet methods take and return primitives.
 */
public final class ConntrackTable {
    public static final int ORIGINAL = 0;
    public static final int REPLY = 1;
    public static final int IPPROTO_ICMP = 1;
    public static final int IPPROTO_TCP = 6;
    public static final int IPPROTO_UDP = 17;
    /** {@link #lookup}: no live flow has this tuple. */
    public static final int MISS = -1;
    /** {@link #insert}: the table is full and no sampled flow could be evicted. */
    public static final int FULL = -1;
    /** {@link #insert}: the original or reply tuple already belongs to a live flow. */
    public static final int CLASH = -2;
    /** Wildcard for {@link #purgeBackend}'s port and protocol. */
    public static final int ANY = -1;
    public static final int ICMP_ECHO_REQUEST = 8;
    public static final int ICMP_ECHO_REPLY = 0;
    /** Entries sampled per eviction. */
    public static final int EVICTION_SAMPLE = 8;

    // For the accesses that still go through a segment (wrap, and the counters ConntrackSnapshot
    // reads): every field is naturally aligned, but the unaligned layouts spare each access an
    // alignment check (x86 loads are as fast either way). Per-packet accesses use NativeMemory.
    static final ValueLayout.OfLong JAVA_LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    static final ValueLayout.OfInt JAVA_INT = ValueLayout.JAVA_INT_UNALIGNED;
    static final ValueLayout.OfShort JAVA_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final boolean LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;
    /** The in-use flag's release store (the field is aligned, so the aligned layout's handle applies). */
    private static final java.lang.invoke.VarHandle FLAGS = ValueLayout.JAVA_SHORT.varHandle();

    private final MemorySegment segment;
    /** The segment's address: per-packet accesses go through {@link NativeMemory} (see there why). */
    private final long base;
    private final int capacity;
    private final long seed;
    /** The index hash's second key, derived from {@link #seed} (see {@link #hash(long, int, int, long, long)}). */
    private final long seedB;
    private final long entries;
    private final long extras;
    private final ConntrackIndex index;
    private final ConntrackTimeouts timeoutConfig;
    private final long[] timeouts;
    /** {@code timeouts} of an ESTABLISHED TCP flow, for {@link #update}'s steady case. */
    private final long establishedTimeout;
    /** H_CLOCK as last written: the owner is its only writer, so reading it back is not needed per packet. */
    private long clock;
    /** H_MUTATING as last written (0 after construction: wrap rebuilds a table left mutating). */
    private int mutating;
    // The tuple and hash of the last lookup: a miss is usually followed by the insert of that tuple.
    private long lastIps;
    private int lastPorts;
    private int lastProtocol = -1;
    private int lastHash;
    /** The last lookup missed and nothing was inserted since: its tuple is known to be free. */
    private boolean lastMissed;
    // Lookup counts not yet added to H_LOOKUP_HITS / H_LOOKUP_MISSES (see flushCounters).
    private long pendingHits;
    private long pendingMisses;

    private ConntrackTable(MemorySegment segment, ConntrackTimeouts timeouts) {
        this.segment = segment;
        this.base = NativeMemory.address(segment);
        this.capacity = NativeMemory.getInt(base + H_CAPACITY);
        this.seed = NativeMemory.getLong(base + H_HASH_SEED);
        this.seedB = seedB(seed);
        int slots = NativeMemory.getInt(base + H_INDEX_SLOTS);
        this.entries = entriesOffset(slots);
        this.extras = extrasOffset(slots, capacity);
        this.index = new ConntrackIndex(segment, slots);
        this.timeoutConfig = timeouts;
        this.timeouts = timeouts.hotTable();
        this.establishedTimeout = this.timeouts[ConntrackTimeouts.slot(IPPROTO_TCP, TcpState.ESTABLISHED, true)];
        this.clock = NativeMemory.getLong(base + H_CLOCK);
    }

    // ================================================================ creation

    /** Bytes of the segment of a table of {@code capacity} flows. */
    public static long bytesFor(int capacity) {
        return ConntrackDescriptor.bytesFor(capacity);
    }

    /** A table in an automatic arena (freed when unreachable), kernel timeouts, nanosecond clock. */
    public static ConntrackTable allocate(int capacity) {
        return allocate(Arena.ofAuto(), capacity, ConntrackTimeouts.kernelDefaults(TimeUnit.NANOSECONDS),
                new SecureRandom().nextLong());
    }

    /** A table in {@code arena}; {@code hashSeed} should be random unless a test needs repeatability. */
    public static ConntrackTable allocate(Arena arena, int capacity, ConntrackTimeouts timeouts, long hashSeed) {
        MemorySegment segment = arena.allocate(bytesFor(capacity), 64);
        return new ConntrackTable(ConntrackFormat.format(segment, capacity, timeouts.unit(), hashSeed), timeouts);
    }

    /**
     * A new, empty table written into the start of {@code segment} (at least {@link #bytesFor}
     * bytes, 8-aligned, e.g. a freshly mapped tmpfs file); {@link #generation()} 0.
     */
    public static ConntrackTable format(MemorySegment segment, int capacity, ConntrackTimeouts timeouts, long hashSeed) {
        requireNative(segment);
        return new ConntrackTable(ConntrackFormat.format(segment, capacity, timeouts.unit(), hashSeed), timeouts);
    }

    /** Adopts an existing table with kernel timeouts and a nanosecond clock; see {@link #wrap(MemorySegment, ConntrackTimeouts)}. */
    public static ConntrackTable wrap(MemorySegment segment) {
        return wrap(segment, ConntrackTimeouts.kernelDefaults(TimeUnit.NANOSECONDS));
    }

    /**
     * Adopts the table in {@code segment} (e.g. a tmpfs file mapped by a restarted agent): its flows,
     * counters and clock hand continue. Refuses, with the reason, a segment that is not exactly a
     * table of this layout (magic, byte order, version, sizes, capacity against the segment size,
     * clock unit against {@code timeouts}). If the last owner died in the middle of an insert or
     * free, rebuilds the index and free list from the entries first. Increments the generation.
     */
    public static ConntrackTable wrap(MemorySegment segment, ConntrackTimeouts timeouts) {
        requireNative(segment);
        MemorySegment table = ConntrackFormat.validate(segment, timeouts.unit());
        if (table.get(JAVA_INT, H_MUTATING) != 0) {
            ConntrackFormat.rebuild(table);
        }
        table.set(JAVA_LONG, H_GENERATION, table.get(JAVA_LONG, H_GENERATION) + 1);
        return new ConntrackTable(table, timeouts);
    }

    /** The table is read at absolute addresses ({@link NativeMemory}), so it must be native memory. */
    private static void requireNative(MemorySegment segment) {
        if (!segment.isNative()) {
            throw new IllegalArgumentException("not a usable conntrack table: the segment is on the Java heap; a table "
                    + "lives in native memory (an arena or a mapped file)");
        }
    }

    // ================================================================ per-packet operations

    /**
     * The handle of the live flow one of whose tuples is this one, or {@link #MISS}. An expired flow
     * is freed and counts as a miss.
     */
    public int lookup(int srcIp, int dstIp, int srcPort, int dstPort, int protocol, long now) {
        long ips = ips(srcIp, dstIp);
        int ports = ports(srcPort, dstPort);
        protocol &= 0xff;
        int hash = hash(ips, ports, protocol, seed, seedB);
        int ref = find(hash, ips, ports, protocol);
        if (ref >= 0 && now - NativeMemory.getLong(base + entry(ref >>> 1) + E_EXPIRES_AT) >= 0) {
            free(ref >>> 1, H_EXPIRED);
            ref = MISS;
        }
        if (ref >= 0) {
            lastMissed = false;
            pendingHits++;
            return ref;
        }
        // Kept for the insert that usually follows a miss (not on a hit: four stores per packet fewer).
        lastIps = ips;
        lastPorts = ports;
        lastProtocol = protocol;
        lastHash = hash;
        lastMissed = true;
        pendingMisses++;
        return MISS;
    }

    /**
     * Adds the lookups counted since the last call to the header's {@link ConntrackDescriptor#H_LOOKUP_HITS}
     * and {@link ConntrackDescriptor#H_LOOKUP_MISSES}. Per packet they are counted in plain fields
     * (two segment accesses fewer per packet); the pipeline calls this once per batch. So a reader
     * of {@link #segment()} (a metrics thread, a copy of the bytes standing in for a restart) sees
     * the lookup counters as of the end of the last batch, and a caller that copies the segment
     * between batches must call this first. {@link #lookupHits()} and {@link #lookupMisses()}
     * include the pending counts.
     */
    public void flushCounters() {
        if (pendingHits != 0) {
            headerAdd(H_LOOKUP_HITS, pendingHits);
            pendingHits = 0;
        }
        if (pendingMisses != 0) {
            headerAdd(H_LOOKUP_MISSES, pendingMisses);
            pendingMisses = 0;
        }
    }

    /**
     * Adds a flow and returns its handle (direction {@link #ORIGINAL}); {@link #CLASH} if either
     * tuple belongs to a live flow (the caller should have looked up first, or its NAT choice
     * collides), {@link #FULL} if the table is full and nothing could be evicted. The flow starts in
     * {@link TcpState#NONE} with zero counters: account its first packet with {@link #update}.
     * For a flow without NAT, the reply tuple is the original one reversed.
     *
     * @param flags {@link ConntrackDescriptor#FLAG_DNAT} and/or {@link ConntrackDescriptor#FLAG_SNAT}
     * @param servicePortId the pipeline's id of the Service port, or -1; used by {@link #purgeServicePort}
     * @param backendId the pipeline's id of the backend, or -1
     */
    public int insert(int srcIp, int dstIp, int srcPort, int dstPort, int protocol,
                      int replySrcIp, int replyDstIp, int replySrcPort, int replyDstPort,
                      int flags, int servicePortId, int backendId, long now) {
        long origIps = ips(srcIp, dstIp);
        int origPorts = ports(srcPort, dstPort);
        long replyIps = ips(replySrcIp, replyDstIp);
        int replyPorts = ports(replySrcPort, replyDstPort);
        protocol &= 0xff;
        boolean single = origIps == replyIps && origPorts == replyPorts;
        advanceClock(now);
        boolean origFree = lastMissed && origIps == lastIps && origPorts == lastPorts && protocol == lastProtocol;
        lastMissed = false;
        int origHash = hash(origIps, origPorts, protocol);
        int replyHash = single ? origHash : hash(replyIps, replyPorts, protocol);
        if (!origFree && !claim(origHash, origIps, origPorts, protocol, now)
                || !single && !claim(replyHash, replyIps, replyPorts, protocol, now)) {
            headerAdd(H_INSERT_CLASHES, 1);
            return CLASH;
        }
        int e = allocateEntry(now);
        if (e < 0) {
            headerAdd(H_INSERT_FAILURES, 1);
            return FULL;
        }
        beginMutation();
        long off = entry(e);
        NativeMemory.setLong(base + off + E_ORIG_IPS, origIps);
        NativeMemory.setLong(base + off + E_REPLY_IPS, replyIps);
        NativeMemory.setInt(base + off + E_ORIG_PORTS, origPorts);
        NativeMemory.setInt(base + off + E_REPLY_PORTS, replyPorts);
        NativeMemory.setByte(base + off + E_PROTOCOL, (byte) protocol);
        NativeMemory.setByte(base + off + E_TCP_STATE, (byte) TcpState.NONE);
        int f = FLAG_IN_USE | (flags & CALLER_FLAGS) | (single ? FLAG_SINGLE_KEY : 0);
        NativeMemory.setLong(base + off + E_EXPIRES_AT, now + timeouts[ConntrackTimeouts.slot(protocol, TcpState.NONE, false)]);
        NativeMemory.setInt(base + off + E_ORIG_PACKETS_HIGH, 0); // both directions' high shorts
        NativeMemory.setLong(base + off + E_ORIG_COUNTERS, 0);
        NativeMemory.setLong(base + off + E_REPLY_COUNTERS, 0);
        NativeMemory.setLong(base + off + E_ORIG_BYTES_HIGH, 0); // both directions' high ints
        long x = extra(e);
        NativeMemory.setLong(base + x + X_CREATED, now);
        NativeMemory.setInt(base + x + X_SERVICE_PORT_ID, servicePortId);
        NativeMemory.setInt(base + x + X_BACKEND_ID, backendId);
        // In use last, as a release store (a plain store on x86-64): a reader on another thread
        // (ConntrackSnapshot) that sees the flag sees the whole entry.
        FLAGS.setRelease(segment, off + E_FLAGS, (short) f);
        index.add(origHash, e << 1);
        if (!single) {
            index.add(replyHash, e << 1 | REPLY);
        }
        headerAddInt(H_LIVE, 1);
        headerAdd(H_INSERTS, 1);
        endMutation();
        return e << 1;
    }

    /**
     * Accounts one packet of {@code bytes} travelling in {@code direction} (normally
     * {@link #direction(int) direction(handle)}): counters, expiry (and so last-seen) time, the TCP state for
     * {@code tcpFlags} (ignored for other protocols) and so the flow's timeout. Returns the new TCP
     * state ({@link TcpState#NONE} for UDP and ICMP). Does not advance {@link #clock()}: a packet's
     * time is its batch's, which the pipeline gives {@link #expire} after every batch, and the
     * store per packet cost the fast path C2's inlining budget for its last steps.
     */
    public int update(int handle, int tcpFlags, int direction, int bytes, long now) {
        long off = entry(handle >>> 1);
        // Protocol, TCP state and flags are adjacent (E_PROTOCOL, E_TCP_STATE, E_FLAGS): one read.
        return stateOf(account(off, NativeMemory.getInt(base + off + E_PROTOCOL), tcpFlags, direction, bytes, now));
    }

    /**
     * {@link #update} for a packet travelling in its handle's own direction, returning what
     * {@link #natPorts} would: the established path needs both, and they share one read. The
     * protocol/state/flags word sits between the two directions' ports (E_ORIG_PORTS, E_PROTOCOL,
     * E_REPLY_PORTS), so the 8 bytes from E_PROTOCOL - 4 * direction hold the word and the other
     * direction's ports, which are this direction's after NAT.
     */
    public int updateAndNatPorts(int handle, int tcpFlags, int bytes, long now) {
        int direction = handle & 1;
        long off = entry(handle >>> 1);
        long both = NativeMemory.getLong(base + off + E_PROTOCOL - ((long) direction << 2));
        int wordShift = (LITTLE_ENDIAN ? direction : direction ^ 1) << 5;
        account(off, (int) (both >>> wordShift), tcpFlags, direction, bytes, now);
        return Integer.rotateLeft((int) (both >>> (32 - wordShift)), 16);
    }

    /** {@link #update} once the entry's protocol/state/flags {@code word} is read; returns the new word. */
    private int account(long off, int word, int tcpFlags, int direction, int bytes, long now) {
        long timeout;
        // The steady state of a TCP connection, nearly every packet: ESTABLISHED and assured, the
        // reply already seen if this is one, no SYN, FIN or RST. TcpState.next keeps ESTABLISHED and
        // no flag changes, so the word is not rewritten and the timeout is known. (The rest is in
        // methods of its own: this one must stay under C2's FreqInlineSize, 325 bytecodes, or the
        // pipeline calls it instead of inlining it.)
        if ((word & STEADY_MASK[direction]) == STEADY_WORD[direction]
                && (tcpFlags & (TcpState.TCP_SYN | TcpState.TCP_FIN | TcpState.TCP_RST)) == 0) {
            timeout = establishedTimeout;
        } else {
            word = transition(off, word, tcpFlags, direction);
            timeout = timeoutOf(word);
        }
        NativeMemory.setLong(base + off + E_EXPIRES_AT, now + timeout);
        // Packets and bytes, low 32 bits each, in one word (the reply direction's 8 bytes after):
        // one packet adds 1 to the high half and its length to the low half, unless either half
        // would wrap (every 4 GiB or 2^32 packets), which carryCounters does in full.
        long c = off + E_ORIG_COUNTERS + ((long) direction << 3);
        long counters = NativeMemory.getLong(base + c);
        if ((counters & 0xFFFF_FFFFL) + (bytes & 0xFFFF_FFFFL) <= 0xFFFF_FFFFL && (counters >>> 32) != 0xFFFF_FFFFL) {
            NativeMemory.setLong(base + c, counters + (1L << 32) + (bytes & 0xFFFF_FFFFL));
        } else {
            carryCounters(off, direction, counters, bytes);
        }
        return word;
    }

    /** {@link #update} off the steady path: the entry's new word, written if it changed. */
    private int transition(long off, int word, int tcpFlags, int direction) {
        int next = nextWord(word, tcpFlags, direction);
        if (next != word) {
            NativeMemory.setInt(base + off + E_PROTOCOL, next);
        }
        return next;
    }

    /** The timeout of a flow whose protocol/state/flags word is {@code word}. */
    private long timeoutOf(int word) {
        return timeouts[ConntrackTimeouts.slot(protocolOf(word), stateOf(word), (flagsOf(word) & FLAG_SEEN_REPLY) != 0)];
    }

    // update's steady-state test per direction: the bits that must match, and their values
    // (TCP, ESTABLISHED, assured, and for a reply packet the reply seen).
    private static final int[] STEADY_MASK = {
        protocolStateFlags(0xff, 0xff, FLAG_ASSURED), protocolStateFlags(0xff, 0xff, FLAG_ASSURED | FLAG_SEEN_REPLY)};
    private static final int[] STEADY_WORD = {
        protocolStateFlags(IPPROTO_TCP, TcpState.ESTABLISHED, FLAG_ASSURED),
        protocolStateFlags(IPPROTO_TCP, TcpState.ESTABLISHED, FLAG_ASSURED | FLAG_SEEN_REPLY)};

    /** The protocol/state/flags word after a packet with {@code tcpFlags} travelling in {@code direction}. */
    private static int nextWord(int word, int tcpFlags, int direction) {
        int protocol = protocolOf(word);
        int state = stateOf(word);
        int flags = flagsOf(word);
        if (direction == REPLY) {
            flags |= FLAG_SEEN_REPLY;
        }
        if (protocol == IPPROTO_TCP) {
            int flagsAndState = tcpTransition(state, flags, tcpFlags, direction);
            state = flagsAndState & 0xff;
            flags = flagsAndState >>> 8;
        } else if (protocol == IPPROTO_UDP && (flags & FLAG_SEEN_REPLY) != 0) {
            flags |= FLAG_ASSURED;
        }
        return protocolStateFlags(protocol, state, flags);
    }

    /** {@link #update}'s counting when a low half wraps: the carry goes to the high bits. */
    private void carryCounters(long off, int direction, long counters, int bytes) {
        long lowBytes = (counters & 0xFFFF_FFFFL) + (bytes & 0xFFFF_FFFFL);
        long lowPackets = (counters >>> 32) + 1;
        NativeMemory.setLong(base + off + E_ORIG_COUNTERS + ((long) direction << 3), lowPackets << 32 | lowBytes & 0xFFFF_FFFFL);
        if (lowBytes >>> 32 != 0) {
            long high = off + E_ORIG_BYTES_HIGH + ((long) direction << 2);
            NativeMemory.setInt(base + high, NativeMemory.getInt(base + high) + 1);
        }
        if (lowPackets >>> 32 != 0) {
            long high = off + E_ORIG_PACKETS_HIGH + ((long) direction << 1);
            NativeMemory.setShort(base + high, (short) (NativeMemory.getShort(base + high) + 1));
        }
    }

    /** The TCP state after the packet and the entry flags that go with it, as {@code flags << 8 | state}. */
    private static int tcpTransition(int state, int flags, int tcpFlags, int direction) {
        int next = TcpState.next(state, flags, tcpFlags, direction);
        if (next == TcpState.SYN_SENT && state != TcpState.SYN_SENT) {
            flags &= ~(FLAG_FIN_ORIGINAL | FLAG_FIN_REPLY | FLAG_SEEN_REPLY | FLAG_ASSURED); // a new connection
        }
        if ((tcpFlags & TcpState.TCP_FIN) != 0) {
            flags |= TcpState.finFlag(direction);
        }
        if (next == TcpState.ESTABLISHED) {
            flags |= FLAG_ASSURED;
        }
        return flags << 8 | next;
    }

    // The int at E_PROTOCOL in native order: protocol (byte 20), TCP state (byte 21), flags (short at 22).
    static int protocolOf(int word) {
        return LITTLE_ENDIAN ? word & 0xff : word >>> 24;
    }

    static int stateOf(int word) {
        return (byte) (LITTLE_ENDIAN ? word >>> 8 : word >>> 16);
    }

    static int flagsOf(int word) {
        return LITTLE_ENDIAN ? word >>> 16 : word & 0xffff;
    }

    private static int protocolStateFlags(int protocol, int state, int flags) {
        return LITTLE_ENDIAN ? (protocol & 0xff) | (state & 0xff) << 8 | flags << 16
                : (protocol & 0xff) << 24 | (state & 0xff) << 16 | (flags & 0xffff);
    }

    /** Frees the flow of {@code handle}; false if it was not live. */
    public boolean remove(int handle) {
        int e = handle >>> 1;
        if (handle < 0 || e >= capacity || !inUse(e)) {
            return false;
        }
        free(e, H_REMOVES);
        return true;
    }

    /**
     * Advances the clock hand over at most {@code budget} entries and frees the expired flows among
     * them; returns how many it freed. Calling it with a small budget on every poll-loop iteration
     * sweeps the whole table in {@code highWater / budget} iterations, with no pause.
     */
    public int expire(long now, int budget) {
        advanceClock(now);
        int highWater = NativeMemory.getInt(base + H_HIGH_WATER);
        if (highWater == 0) {
            return 0;
        }
        int hand = NativeMemory.getInt(base + H_CLOCK_HAND);
        int freed = 0;
        for (int n = Math.min(budget, highWater); n > 0; n--) {
            int e = hand >= highWater ? 0 : hand;
            hand = e + 1;
            // The time first: most entries are live and not yet due, so one read decides.
            if (now - NativeMemory.getLong(base + entry(e) + E_EXPIRES_AT) >= 0 && inUse(e)) {
                free(e, H_EXPIRED);
                freed++;
            }
        }
        NativeMemory.setInt(base + H_CLOCK_HAND, hand >= highWater ? 0 : hand);
        return freed;
    }

    // ================================================================ control plane

    /**
     * Removes the DNAT flows whose backend (reply source) is {@code backendIp:backendPort} over
     * {@code protocol} ({@link #ANY} for either); returns how many. With {@code drain} (the backend is
     * terminating, as in Kubernetes' graceful termination) established connections stay and are
     * marked {@link ConntrackDescriptor#FLAG_DRAINING}: only flows that are not yet, or no longer, a
     * two-way connection go (unreplied flows, TCP handshakes, TIME_WAIT, CLOSE), so their next packet
     * picks a serving backend. Without it (the backend is gone) every matching flow goes.
     * One pass over the used entries (up to the high-water mark), so O(capacity) at worst.
     */
    public int purgeBackend(int backendIp, int backendPort, int protocol, boolean drain) {
        return ConntrackPurge.backend(this, backendIp, backendPort, protocol, drain);
    }

    /** Removes every flow of {@code servicePortId}; returns how many. A scan like {@link #purgeBackend}. */
    public int purgeServicePort(int servicePortId) {
        return ConntrackPurge.servicePort(this, servicePortId);
    }

    /** Receives the handle (direction {@link #ORIGINAL}) of each live flow. */
    @FunctionalInterface
    public interface EntryVisitor {
        void visit(int handle);
    }

    /**
     * Calls {@code visitor} for every live flow, expired or not, in entry order; returns how many.
     * The visitor may read the flow and {@link #remove} it, but must not insert.
     */
    public int forEach(EntryVisitor visitor) {
        int highWater = NativeMemory.getInt(base + H_HIGH_WATER);
        int n = 0;
        for (int e = 0; e < highWater; e++) {
            if (inUse(e)) {
                visitor.visit(e << 1);
                n++;
            }
        }
        return n;
    }

    // ================================================================ internals

    long entry(int e) {
        return entries + ((long) e << ENTRY_SHIFT);
    }

    long extra(int e) {
        return extras + ((long) e << EXTRAS_SHIFT);
    }

    boolean inUse(int e) {
        return (NativeMemory.getShort(base + entry(e) + E_FLAGS) & FLAG_IN_USE) != 0;
    }

    static long ips(int srcIp, int dstIp) {
        return (long) srcIp << 32 | (dstIp & 0xffffffffL);
    }

    static int ports(int srcPort, int dstPort) {
        return (srcPort & 0xffff) << 16 | (dstPort & 0xffff);
    }

    private int hash(long ips, int ports, int protocol) {
        if (ips == lastIps && ports == lastPorts && protocol == lastProtocol) {
            return lastHash;
        }
        return hash(ips, ports, protocol, seed, seedB);
    }

    /**
     * The index hash of a packed tuple: the two 64-bit halves of the tuple, each XORed with a key,
     * multiplied into a 128-bit product whose halves are folded together (wyhash's "mum"). One
     * multiplication deep (MurmurHash3's finaliser twice, the earlier function, was a dependent
     * chain of four), yet every output bit depends on every input bit, and without the keys (the
     * table's random seed) a sender cannot choose tuples that share a probe chain.
     */
    static int hash(long ips, int ports, int protocol, long seed, long seedB) {
        long a = ips ^ seed;
        long b = ((long) ports << 8 | protocol) ^ seedB;
        return (int) (a * b ^ Math.multiplyHigh(a, b));
    }

    /** The hash's second key, derived from the table's seed (so the header keeps one). */
    static long seedB(long seed) {
        return Hashing.mix(seed ^ 0x9e3779b97f4a7c15L);
    }

    /** The ref ({@code entry << 1 | direction}) of the tuple of this hash, expired or not, or -1. */
    private int find(int hash, long ips, int ports, int protocol) {
        int mask = index.mask();
        for (int i = hash & mask; ; i = (i + 1) & mask) {
            long v = index.slot(i);
            if (v == 0) {
                return -1;
            }
            if (ConntrackIndex.hashOf(v) == hash) {
                int ref = ConntrackIndex.refOf(v);
                long off = entry(ref >>> 1);
                int dir = ref & 1;
                // The reply ips sit 8 bytes after the original ones; the 8 bytes 4 * dir after
                // E_ORIG_PORTS hold this direction's ports and the protocol/state/flags word.
                long portsAndWord = NativeMemory.getLong(base + off + E_ORIG_PORTS + ((long) dir << 2));
                int portsShift = (LITTLE_ENDIAN ? dir : dir ^ 1) << 5;
                int word = (int) (portsAndWord >>> (32 - portsShift));
                if (NativeMemory.getLong(base + off + E_ORIG_IPS + ((long) dir << 3)) == ips
                        && (int) (portsAndWord >>> portsShift) == ports && protocolOf(word) == protocol) {
                    return ref;
                }
            }
        }
    }

    /** True if the tuple is free, after freeing the expired flow that held it; false if a live flow has it. */
    private boolean claim(int hash, long ips, int ports, int protocol, long now) {
        int ref = find(hash, ips, ports, protocol);
        if (ref < 0) {
            return true;
        }
        if (now - NativeMemory.getLong(base + entry(ref >>> 1) + E_EXPIRES_AT) >= 0) {
            free(ref >>> 1, H_EXPIRED);
            return true;
        }
        return false;
    }

    /** A free entry: from the free list, above the high-water mark, or by eviction; -1 if none. */
    private int allocateEntry(long now) {
        if (NativeMemory.getInt(base + H_FREE_HEAD) < 0) {
            int highWater = NativeMemory.getInt(base + H_HIGH_WATER);
            if (highWater < capacity) {
                NativeMemory.setInt(base + H_HIGH_WATER, highWater + 1);
                return highWater;
            }
            int victim = ConntrackEviction.pickVictim(this, now);
            if (victim < 0) {
                return -1;
            }
            boolean expired = now - NativeMemory.getLong(base + entry(victim) + E_EXPIRES_AT) >= 0;
            free(victim, expired ? H_EXPIRED : H_EVICTED);
        }
        int e = NativeMemory.getInt(base + H_FREE_HEAD);
        NativeMemory.setInt(base + H_FREE_HEAD, NativeMemory.getInt(base + entry(e) + E_FREE_NEXT));
        return e;
    }

    /** Unindexes entry {@code e}, puts it on the free list and counts it in {@code counter}. */
    void free(int e, int counter) {
        beginMutation();
        long off = entry(e);
        int word = NativeMemory.getInt(base + off + E_PROTOCOL);
        int flags = flagsOf(word);
        int protocol = protocolOf(word);
        index.remove(hash(NativeMemory.getLong(base + off + E_ORIG_IPS), NativeMemory.getInt(base + off + E_ORIG_PORTS), protocol), e << 1);
        if ((flags & FLAG_SINGLE_KEY) == 0) {
            index.remove(hash(NativeMemory.getLong(base + off + E_REPLY_IPS), NativeMemory.getInt(base + off + E_REPLY_PORTS), protocol), e << 1 | REPLY);
        }
        NativeMemory.setShort(base + off + E_FLAGS, (short) 0);
        NativeMemory.setInt(base + off + E_FREE_NEXT, NativeMemory.getInt(base + H_FREE_HEAD));
        NativeMemory.setInt(base + H_FREE_HEAD, e);
        headerAddInt(H_LIVE, -1);
        headerAdd(counter, 1);
        endMutation();
    }

    void headerAdd(int offset, long delta) {
        NativeMemory.setLong(base + offset, NativeMemory.getLong(base + offset) + delta);
    }

    private void headerAddInt(int offset, int delta) {
        NativeMemory.setInt(base + offset, NativeMemory.getInt(base + offset) + delta);
    }

    private void advanceClock(long now) {
        if (now - clock > 0) {
            clock = now;
            NativeMemory.setLong(base + H_CLOCK, now);
        }
    }

    /** Marks the index and free list as being changed, so a process that dies here leaves a sign for {@link #wrap}. */
    private void beginMutation() {
        NativeMemory.setInt(base + H_MUTATING, ++mutating);
    }

    private void endMutation() {
        NativeMemory.setInt(base + H_MUTATING, --mutating);
    }

    // ================================================================ accessors

    public static int direction(int handle) {
        return handle & 1;
    }

    public static int entryIndex(int handle) {
        return handle >>> 1;
    }

    /** The ICMP "port" of an ICMP message: {@code type << 8 | code}. */
    public static int icmpKey(int type, int code) {
        return (type & 0xff) << 8 | (code & 0xff);
    }

    public MemorySegment segment() {
        return segment;
    }

    public ConntrackTimeouts timeouts() {
        return timeoutConfig;
    }

    public int capacity() {
        return capacity;
    }

    public int indexSlots() {
        return index.mask() + 1;
    }

    ConntrackIndex index() {
        return index;
    }

    /** True if {@code handle}'s entry holds a flow (expired or not). */
    public boolean isLive(int handle) {
        return handle >= 0 && handle >>> 1 < capacity && inUse(handle >>> 1);
    }

    public int origSrcIp(int h) { return (int) (NativeMemory.getLong(base + entry(h >>> 1) + E_ORIG_IPS) >>> 32); }
    public int origDstIp(int h) { return (int) NativeMemory.getLong(base + entry(h >>> 1) + E_ORIG_IPS); }
    public int origSrcPort(int h) { return NativeMemory.getInt(base + entry(h >>> 1) + E_ORIG_PORTS) >>> 16; }
    public int origDstPort(int h) { return NativeMemory.getInt(base + entry(h >>> 1) + E_ORIG_PORTS) & 0xffff; }
    public int replySrcIp(int h) { return (int) (NativeMemory.getLong(base + entry(h >>> 1) + E_REPLY_IPS) >>> 32); }
    public int replyDstIp(int h) { return (int) NativeMemory.getLong(base + entry(h >>> 1) + E_REPLY_IPS); }
    public int replySrcPort(int h) { return NativeMemory.getInt(base + entry(h >>> 1) + E_REPLY_PORTS) >>> 16; }
    public int replyDstPort(int h) { return NativeMemory.getInt(base + entry(h >>> 1) + E_REPLY_PORTS) & 0xffff; }
    public int protocol(int h) { return NativeMemory.getByte(base + entry(h >>> 1) + E_PROTOCOL) & 0xff; }
    public int tcpState(int h) { return NativeMemory.getByte(base + entry(h >>> 1) + E_TCP_STATE); }
    public int flags(int h) { return NativeMemory.getShort(base + entry(h >>> 1) + E_FLAGS) & 0xffff; }
    public int servicePortId(int h) { return NativeMemory.getInt(base + extra(h >>> 1) + X_SERVICE_PORT_ID); }
    public int backendId(int h) { return NativeMemory.getInt(base + extra(h >>> 1) + X_BACKEND_ID); }
    public long createdAt(int h) { return NativeMemory.getLong(base + extra(h >>> 1) + X_CREATED); }
    public long expiresAt(int h) { return NativeMemory.getLong(base + entry(h >>> 1) + E_EXPIRES_AT); }

    /**
     * When the flow last saw a packet (or was created): not stored, but its expiry time minus the
     * timeout of its current state, which is how update and insert set the expiry. Exact as long as
     * the timeouts are those the flow was last updated with (a table adopted with other timeouts
     * shows the difference until the flow's next packet).
     */
    public long lastSeen(int h) {
        return lastSeen(segment, entry(h >>> 1), timeoutConfig);
    }

    static long lastSeen(MemorySegment segment, long off, ConntrackTimeouts timeouts) {
        int word = segment.get(JAVA_INT, off + E_PROTOCOL);
        return segment.get(JAVA_LONG, off + E_EXPIRES_AT)
                - timeouts.timeout(protocolOf(word), stateOf(word), (flagsOf(word) & FLAG_SEEN_REPLY) != 0);
    }

    public long packets(int h, int direction) {
        long off = entry(h >>> 1);
        return packets(segment, off, direction);
    }

    /** A 48-bit packet counter from its low int and high short (a reader racing a carry may see it off by 2^32). */
    static long packets(MemorySegment segment, long off, int direction) {
        long low = segment.get(JAVA_LONG, off + E_ORIG_COUNTERS + ((long) direction << 3)) >>> 32;
        long high = segment.get(JAVA_SHORT, off + E_ORIG_PACKETS_HIGH + ((long) direction << 1)) & 0xffffL;
        return high << 32 | low;
    }

    public long bytes(int h, int direction) {
        return bytes(segment, entry(h >>> 1), direction);
    }

    /** A 64-bit byte counter from its low and high ints (a reader racing a carry may see it off by 2^32). */
    static long bytes(MemorySegment segment, long off, int direction) {
        long low = segment.get(JAVA_LONG, off + E_ORIG_COUNTERS + ((long) direction << 3)) & 0xffffffffL;
        long high = segment.get(JAVA_INT, off + E_ORIG_BYTES_HIGH + ((long) direction << 2)) & 0xffffffffL;
        return high << 32 | low;
    }

    /** The Service VIP (original destination); meaningful with {@link ConntrackDescriptor#FLAG_DNAT}. */
    public int vipIp(int h) { return origDstIp(h); }
    public int vipPort(int h) { return origDstPort(h); }
    /** The chosen backend (reply source). */
    public int backendIp(int h) { return replySrcIp(h); }
    public int backendPort(int h) { return replySrcPort(h); }
    /** The SNAT address (reply destination) with {@link ConntrackDescriptor#FLAG_SNAT}, else 0. */
    public int snatIp(int h) { return (flags(h) & FLAG_SNAT) != 0 ? replyDstIp(h) : 0; }
    public int snatPort(int h) { return (flags(h) & FLAG_SNAT) != 0 ? replyDstPort(h) : 0; }

    // What a packet matched by handle h must carry after translation: an original-direction packet
    // gets the reply tuple reversed, a reply-direction packet the original tuple reversed. For a
    // flow without NAT these are the packet's own addresses.
    public int natSrcIp(int h) { return (h & 1) == ORIGINAL ? replyDstIp(h) : origDstIp(h); }
    public int natDstIp(int h) { return (h & 1) == ORIGINAL ? replySrcIp(h) : origSrcIp(h); }
    public int natSrcPort(int h) { return (h & 1) == ORIGINAL ? replyDstPort(h) : origDstPort(h); }
    public int natDstPort(int h) { return (h & 1) == ORIGINAL ? replySrcPort(h) : origSrcPort(h); }

    /**
     * {@link #natSrcIp} and {@link #natDstIp} in one read, as {@code (long) src << 32 | dst & 0xffffffffL}:
     * the other direction's tuple with its halves swapped.
     */
    public long natIps(int h) {
        return Long.rotateLeft(NativeMemory.getLong(base + entry(h >>> 1) + E_ORIG_IPS + ((long) (h & 1 ^ 1) << 3)), 32);
    }

    /** {@link #natSrcPort} and {@link #natDstPort} in one read, as {@code src << 16 | dst}. */
    public int natPorts(int h) {
        return Integer.rotateLeft(NativeMemory.getInt(base + entry(h >>> 1) + E_ORIG_PORTS + ((long) (h & 1 ^ 1) << 3)), 16);
    }

    // ================================================================ table counters

    public int live() { return NativeMemory.getInt(base + H_LIVE); }
    public long inserts() { return NativeMemory.getLong(base + H_INSERTS); }
    public long removes() { return NativeMemory.getLong(base + H_REMOVES); }
    public long purged() { return NativeMemory.getLong(base + H_PURGED); }
    public long expired() { return NativeMemory.getLong(base + H_EXPIRED); }
    public long evicted() { return NativeMemory.getLong(base + H_EVICTED); }
    public long insertFailures() { return NativeMemory.getLong(base + H_INSERT_FAILURES); }
    public long insertClashes() { return NativeMemory.getLong(base + H_INSERT_CLASHES); }
    /** Lookup hits, including those not yet {@link #flushCounters flushed} to the header. */
    public long lookupHits() { return NativeMemory.getLong(base + H_LOOKUP_HITS) + pendingHits; }
    public long lookupMisses() { return NativeMemory.getLong(base + H_LOOKUP_MISSES) + pendingMisses; }
    public long generation() { return NativeMemory.getLong(base + H_GENERATION); }
    /** The largest {@code now} passed to insert or expire. */
    public long clock() { return NativeMemory.getLong(base + H_CLOCK); }
}
