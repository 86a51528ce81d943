package dev.shunt.datapath;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ForwardingTableTest {
    static int ip(int a, int b, int c, int d) {
        return (a << 24) | (b << 16) | (c << 8) | d;
    }

    @Test
    void localPodsRemoteCidrsAndEverythingElse() {
        ForwardingTable t = ForwardingTable.builder(0)
                .pod(ip(10, 244, 1, 5), 3, 0x020000000005L)
                .pod(ip(10, 244, 1, 6), 4, 0x020000000006L)
                .overlay(1, 24)
                .remoteNode(ip(10, 244, 2, 0), 7)
                .build();
        assertThat(t.route(ip(10, 244, 1, 5))).isEqualTo(3);
        assertThat(t.podMac(ip(10, 244, 1, 5))).isEqualTo(0x020000000005L);
        assertThat(t.route(ip(10, 244, 1, 6))).isEqualTo(4);
        assertThat(t.route(ip(10, 244, 2, 77))).isEqualTo(1);
        assertThat(t.remoteNode(ip(10, 244, 2, 77))).isEqualTo(7);
        assertThat(t.route(ip(10, 244, 1, 7))).isEqualTo(0); // not a pod (yet): the host decides
        assertThat(t.route(ip(198, 18, 0, 1))).isEqualTo(0);
        assertThat(t.podPort(ip(10, 244, 3, 1))).isEqualTo(ForwardingTable.NO_PORT);
    }

    @Test
    void nextHopIsRouteAndMacInOneProbe() {
        ForwardingTable t = ForwardingTable.builder(0).hostMac(0x02000000000aL)
                .pod(ip(10, 244, 1, 5), 3, 0x020000000005L)
                .overlay(1, 24)
                .remoteNode(ip(10, 244, 2, 0), 7, 0x02000000bbbbL)
                .build();
        Random r = new Random(9);
        int[] probes = {ip(10, 244, 1, 5), ip(10, 244, 2, 9), ip(198, 18, 0, 1), ip(10, 244, 1, 6)};
        for (int i = 0; i < 2000; i++) {
            int ip = i < probes.length ? probes[i] : r.nextInt();
            long hop = t.nextHop(ip);
            // The reference, from the table's single-purpose lookups: pod, else remote node, else host.
            int expectedPort;
            long expectedMac;
            if (t.podPort(ip) != ForwardingTable.NO_PORT) {
                expectedPort = t.podPort(ip);
                expectedMac = t.podMac(ip);
            } else if (t.remoteNode(ip) >= 0) {
                expectedPort = t.overlayPort();
                expectedMac = t.remoteNodeMac(t.remoteNode(ip));
            } else {
                expectedPort = t.hostPort();
                expectedMac = t.hostMac();
            }
            assertThat(ForwardingTable.hopPort(hop)).isEqualTo(expectedPort);
            assertThat(ForwardingTable.hopMac(hop)).isEqualTo(expectedMac);
            assertThat(t.route(ip)).isEqualTo(expectedPort);
        }
        assertThat(t.podIpOfPort(3)).isEqualTo(ip(10, 244, 1, 5));
        assertThat(t.podIpOfPort(0)).isZero();
        assertThat(t.podIpOfPort(999)).isZero();
    }

    @Test
    void manyPodsAgreeWithAHashMap() {
        Random r = new Random(5);
        ForwardingTable.Builder b = ForwardingTable.builder(0);
        Map<Integer, Integer> model = new HashMap<>();
        for (int i = 0; i < 10_000; i++) {
            int ip = r.nextInt();
            int port = 2 + r.nextInt(60_000);
            b.pod(ip, port, ip & 0xffffffffL);
            model.put(ip, port);
        }
        ForwardingTable t = b.build();
        model.forEach((ip, port) -> {
            assertThat(t.podPort(ip)).isEqualTo(port);
            assertThat(t.podMac(ip)).isEqualTo(ip & 0xffffffffL);
            assertThat(t.nextHop(ip)).isEqualTo((long) port << 48 | ip & 0xffffffffL);
        });
        for (int i = 0; i < 10_000; i++) {
            int ip = r.nextInt();
            if (!model.containsKey(ip)) {
                assertThat(t.podPort(ip)).isEqualTo(ForwardingTable.NO_PORT);
            }
        }
    }

    @Test
    void addressZeroIsNoPod() {
        ForwardingTable.Builder b = ForwardingTable.builder(0).hostMac(0x02000000000aL);
        assertThatThrownBy(() -> b.pod(0, 2, 0x020000000002L))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0.0.0.0");
        ForwardingTable t = b.pod(ip(10, 244, 1, 2), 2, 0x020000000002L).build();
        // an empty slot holds 0: a packet to 0.0.0.0 must not find it as a pod
        assertThat(t.podPort(0)).isEqualTo(ForwardingTable.NO_PORT);
        assertThat(t.nextHop(0)).isEqualTo(0x02000000000aL);
    }
}
