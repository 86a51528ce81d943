package dev.shunt.datapath;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

class ConntrackSnapshotTest {
    private static final int VIP = 0x0a600002; // 10.96.0.2

    @Test
    void copiesEveryLiveFlowWithItsTuplesNatAndCounters() {
        ConntrackTable table = ConntrackTable.allocate(Arena.ofAuto(), 64, ConntrackTimeouts.kernelDefaults(TimeUnit.NANOSECONDS), 7);
        int h = table.insert(0x0af40104, VIP, 40000, 80, ConntrackTable.IPPROTO_TCP, 0x0af40101, 0x0af40104, 8080, 40000,
                ConntrackDescriptor.FLAG_DNAT, 77, -1, 1000);
        table.update(h, TcpState.TCP_SYN, ConntrackTable.ORIGINAL, 60, 1000);
        int gone = table.insert(0x0af40105, VIP, 40001, 80, ConntrackTable.IPPROTO_UDP, 0x0af40102, 0x0af40105, 53, 40001,
                ConntrackDescriptor.FLAG_DNAT, 78, -1, 1000);
        table.remove(gone);

        List<ConntrackSnapshot.Flow> flows = ConntrackSnapshot.take(table, 100);
        assertThat(flows).hasSize(1);
        ConntrackSnapshot.Flow f = flows.getFirst();
        assertThat(f.protocol()).isEqualTo(ConntrackTable.IPPROTO_TCP);
        assertThat(f.tcpState()).isEqualTo(TcpState.SYN_SENT);
        assertThat(f.origSrcIp()).isEqualTo(0x0af40104);
        assertThat(f.origDstIp()).isEqualTo(VIP);
        assertThat(f.origSrcPort()).isEqualTo(40000);
        assertThat(f.origDstPort()).isEqualTo(80);
        assertThat(f.replySrcIp()).isEqualTo(0x0af40101);
        assertThat(f.replySrcPort()).isEqualTo(8080);
        assertThat(f.replyDstIp()).isEqualTo(0x0af40104);
        assertThat(f.has(ConntrackDescriptor.FLAG_DNAT)).isTrue();
        assertThat(f.servicePortId()).isEqualTo(77);
        assertThat(f.createdAt()).isEqualTo(1000);
        assertThat(f.origPackets()).isEqualTo(1);
        assertThat(f.origBytes()).isEqualTo(60);
        assertThat(ConntrackSnapshot.take(table, 0)).isEmpty();
    }

    /**
     * A writer thread churns the table (inserts and removes) while this thread takes snapshots: no
     * scan fails, and no flow copied mixes two flows (every flow was inserted with a reply tuple
     * derived from its original one, so a mix would break the relation).
     */
    @Test
    void snapshotsTakenWhileAnotherThreadChurnsTheTableNeverMixTwoFlows() throws Exception {
        ConntrackTable table = ConntrackTable.allocate(Arena.ofAuto(), 512, ConntrackTimeouts.kernelDefaults(TimeUnit.NANOSECONDS), 11);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long stopAt = System.nanoTime() + 1_000_000_000L;
        Thread writer = Thread.ofPlatform().start(() -> {
            try {
                Random random = new Random(42);
                int[] handles = new int[400];
                java.util.Arrays.fill(handles, -1);
                long now = 1;
                long rounds = 0;
                while (System.nanoTime() < stopAt && rounds < 50_000_000L) {
                    rounds++;
                    int slot = random.nextInt(handles.length);
                    if (handles[slot] >= 0) {
                        table.remove(handles[slot]);
                        handles[slot] = -1;
                    } else {
                        int client = 0x0af40000 | random.nextInt(1 << 16);
                        int sport = 1024 + random.nextInt(60000);
                        int h = table.insert(client, VIP, sport, 80, ConntrackTable.IPPROTO_TCP, client ^ 0x00ff0000, client,
                                sport ^ 0x5555, sport, ConntrackDescriptor.FLAG_DNAT, sport, -1, ++now);
                        handles[slot] = Math.max(h, -1);
                    }
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        int scans = 0;
        long copied = 0;
        while (writer.isAlive()) {
            for (ConntrackSnapshot.Flow f : ConntrackSnapshot.take(table, Integer.MAX_VALUE)) {
                assertThat(f.replySrcIp()).isEqualTo(f.origSrcIp() ^ 0x00ff0000);
                assertThat(f.replyDstIp()).isEqualTo(f.origSrcIp());
                assertThat(f.replySrcPort()).isEqualTo(f.origSrcPort() ^ 0x5555);
                assertThat(f.servicePortId()).isEqualTo(f.origSrcPort());
                assertThat(f.origDstIp()).isEqualTo(VIP);
                copied++;
            }
            scans++;
        }
        writer.join();
        assertThat(failure.get()).isNull();
        assertThat(scans).isGreaterThan(10);
        assertThat(copied).isGreaterThan(1000);
    }
}
