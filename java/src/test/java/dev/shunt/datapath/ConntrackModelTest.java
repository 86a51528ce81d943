package dev.shunt.datapath;

import dev.shunt.datapath.ConntrackTimeouts.Kind;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static dev.shunt.datapath.ConntrackDescriptor.*;
import static dev.shunt.datapath.ConntrackTable.*;
import static dev.shunt.datapath.Flows.ip;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Model-based property test: random operations (insert, lookup in both directions, update, remove,
 * expire, purges, time passing, restarts that wrap a copy of the segment) on a small table, each compared with a HashMap model, with the
 * whole table and every counter checked against the model every few hundred operations. A seeded
 * {@link Random} makes every failure repeatable: the seed and operation number are in the message.
 */
class ConntrackModelTest {
    static final int OPS = 100_000;
    static final int CAPACITY = 48;
    /** Short timeouts (milliseconds) so that flows of every kind expire during a run. */
    static final ConntrackTimeouts TIMEOUTS = ConntrackTimeouts.kernelDefaults(TimeUnit.MILLISECONDS)
            .withTicks(Kind.TCP_SYN_SENT, 400).withTicks(Kind.TCP_SYN_RECV, 300)
            .withTicks(Kind.TCP_ESTABLISHED, 5_000).withTicks(Kind.TCP_FIN_WAIT, 400)
            .withTicks(Kind.TCP_CLOSE_WAIT, 300).withTicks(Kind.TCP_LAST_ACK, 200)
            .withTicks(Kind.TCP_TIME_WAIT, 400).withTicks(Kind.TCP_CLOSE, 100)
            .withTicks(Kind.UDP_UNREPLIED, 300).withTicks(Kind.UDP_REPLIED, 1_000).withTicks(Kind.ICMP, 300);
    static final int[] PODS = {ip(10, 244, 1, 5), ip(10, 244, 1, 6), ip(10, 244, 2, 7), ip(10, 244, 2, 8)};
    static final int[] VIPS = {ip(10, 96, 0, 10), ip(10, 96, 0, 11)};
    static final int[] PROTOCOLS = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP};

    record Key(int src, int dst, int sport, int dport, int proto) {}

    static final class Flow {
        Key orig;
        Key reply;
        int entry;
        int state;
        int flags;
        long lastSeen;
        long expiresAt;
        int servicePort;
        final long[] packets = new long[2];
        final long[] bytes = new long[2];

        Key key(int direction) {
            return direction == ORIGINAL ? orig : reply;
        }
    }

    // the model
    final Map<Key, Flow> byKey = new HashMap<>();
    final Map<Integer, Flow> byEntry = new HashMap<>();
    long inserts, removes, purged, expired, evicted, clashes, failures, hits, misses, restarts;
    Random random;
    ConntrackTable table;
    long now;
    String where;

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 20251123})
    void tableBehavesLikeTheModel(long seed) {
        random = new Random(seed);
        table = ConntrackTable.allocate(Arena.ofAuto(), CAPACITY, TIMEOUTS, seed);
        now = 1_000_000;
        for (int op = 0; op < OPS; op++) {
            where = "seed " + seed + ", op " + op;
            int kind = pickOp();
            switch (kind) {
                case 0 -> insert();
                case 1 -> lookup();
                case 2 -> update();
                case 3 -> remove();
                case 4 -> expire();
                case 5 -> purge();
                case 6 -> now += random.nextInt(random.nextInt(10) == 0 ? 2_000 : 20);
                default -> {
                    if (random.nextInt(20) == 0) {
                        restart();
                    } else {
                        removeStaleHandle();
                    }
                }
            }
            if (op % 500 == 0 || op == OPS - 1) {
                checkEverything();
            }
        }
        assertThat(evicted).as("the run exercised eviction").isPositive();
        assertThat(expired).as("the run exercised expiry").isPositive();
        assertThat(clashes).as("the run exercised clashes").isPositive();
        assertThat(purged).as("the run exercised purges").isPositive();
        assertThat(restarts).as("the run exercised restarts").isPositive();
    }

    int pickOp() {
        int r = random.nextInt(100);
        if (r < 30) return 0;
        if (r < 60) return 1;
        if (r < 80) return 2;
        if (r < 83) return 3;
        if (r < 88) return 4;
        if (r < 89) return 5;
        if (r < 98) return 6;
        return 7;
    }

    Key randomKey() {
        int proto = PROTOCOLS[random.nextInt(3)];
        int src = PODS[random.nextInt(PODS.length)];
        int dst = random.nextBoolean() ? VIPS[random.nextInt(VIPS.length)] : PODS[random.nextInt(PODS.length)];
        int sport = 40_000 + random.nextInt(24);
        int dport = proto == IPPROTO_ICMP ? icmpKey(ICMP_ECHO_REQUEST, 0) : 80 + random.nextInt(2);
        return new Key(src, dst, sport, dport, proto);
    }

    boolean isExpired(Flow f) {
        return now - f.expiresAt >= 0;
    }

    void forget(Flow f) {
        byKey.remove(f.orig);
        byKey.remove(f.reply);
        byEntry.remove(f.entry);
    }

    /** The table frees an expired flow that holds a key it is asked about. False if a live flow holds it. */
    boolean claim(Key key) {
        Flow holder = byKey.get(key);
        if (holder == null) {
            return true;
        }
        if (isExpired(holder)) {
            forget(holder);
            expired++;
            return true;
        }
        return false;
    }

    void insert() {
        Key orig = randomKey();
        Key reply;
        int flags = 0;
        int servicePort = -1;
        if (orig.proto == IPPROTO_ICMP) {
            reply = new Key(orig.dst, orig.src, orig.sport, icmpKey(ICMP_ECHO_REPLY, 0), orig.proto);
        } else if (isVip(orig.dst)) { // DNAT to a pod, sometimes SNAT to the gateway (hairpin)
            int backend = PODS[random.nextInt(PODS.length)];
            boolean snat = random.nextInt(4) == 0;
            reply = new Key(backend, snat ? ip(169, 254, 1, 1) : orig.src, 8080, snat ? 61_000 + random.nextInt(8) : orig.sport, orig.proto);
            flags = FLAG_DNAT | (snat ? FLAG_SNAT : 0);
            servicePort = orig.dst == VIPS[0] ? 0 : 1;
        } else {
            reply = new Key(orig.dst, orig.src, orig.dport, orig.sport, orig.proto);
        }
        int backendPortId = random.nextInt(4);
        int h = table.insert(orig.src, orig.dst, orig.sport, orig.dport, orig.proto, reply.src, reply.dst, reply.sport,
                reply.dport, flags, servicePort, backendPortId, now);
        boolean single = orig.equals(reply);
        if (!claim(orig) || !single && !claim(reply)) {
            clashes++;
            assertThat(h).as(where).isEqualTo(CLASH);
            return;
        }
        if (h == FULL) {
            failures++;
            assertThat(byEntry).as(where + ": FULL only when full").hasSize(CAPACITY);
            long seenNow = byEntry.values().stream().filter(f -> f.lastSeen == now).count();
            assertThat(seenNow).as(where + ": FULL only if the sampled flows were all seen now")
                    .isGreaterThanOrEqualTo(EVICTION_SAMPLE);
            return;
        }
        assertThat(h).as(where).isGreaterThanOrEqualTo(0).matches(x -> (x & 1) == ORIGINAL);
        int entry = h >>> 1;
        Flow victim = byEntry.get(entry);
        if (victim != null) {
            assertThat(byEntry).as(where + ": evicts only when full").hasSize(CAPACITY);
            assertThat(victim.lastSeen).as(where + ": never evicts a flow seen now").isNotEqualTo(now);
            if (isExpired(victim)) {
                expired++;
            } else {
                evicted++;
            }
            forget(victim);
        } else {
            assertThat(byEntry.size()).as(where + ": no eviction below capacity").isLessThan(CAPACITY);
        }
        Flow f = new Flow();
        f.orig = orig;
        f.reply = reply;
        f.entry = entry;
        f.flags = FLAG_IN_USE | flags | (single ? FLAG_SINGLE_KEY : 0);
        f.lastSeen = now;
        f.expiresAt = now + timeout(orig.proto, TcpState.NONE, false);
        f.servicePort = servicePort;
        byKey.put(orig, f);
        byKey.put(reply, f);
        byEntry.put(entry, f);
        inserts++;
    }

    static boolean isVip(int ip) {
        return ip == VIPS[0] || ip == VIPS[1];
    }

    void lookup() {
        Key key;
        int expectedDirection = ORIGINAL;
        if (!byEntry.isEmpty() && random.nextInt(4) != 0) {
            Flow f = anyFlow();
            expectedDirection = random.nextInt(2);
            key = f.key(expectedDirection);
        } else {
            key = randomKey();
        }
        int h = table.lookup(key.src, key.dst, key.sport, key.dport, key.proto, now);
        Flow f = byKey.get(key);
        if (f != null && isExpired(f)) {
            forget(f);
            expired++;
            f = null;
        }
        if (f == null) {
            misses++;
            assertThat(h).as(where + ": lookup " + key).isEqualTo(MISS);
            return;
        }
        hits++;
        int direction = f.orig.equals(key) ? ORIGINAL : REPLY;
        assertThat(h).as(where + ": lookup " + key).isEqualTo(f.entry << 1 | direction);
    }

    Flow anyFlow() {
        List<Flow> flows = new ArrayList<>(byEntry.values());
        flows.sort((a, b) -> Integer.compare(a.entry, b.entry)); // HashMap order is not part of the seed
        return flows.get(random.nextInt(flows.size()));
    }

    void update() {
        if (byEntry.isEmpty()) {
            return;
        }
        Flow f = anyFlow();
        if (isExpired(f)) {
            return; // the pipeline updates only what its lookup returned
        }
        int direction = random.nextInt(2);
        int tcpFlags = random.nextInt(32);
        int bytes = 40 + random.nextInt(1460);
        int state = table.update(f.entry << 1 | direction, tcpFlags, direction, bytes, now);
        if (direction == REPLY) {
            f.flags |= FLAG_SEEN_REPLY;
        }
        if (f.orig.proto == IPPROTO_TCP) {
            int next = TcpState.next(f.state, f.flags, tcpFlags, direction);
            if (next == TcpState.SYN_SENT && f.state != TcpState.SYN_SENT) {
                f.flags &= ~(FLAG_FIN_ORIGINAL | FLAG_FIN_REPLY | FLAG_SEEN_REPLY | FLAG_ASSURED);
            }
            if ((tcpFlags & TcpState.TCP_FIN) != 0) {
                f.flags |= direction == ORIGINAL ? FLAG_FIN_ORIGINAL : FLAG_FIN_REPLY;
            }
            if (next == TcpState.ESTABLISHED) {
                f.flags |= FLAG_ASSURED;
            }
            f.state = next;
        } else if (f.orig.proto == IPPROTO_UDP && (f.flags & FLAG_SEEN_REPLY) != 0) {
            f.flags |= FLAG_ASSURED;
        }
        f.lastSeen = now;
        f.expiresAt = now + timeout(f.orig.proto, f.state, (f.flags & FLAG_SEEN_REPLY) != 0);
        f.packets[direction]++;
        f.bytes[direction] += bytes;
        assertThat(state).as(where).isEqualTo(f.state);
    }

    /** The timeout the kernel's rules give, written independently of ConntrackTimeouts.hotTable. */
    static long timeout(int proto, int state, boolean seenReply) {
        Kind kind = switch (proto) {
            case IPPROTO_TCP -> switch (state) {
                case TcpState.NONE, TcpState.SYN_SENT -> Kind.TCP_SYN_SENT;
                case TcpState.SYN_RECV -> Kind.TCP_SYN_RECV;
                case TcpState.ESTABLISHED -> Kind.TCP_ESTABLISHED;
                case TcpState.FIN_WAIT -> Kind.TCP_FIN_WAIT;
                case TcpState.CLOSE_WAIT -> Kind.TCP_CLOSE_WAIT;
                case TcpState.LAST_ACK -> Kind.TCP_LAST_ACK;
                case TcpState.TIME_WAIT -> Kind.TCP_TIME_WAIT;
                default -> Kind.TCP_CLOSE;
            };
            case IPPROTO_UDP -> seenReply ? Kind.UDP_REPLIED : Kind.UDP_UNREPLIED;
            case IPPROTO_ICMP -> Kind.ICMP;
            default -> Kind.OTHER;
        };
        return TIMEOUTS.ticks(kind);
    }

    void remove() {
        if (byEntry.isEmpty()) {
            return;
        }
        Flow f = anyFlow();
        assertThat(table.remove(f.entry << 1 | random.nextInt(2))).as(where).isTrue();
        forget(f);
        removes++;
    }

    void removeStaleHandle() {
        int entry = random.nextInt(CAPACITY);
        boolean live = byEntry.containsKey(entry);
        if (!live) {
            assertThat(table.remove(entry << 1)).as(where).isFalse();
        }
    }

    /** The agent restarts: its successor wraps a copy of the table's bytes and goes on with the same model. */
    void restart() {
        table.flushCounters(); // the lookup counters reach the header once per batch
        MemorySegment copy = Arena.ofAuto().allocate(table.segment().byteSize(), 64);
        copy.copyFrom(table.segment());
        long generation = table.generation();
        table = ConntrackTable.wrap(copy, TIMEOUTS);
        restarts++;
        assertThat(table.generation()).as(where).isEqualTo(generation + 1);
    }

    void expire() {
        int freed = table.expire(now, 1 + random.nextInt(CAPACITY / 2));
        int seen = 0;
        for (Flow f : new ArrayList<>(byEntry.values())) {
            boolean live = table.isLive(f.entry << 1);
            if (!isExpired(f)) {
                assertThat(live).as(where + ": expire() freed a flow that had not expired").isTrue();
            } else if (!live) {
                forget(f);
                expired++;
                seen++;
            }
        }
        assertThat(freed).as(where).isEqualTo(seen);
    }

    void purge() {
        int n;
        List<Flow> gone = new ArrayList<>();
        if (random.nextBoolean()) {
            int id = random.nextInt(3) - 1;
            n = table.purgeServicePort(id);
            for (Flow f : byEntry.values()) {
                if (f.servicePort == id) {
                    gone.add(f);
                }
            }
        } else {
            int backend = PODS[random.nextInt(PODS.length)];
            boolean drain = random.nextBoolean();
            int proto = random.nextBoolean() ? ANY : PROTOCOLS[random.nextInt(3)];
            n = table.purgeBackend(backend, 8080, proto, drain);
            for (Flow f : byEntry.values()) {
                if ((f.flags & FLAG_DNAT) != 0 && f.reply.src == backend && f.reply.sport == 8080
                        && (proto == ANY || f.orig.proto == proto)) {
                    boolean connection = (f.flags & FLAG_SEEN_REPLY) != 0 && (f.orig.proto != IPPROTO_TCP
                            || f.state >= TcpState.ESTABLISHED && f.state <= TcpState.LAST_ACK);
                    if (drain && connection) {
                        f.flags |= FLAG_DRAINING;
                    } else {
                        gone.add(f);
                    }
                }
            }
        }
        gone.forEach(this::forget);
        removes += gone.size();
        purged += gone.size();
        assertThat(n).as(where).isEqualTo(gone.size());
    }

    void checkEverything() {
        Set<Integer> entries = new HashSet<>();
        table.forEach(h -> {
            entries.add(h >>> 1);
            Flow f = byEntry.get(h >>> 1);
            assertThat(f).as(where + ": table has an entry the model lacks: " + (h >>> 1)).isNotNull();
            assertThat(new Key(table.origSrcIp(h), table.origDstIp(h), table.origSrcPort(h), table.origDstPort(h),
                    table.protocol(h))).as(where).isEqualTo(f.orig);
            assertThat(new Key(table.replySrcIp(h), table.replyDstIp(h), table.replySrcPort(h), table.replyDstPort(h),
                    table.protocol(h))).as(where).isEqualTo(f.reply);
            assertThat(table.flags(h)).as(where + ": flags").isEqualTo(f.flags);
            assertThat(table.tcpState(h)).as(where).isEqualTo(f.state);
            assertThat(table.lastSeen(h)).as(where).isEqualTo(f.lastSeen);
            assertThat(table.expiresAt(h)).as(where).isEqualTo(f.expiresAt);
            assertThat(table.servicePortId(h)).as(where).isEqualTo(f.servicePort);
            for (int d = 0; d < 2; d++) {
                assertThat(table.packets(h, d)).as(where).isEqualTo(f.packets[d]);
                assertThat(table.bytes(h, d)).as(where).isEqualTo(f.bytes[d]);
            }
        });
        assertThat(entries).as(where).isEqualTo(byEntry.keySet());
        assertThat(table.live()).as(where).isEqualTo(byEntry.size());
        long[] actual = {table.inserts(), table.removes(), table.purged(), table.expired(), table.evicted(),
            table.insertClashes(), table.insertFailures(), table.lookupHits(), table.lookupMisses()};
        long[] expected = {inserts, removes, purged, expired, evicted, clashes, failures, hits, misses};
        assertThat(actual).as(where + ": inserts, removes, purged, expired, evicted, clashes, failures, hits, misses")
                .containsExactly(expected);
        assertThat((long) table.live()).as(where + ": live = inserts - removes - expired - evicted")
                .isEqualTo(table.inserts() - table.removes() - table.expired() - table.evicted());
        int keys = 0;
        for (Flow f : byEntry.values()) {
            keys += (f.flags & FLAG_SINGLE_KEY) != 0 ? 1 : 2;
        }
        assertThat(table.index().size()).as(where + ": index keys").isEqualTo(keys);
    }
}
