package dev.shunt.datapath;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.shunt.datapath.ConntrackDescriptor.*;
import static dev.shunt.datapath.ConntrackTable.*;
import static dev.shunt.datapath.Flows.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.assertj.core.api.Assertions.assertThat;

class ConntrackTableTest {
    static final int CLIENT = ip(10, 244, 1, 5);
    static final int VIP = ip(10, 96, 0, 10);
    static final int BACKEND = ip(10, 244, 2, 7);
    static final int GATEWAY = ip(169, 254, 1, 1);

    /** client:40000 -> VIP:80 DNAT'ed to BACKEND:8080, service port 3, backend 7. */
    static int insertDnat(ConntrackTable t, int clientPort, int proto, long now) {
        return t.insert(CLIENT, VIP, clientPort, 80, proto, BACKEND, CLIENT, 8080, clientPort, FLAG_DNAT, 3, 7, now);
    }

    /** {@link #insertDnat} of a TCP flow taken through its handshake (60-byte SYN, SYN+ACK, ACK): ESTABLISHED. */
    static int establishedDnat(ConntrackTable t, int clientPort, long now) {
        int h = insertDnat(t, clientPort, IPPROTO_TCP, now);
        t.update(h, TcpState.TCP_SYN, ORIGINAL, 60, now);
        t.update(h | REPLY, TcpState.TCP_SYN | TcpState.TCP_ACK, REPLY, 60, now);
        t.update(h, TcpState.TCP_ACK, ORIGINAL, 60, now);
        return h;
    }

    @Test
    void bothDirectionsOfADnatFlowAreFound() {
        ConntrackTable t = table(64);
        int h = insertDnat(t, 40000, IPPROTO_TCP, T0);
        assertThat(h).isGreaterThanOrEqualTo(0);
        assertThat(direction(h)).isEqualTo(ORIGINAL);

        assertThat(t.lookup(CLIENT, VIP, 40000, 80, IPPROTO_TCP, T0)).isEqualTo(h);
        int r = t.lookup(BACKEND, CLIENT, 8080, 40000, IPPROTO_TCP, T0);
        assertThat(r).isEqualTo(h | REPLY);
        assertThat(entryIndex(r)).isEqualTo(entryIndex(h));

        assertThat(t.lookup(CLIENT, BACKEND, 40000, 8080, IPPROTO_TCP, T0)).as("post-DNAT tuple is no key").isEqualTo(MISS);
        assertThat(t.lookup(CLIENT, VIP, 40000, 80, IPPROTO_UDP, T0)).as("other protocol").isEqualTo(MISS);
        assertThat(t.lookup(CLIENT, VIP, 40001, 80, IPPROTO_TCP, T0)).isEqualTo(MISS);
        assertThat(t.lookupHits()).isEqualTo(2);
        assertThat(t.lookupMisses()).isEqualTo(3);

        assertThat(t.vipIp(r)).isEqualTo(VIP);
        assertThat(t.vipPort(r)).isEqualTo(80);
        assertThat(t.backendIp(h)).isEqualTo(BACKEND);
        assertThat(t.backendPort(h)).isEqualTo(8080);
        assertThat(t.snatIp(h)).isZero();
        assertThat(t.servicePortId(h)).isEqualTo(3);
        assertThat(t.backendId(r)).isEqualTo(7);
        assertThat(t.protocol(h)).isEqualTo(IPPROTO_TCP);
        assertThat(t.flags(h)).isEqualTo(FLAG_IN_USE | FLAG_DNAT);
        assertThat(t.createdAt(h)).isEqualTo(T0);
        assertThat(t.origSrcPort(h)).isEqualTo(40000);
        assertThat(t.replyDstPort(h)).isEqualTo(40000);

        // request: rewrite the destination to the backend; reply: rewrite the source to the VIP
        assertThat(new int[] {t.natSrcIp(h), t.natSrcPort(h), t.natDstIp(h), t.natDstPort(h)})
                .containsExactly(CLIENT, 40000, BACKEND, 8080);
        assertThat(new int[] {t.natSrcIp(r), t.natSrcPort(r), t.natDstIp(r), t.natDstPort(r)})
                .containsExactly(VIP, 80, CLIENT, 40000);
    }

    @Test
    void hairpinFlowIsSnatedToTheGateway() {
        ConntrackTable t = table(64);
        // a pod reaching itself through its Service: backend == client, so SNAT to the gateway address
        int h = t.insert(CLIENT, VIP, 40000, 80, IPPROTO_TCP, CLIENT, GATEWAY, 8080, 61000,
                FLAG_DNAT | FLAG_SNAT, 3, 7, T0);
        int r = t.lookup(CLIENT, GATEWAY, 8080, 61000, IPPROTO_TCP, T0);
        assertThat(r).isEqualTo(h | REPLY);
        assertThat(t.snatIp(h)).isEqualTo(GATEWAY);
        assertThat(t.snatPort(h)).isEqualTo(61000);
        assertThat(new int[] {t.natSrcIp(h), t.natSrcPort(h), t.natDstIp(h), t.natDstPort(h)})
                .containsExactly(GATEWAY, 61000, CLIENT, 8080);
        assertThat(new int[] {t.natSrcIp(r), t.natSrcPort(r), t.natDstIp(r), t.natDstPort(r)})
                .containsExactly(VIP, 80, CLIENT, 40000);
    }

    @Test
    void icmpEchoUsesIdAndTypeCode() {
        ConntrackTable t = table(64);
        int id = 0x1234;
        int h = t.insert(CLIENT, BACKEND, id, icmpKey(ICMP_ECHO_REQUEST, 0), IPPROTO_ICMP,
                BACKEND, CLIENT, id, icmpKey(ICMP_ECHO_REPLY, 0), 0, -1, -1, T0);
        assertThat(t.lookup(BACKEND, CLIENT, id, icmpKey(ICMP_ECHO_REPLY, 0), IPPROTO_ICMP, T0)).isEqualTo(h | REPLY);
        assertThat(t.lookup(CLIENT, BACKEND, id, icmpKey(ICMP_ECHO_REQUEST, 0), IPPROTO_ICMP, T0)).isEqualTo(h);
        assertThat(t.lookup(BACKEND, CLIENT, id, icmpKey(ICMP_ECHO_REQUEST, 0), IPPROTO_ICMP, T0))
                .as("a request the other way is another flow").isEqualTo(MISS);
        assertThat(t.lookup(BACKEND, CLIENT, id + 1, 0, IPPROTO_ICMP, T0)).isEqualTo(MISS);
        t.update(h, 0, ORIGINAL, 84, T0);
        assertThat(t.expiresAt(h)).isEqualTo(T0 + 30 * S);
    }

    @Test
    void aTupleOfALiveFlowClashes() {
        ConntrackTable t = table(64);
        int h = insertDnat(t, 40000, IPPROTO_TCP, T0);
        assertThat(insertDnat(t, 40000, IPPROTO_TCP, T0)).isEqualTo(CLASH);
        // a different client whose reply tuple (after a bad SNAT choice) is the first flow's reply tuple
        assertThat(t.insert(GATEWAY, VIP, 1, 80, IPPROTO_TCP, BACKEND, CLIENT, 8080, 40000, FLAG_DNAT, 3, 7, T0))
                .isEqualTo(CLASH);
        // a new flow whose original tuple is the first flow's reply tuple
        assertThat(insertPlain(t, BACKEND, CLIENT, 8080, 40000, IPPROTO_TCP, T0)).isEqualTo(CLASH);
        assertThat(t.insertClashes()).isEqualTo(3);
        assertThat(t.live()).isEqualTo(1);
        assertThat(t.lookup(CLIENT, VIP, 40000, 80, IPPROTO_TCP, T0)).isEqualTo(h);
    }

    @Test
    void aFlowWhoseReplyTupleEqualsItsOriginalHasOneKey() {
        ConntrackTable t = table(64);
        int h = insertPlain(t, CLIENT, CLIENT, 5000, 5000, IPPROTO_UDP, T0);
        assertThat(t.flags(h) & FLAG_SINGLE_KEY).isNotZero();
        assertThat(t.index().size()).isEqualTo(1);
        assertThat(t.lookup(CLIENT, CLIENT, 5000, 5000, IPPROTO_UDP, T0)).isEqualTo(h);
        assertThat(t.remove(h)).isTrue();
        assertThat(t.index().size()).isZero();
    }

    /**
     * The established path's update: for random packets of random flows (DNAT, DNAT with a
     * remapped source port, plain; TCP flags of every kind; both directions), updateAndNatPorts
     * leaves the table byte for byte as update does, and returns natPorts.
     */
    @Test
    void updateAndNatPortsIsUpdateAndNatPorts() {
        ConntrackTable a = table(256);
        ConntrackTable b = table(256);
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
        List<Integer> handles = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            int proto = rnd.nextBoolean() ? IPPROTO_TCP : IPPROTO_UDP;
            int port = 20000 + i;
            int h = switch (i % 3) {
                case 0 -> insertDnat(a, port, proto, T0);
                case 1 -> a.insert(CLIENT, VIP, port, 80, proto, BACKEND, CLIENT, 8080, 1024 + i,
                        FLAG_DNAT | FLAG_SNAT, 3, 7, T0);
                default -> insertPlain(a, CLIENT, BACKEND, port, 8080, proto, T0);
            };
            int same = switch (i % 3) {
                case 0 -> insertDnat(b, port, proto, T0);
                case 1 -> b.insert(CLIENT, VIP, port, 80, proto, BACKEND, CLIENT, 8080, 1024 + i,
                        FLAG_DNAT | FLAG_SNAT, 3, 7, T0);
                default -> insertPlain(b, CLIENT, BACKEND, port, 8080, proto, T0);
            };
            assertThat(same).isEqualTo(h);
            handles.add(h);
        }
        int[] flags = {0, TcpState.TCP_SYN, TcpState.TCP_SYN | TcpState.TCP_ACK, TcpState.TCP_ACK,
                TcpState.TCP_FIN | TcpState.TCP_ACK, TcpState.TCP_RST};
        long now = T0;
        for (int step = 0; step < 20_000; step++) {
            int h = handles.get(rnd.nextInt(handles.size())) | (rnd.nextBoolean() ? REPLY : ORIGINAL);
            int tcpFlags = flags[rnd.nextInt(flags.length)];
            int bytes = rnd.nextInt(40, 1500);
            now += rnd.nextLong(1, S);
            a.update(h, tcpFlags, direction(h), bytes, now);
            assertThat(b.updateAndNatPorts(h, tcpFlags, bytes, now)).as("step %d", step).isEqualTo(a.natPorts(h));
            assertThat(b.segment().mismatch(a.segment())).as("step %d", step).isEqualTo(-1L);
        }
        // The walk went through TCP state changes, not only the steady state.
        assertThat(handles.stream().filter(h -> a.protocol(h) == IPPROTO_TCP).map(a::tcpState).distinct().count())
                .isGreaterThan(2);
    }

    @Test
    void updateCountsPacketsAndFollowsTcp() {
        ConntrackTable t = table(64);
        int h = insertDnat(t, 40000, IPPROTO_TCP, T0);
        assertThat(t.tcpState(h)).isEqualTo(TcpState.NONE);
        assertThat(t.expiresAt(h)).isEqualTo(T0 + 120 * S);
        assertThat(t.update(h, TcpState.TCP_SYN, ORIGINAL, 60, T0)).isEqualTo(TcpState.SYN_SENT);
        int r = t.lookup(BACKEND, CLIENT, 8080, 40000, IPPROTO_TCP, T0 + S);
        assertThat(t.update(r, TcpState.TCP_SYN | TcpState.TCP_ACK, direction(r), 60, T0 + S)).isEqualTo(TcpState.SYN_RECV);
        assertThat(t.expiresAt(h)).isEqualTo(T0 + S + 60 * S);
        assertThat(t.update(h, TcpState.TCP_ACK, ORIGINAL, 52, T0 + 2 * S)).isEqualTo(TcpState.ESTABLISHED);
        assertThat(t.flags(h) & (FLAG_SEEN_REPLY | FLAG_ASSURED)).isEqualTo(FLAG_SEEN_REPLY | FLAG_ASSURED);
        assertThat(t.expiresAt(h)).isEqualTo(T0 + 2 * S + 432_000 * S);
        assertThat(t.lastSeen(r)).isEqualTo(T0 + 2 * S);
        assertThat(t.packets(h, ORIGINAL)).isEqualTo(2);
        assertThat(t.bytes(h, ORIGINAL)).isEqualTo(112);
        assertThat(t.packets(h, REPLY)).isEqualTo(1);
        assertThat(t.bytes(r, REPLY)).isEqualTo(60);

        t.update(h, TcpState.TCP_FIN | TcpState.TCP_ACK, ORIGINAL, 52, T0 + 3 * S);
        assertThat(t.expiresAt(h)).isEqualTo(T0 + 3 * S + 120 * S);
        t.update(r, TcpState.TCP_RST, REPLY, 40, T0 + 4 * S);
        assertThat(t.tcpState(h)).isEqualTo(TcpState.CLOSE);
        assertThat(t.expiresAt(h)).isEqualTo(T0 + 4 * S + 10 * S);
        assertThat(t.lookup(CLIENT, VIP, 40000, 80, IPPROTO_TCP, T0 + 14 * S - 1)).isEqualTo(h);
        assertThat(t.lookup(CLIENT, VIP, 40000, 80, IPPROTO_TCP, T0 + 14 * S)).isEqualTo(MISS);
        // The table's clock follows inserts and expiry sweeps (the pipeline sweeps after every
        // batch), not every packet's update.
        assertThat(t.clock()).isEqualTo(T0);
        t.expire(T0 + 15 * S, 1);
        assertThat(t.clock()).isEqualTo(T0 + 15 * S);
    }

    @Test
    void udpTimesOutAfter30sUnrepliedAnd120sReplied() {
        ConntrackTable t = table(64);
        int a = insertDnat(t, 1000, IPPROTO_UDP, T0);
        int b = insertDnat(t, 1001, IPPROTO_UDP, T0);
        t.update(a, 0, ORIGINAL, 100, T0);
        t.update(b, 0, ORIGINAL, 100, T0);
        int rb = t.lookup(BACKEND, CLIENT, 8080, 1001, IPPROTO_UDP, T0 + S);
        t.update(rb, 0, REPLY, 100, T0 + S);
        assertThat(t.flags(b) & FLAG_ASSURED).isNotZero();
        assertThat(t.lookup(CLIENT, VIP, 1000, 80, IPPROTO_UDP, T0 + 30 * S - 1)).isEqualTo(a);
        assertThat(t.lookup(BACKEND, CLIENT, 8080, 1000, IPPROTO_UDP, T0 + 30 * S)).as("lazy expiry").isEqualTo(MISS);
        assertThat(t.expired()).isEqualTo(1);
        assertThat(t.live()).isEqualTo(1);
        assertThat(t.isLive(a)).isFalse();
        assertThat(t.lookup(CLIENT, VIP, 1001, 80, IPPROTO_UDP, T0 + 120 * S)).isEqualTo(b);
        assertThat(t.lookup(CLIENT, VIP, 1001, 80, IPPROTO_UDP, T0 + 121 * S)).isEqualTo(MISS);
        assertThat(t.index().size()).isZero();
    }

    @Test
    void anExpiredFlowsTupleCanBeInsertedAgain() {
        ConntrackTable t = table(64);
        insertDnat(t, 1000, IPPROTO_UDP, T0);
        int again = insertDnat(t, 1000, IPPROTO_UDP, T0 + 30 * S);
        assertThat(again).isGreaterThanOrEqualTo(0);
        assertThat(t.expired()).isEqualTo(1);
        assertThat(t.inserts()).isEqualTo(2);
        assertThat(t.live()).isEqualTo(1);
    }

    @Test
    void expireSweepsAtMostTheBudget() {
        ConntrackTable t = table(256);
        for (int i = 0; i < 100; i++) {
            insertDnat(t, 1000 + i, IPPROTO_UDP, T0 + (i < 50 ? 0 : 20 * S)); // 30 s timeout
        }
        assertThat(t.expire(T0 + 29 * S, 1000)).isZero();
        int freed = 0;
        for (int round = 0; round < 10; round++) {
            int n = t.expire(T0 + 40 * S, 10);
            assertThat(n).isLessThanOrEqualTo(10);
            freed += n;
        }
        assertThat(freed).isEqualTo(50);
        assertThat(t.live()).isEqualTo(50);
        assertThat(t.expired()).isEqualTo(50);
        assertThat(t.expire(T0 + 50 * S, 100)).isEqualTo(50);
        assertThat(t.live()).isZero();
        assertThat(t.expire(T0 + 60 * S, 5)).isZero();
    }

    @Test
    void removeForgetsBothDirections() {
        ConntrackTable t = table(64);
        int h = insertDnat(t, 40000, IPPROTO_TCP, T0);
        assertThat(t.remove(h | REPLY)).as("either handle of the flow").isTrue();
        assertThat(t.remove(h)).isFalse();
        assertThat(t.remove(-1)).isFalse();
        assertThat(t.remove(capacityHandle(t))).isFalse();
        assertThat(t.lookup(CLIENT, VIP, 40000, 80, IPPROTO_TCP, T0)).isEqualTo(MISS);
        assertThat(t.lookup(BACKEND, CLIENT, 8080, 40000, IPPROTO_TCP, T0)).isEqualTo(MISS);
        assertThat(t.removes()).isEqualTo(1);
        assertThat(t.live()).isZero();
        assertThat(insertDnat(t, 40000, IPPROTO_TCP, T0)).as("the freed entry is reused").isEqualTo(h);
    }

    private static int capacityHandle(ConntrackTable t) {
        return t.capacity() << 1;
    }

    @Test
    void purgeBackendDrainsConnectionsOrPurgesAll() {
        ConntrackTable t = table(64);
        int established = establishedDnat(t, 1, T0);
        int handshake = insertDnat(t, 2, IPPROTO_TCP, T0);
        t.update(handshake, TcpState.TCP_SYN, ORIGINAL, 60, T0);
        int udpOneWay = insertDnat(t, 3, IPPROTO_UDP, T0);
        int udpTwoWay = insertDnat(t, 4, IPPROTO_UDP, T0);
        t.update(udpTwoWay | REPLY, 0, REPLY, 60, T0);
        int otherPort = t.insert(CLIENT, VIP, 5, 81, IPPROTO_TCP, BACKEND, CLIENT, 9090, 5, FLAG_DNAT, 4, 8, T0);
        int direct = insertPlain(t, CLIENT, BACKEND, 6, 8080, IPPROTO_TCP, T0); // pod to pod, no Service

        assertThat(t.purgeBackend(BACKEND, 8080, ANY, true)).isEqualTo(2);
        assertThat(List.of(t.isLive(established), t.isLive(handshake), t.isLive(udpOneWay), t.isLive(udpTwoWay)))
                .containsExactly(true, false, false, true);
        assertThat(t.flags(established) & FLAG_DRAINING).isNotZero();
        assertThat(t.flags(udpTwoWay) & FLAG_DRAINING).isNotZero();

        assertThat(t.purgeBackend(BACKEND, 8080, IPPROTO_UDP, false)).isEqualTo(1);
        assertThat(t.purgeBackend(BACKEND, 8080, ANY, false)).isEqualTo(1);
        assertThat(t.isLive(otherPort)).isTrue();
        assertThat(t.isLive(direct)).as("not a Service flow").isTrue();
        assertThat(t.purgeBackend(BACKEND, ANY, ANY, false)).isEqualTo(1);
        assertThat(t.isLive(direct)).isTrue();
        assertThat(t.purged()).isEqualTo(5);
        assertThat(t.removes()).isEqualTo(5);
        assertThat(t.live()).isEqualTo(1);
    }

    @Test
    void purgeServicePortAndForEach() {
        ConntrackTable t = table(64);
        for (int i = 0; i < 10; i++) {
            t.insert(CLIENT, VIP, 100 + i, 80, IPPROTO_TCP, BACKEND, CLIENT, 8080, 100 + i, FLAG_DNAT, i % 3, 7, T0);
        }
        assertThat(t.purgeServicePort(1)).isEqualTo(3);
        assertThat(t.purgeServicePort(1)).isZero();
        List<Integer> ports = new ArrayList<>();
        assertThat(t.forEach(h -> ports.add(t.origSrcPort(h)))).isEqualTo(7);
        assertThat(ports).containsExactlyInAnyOrder(100, 102, 103, 105, 106, 108, 109);
        assertThat(t.forEach(h -> t.remove(h))).as("the visitor may remove").isEqualTo(7);
        assertThat(t.live()).isZero();
    }

    @Test
    void churnLeavesNoTombstones() {
        ConntrackTable t = table(1024);
        java.util.Random random = new java.util.Random(7);
        int[] handles = new int[1024];
        int n = 0;
        for (int i = 0; i < 200_000; i++) {
            if (n < 1024 && (n < 512 || random.nextBoolean())) {
                int h = insertPlain(t, random.nextInt(), random.nextInt(), random.nextInt(65536), 80, IPPROTO_TCP, T0);
                if (h >= 0) {
                    handles[n++] = h;
                }
            } else {
                int k = random.nextInt(n);
                assertThat(t.remove(handles[k])).isTrue();
                handles[k] = handles[--n];
            }
        }
        assertThat(t.index().size()).isEqualTo(2 * t.live());
        assertThat(t.live()).isEqualTo(n);
        assertThat(t.index().maxProbeDistance()).as("probe chains at load <= 0.5").isLessThan(64);
        for (int i = 0; i < n; i++) {
            int h = handles[i];
            assertThat(t.lookup(t.origSrcIp(h), t.origDstIp(h), t.origSrcPort(h), 80, IPPROTO_TCP, T0)).isEqualTo(h);
        }
    }

    @Test
    void layoutSizes() {
        assertThat(indexSlots(1)).isEqualTo(16);
        assertThat(indexSlots(1000)).isEqualTo(4096);
        assertThat(indexSlots(1024)).isEqualTo(4096);
        assertThat(indexSlots(1025)).isEqualTo(8192);
        assertThat(ConntrackTable.bytesFor(1 << 20)).isEqualTo(HEADER_SIZE + (4L << 20) * 8 + (1L << 20) * 80);
        assertThat(table(100).indexSlots()).isEqualTo(512);
    }

    @Test
    void everythingAnEstablishedPacketTouchesIsInTheEntrysLine() {
        int[] hot = {E_ORIG_IPS, E_REPLY_IPS, E_ORIG_PORTS, E_REPLY_PORTS, E_PROTOCOL, E_TCP_STATE, E_FLAGS,
            E_ORIG_PACKETS_HIGH, E_REPLY_PACKETS_HIGH, E_EXPIRES_AT, E_ORIG_COUNTERS, E_REPLY_COUNTERS, E_ORIG_BYTES_HIGH,
            E_REPLY_BYTES_HIGH};
        for (int off : hot) {
            assertThat(off).isBetween(0, ENTRY_SIZE - 1);
        }
        assertThat(ENTRY_SIZE).isEqualTo(64).isEqualTo(1 << ENTRY_SHIFT);
        // index and entries start on a cache line, so every entry is exactly one line
        assertThat(entriesOffset(indexSlots(100)) % 64).isZero();
    }

    @Test
    void packetCountersCarryIntoTheirHighBits() {
        ConntrackTable t = table(64);
        int h = insertDnat(t, 40000, IPPROTO_UDP, T0);
        long off = t.entry(entryIndex(h));
        // 2^32 - 1 packets so far in the reply direction, 2^33 - 1 in the original one
        t.segment().set(JAVA_LONG, off + E_REPLY_COUNTERS, 0xFFFF_FFFFL << 32);
        t.segment().set(JAVA_LONG, off + E_ORIG_COUNTERS, 0xFFFF_FFFFL << 32);
        t.segment().set(JAVA_SHORT, off + E_ORIG_PACKETS_HIGH, (short) 1);
        assertThat(t.packets(h, REPLY)).isEqualTo((1L << 32) - 1);
        assertThat(t.packets(h, ORIGINAL)).isEqualTo((1L << 33) - 1);
        t.update(h | REPLY, 0, REPLY, 100, T0);
        t.update(h, 0, ORIGINAL, 100, T0);
        t.update(h, 0, ORIGINAL, 100, T0);
        assertThat(t.packets(h, REPLY)).isEqualTo(1L << 32);
        assertThat(t.packets(h, ORIGINAL)).isEqualTo((1L << 33) + 1);
        assertThat(t.bytes(h, ORIGINAL)).isEqualTo(200);
        assertThat(t.bytes(h, REPLY)).isEqualTo(100);
        assertThat(t.flags(h) & FLAG_ASSURED).as("the flags next to the high bits are intact").isEqualTo(FLAG_ASSURED);
    }

    @Test
    void anUpdateAfterAPurgeSeesTheFlagsThePurgeWrote() {
        // a drain written between a packet's lookup and its update must survive the update's state change
        ConntrackTable t = table(64);
        int h = establishedDnat(t, 40000, T0);
        assertThat(t.tcpState(h)).isEqualTo(TcpState.ESTABLISHED);

        assertThat(t.lookup(CLIENT, VIP, 40000, 80, IPPROTO_TCP, T0 + S)).isEqualTo(h);
        assertThat(t.purgeBackend(BACKEND, 8080, IPPROTO_TCP, true)).isZero(); // drained, not removed
        assertThat(t.flags(h) & FLAG_DRAINING).isNotZero();
        t.update(h, TcpState.TCP_FIN | TcpState.TCP_ACK, ORIGINAL, 52, T0 + S);
        assertThat(t.flags(h) & FLAG_DRAINING).as("the drain mark survives the FIN's state change").isNotZero();
        assertThat(t.flags(h) & FLAG_FIN_ORIGINAL).isNotZero();

        // and a flow freed and replaced between a lookup and an update starts clean
        assertThat(t.lookup(CLIENT, VIP, 40000, 80, IPPROTO_TCP, T0 + 2 * S)).isEqualTo(h);
        assertThat(t.remove(h)).isTrue();
        int again = insertDnat(t, 40000, IPPROTO_UDP, T0 + 2 * S);
        assertThat(entryIndex(again)).isEqualTo(entryIndex(h));
        t.update(again, 0, ORIGINAL, 100, T0 + 2 * S);
        assertThat(t.protocol(again)).isEqualTo(IPPROTO_UDP);
        assertThat(t.flags(again) & (FLAG_DRAINING | FLAG_FIN_ORIGINAL | FLAG_ASSURED)).isZero();
    }

    @Test
    void byteCountersCarryIntoTheirHighBits() {
        ConntrackTable t = table(64);
        int h = insertDnat(t, 40000, IPPROTO_UDP, T0);
        long off = t.entry(entryIndex(h));
        // 3 packets and 2^32 - 50 bytes so far in the original direction, 2^33 + 10 bytes in the reply one
        t.segment().set(JAVA_LONG, off + E_ORIG_COUNTERS, 3L << 32 | 0xFFFF_FFCEL);
        t.segment().set(JAVA_LONG, off + E_REPLY_COUNTERS, 10);
        t.segment().set(JAVA_INT, off + E_REPLY_BYTES_HIGH, 2);
        assertThat(t.bytes(h, ORIGINAL)).isEqualTo((1L << 32) - 50);
        assertThat(t.bytes(h, REPLY)).isEqualTo((1L << 33) + 10);
        t.update(h, 0, ORIGINAL, 49, T0);
        assertThat(t.bytes(h, ORIGINAL)).as("one byte short of the carry").isEqualTo((1L << 32) - 1);
        t.update(h, 0, ORIGINAL, 1500, T0);
        t.update(h | REPLY, 0, REPLY, 1500, T0);
        assertThat(t.bytes(h, ORIGINAL)).isEqualTo((1L << 32) - 1 + 1500);
        assertThat(t.packets(h, ORIGINAL)).isEqualTo(5);
        assertThat(t.bytes(h, REPLY)).isEqualTo((1L << 33) + 1510);
        assertThat(t.packets(h, REPLY)).isEqualTo(1);
    }

    @Test
    void lookupCountersReachTheHeaderWhenFlushed() {
        ConntrackTable t = table(64);
        insertDnat(t, 40000, IPPROTO_TCP, T0);
        t.lookup(CLIENT, VIP, 40000, 80, IPPROTO_TCP, T0);
        t.lookup(CLIENT, VIP, 40001, 80, IPPROTO_TCP, T0);
        assertThat(t.segment().get(JAVA_LONG, H_LOOKUP_HITS)).as("not yet in the header").isZero();
        assertThat(t.lookupHits()).isEqualTo(1);
        assertThat(t.lookupMisses()).isEqualTo(1);
        t.flushCounters();
        assertThat(t.segment().get(JAVA_LONG, H_LOOKUP_HITS)).isEqualTo(1);
        assertThat(t.segment().get(JAVA_LONG, H_LOOKUP_MISSES)).isEqualTo(1);
        assertThat(t.lookupHits()).as("not counted twice").isEqualTo(1);
        assertThat(t.lookupMisses()).isEqualTo(1);
    }
}
