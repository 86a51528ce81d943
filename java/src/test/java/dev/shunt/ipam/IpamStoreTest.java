package dev.shunt.ipam;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class IpamStoreTest {
    static final Cidr POOL = Cidr.parse("10.244.1.0/24");
    static final Cidr POOL6 = Cidr.parse("fd00:244:1::/64");

    @TempDir
    Path dir;

    static String ip(Allocation a) {
        return Cidr.Addresses.format(a.address());
    }

    @Test
    void firstAllocationSkipsTheNetworkAddressAndContinuesAfterTheLastOne() {
        try (IpamStore store = IpamStore.open(dir)) {
            assertThat(ip(store.allocate(POOL, Owner.of("a")))).isEqualTo("10.244.1.1");
            assertThat(ip(store.allocate(POOL, Owner.of("b")))).isEqualTo("10.244.1.2");
            store.release(Owner.of("a"));
            // host-local behaviour: the just-released .1 is not handed out again at once.
            assertThat(ip(store.allocate(POOL, Owner.of("c")))).isEqualTo("10.244.1.3");
        }
    }

    @Test
    void sameOwnerGetsTheSameAddressAndUnknownReleaseSucceeds() {
        try (IpamStore store = IpamStore.open(dir)) {
            Allocation first = store.allocate(POOL, new Owner("ctr", "eth0"));
            assertThat(store.allocate(POOL, new Owner("ctr", "eth0"))).isEqualTo(first);
            assertThat(store.allocate(POOL, new Owner("ctr", "eth1")).address()).isNotEqualTo(first.address());
            assertThat(store.release(Owner.of("nobody"))).isEmpty();
            assertThat(store.releaseContainer("ctr")).hasSize(2);
            assertThat(store.usage().get(0).used()).isZero();
        }
    }

    @Test
    void dualStackOwnerHoldsOneAddressPerFamily() {
        try (IpamStore store = IpamStore.open(dir)) {
            Owner pod = Owner.of("pod1");
            Allocation v4 = store.allocate(POOL, pod);
            Allocation v6 = store.allocate(POOL6, pod);
            assertThat(ip(v6)).isEqualTo("fd00:244:1::1");
            assertThat(store.allocationsOf(pod)).containsExactlyInAnyOrder(v4, v6);
            assertThatThrownBy(() -> store.allocate(Cidr.parse("10.244.2.0/24"), pod))
                    .isInstanceOfSatisfying(IpamException.class, e -> assertThat(e.cniCode()).isEqualTo(101))
                    .hasMessageContaining("already holds 10.244.1.1 from pool 10.244.1.0/24");
            assertThat(store.release(pod)).hasSize(2);
        }
    }

    @Test
    void exhaustionIsAClearErrorWithItsCniCodeAndWrapsAroundAfterRelease() {
        Cidr small = Cidr.parse("10.244.9.0/29"); // 8 addresses, 6 usable
        try (IpamStore store = IpamStore.open(dir)) {
            Set<String> got = new HashSet<>();
            for (int i = 0; i < 6; i++) {
                got.add(ip(store.allocate(small, Owner.of("p" + i))));
            }
            assertThat(got).containsExactlyInAnyOrder("10.244.9.1", "10.244.9.2", "10.244.9.3", "10.244.9.4", "10.244.9.5", "10.244.9.6");
            assertThatThrownBy(() -> store.allocate(small, Owner.of("p6")))
                    .isInstanceOfSatisfying(IpamException.class, e -> {
                        assertThat(e.code()).isEqualTo(IpamException.Code.POOL_EXHAUSTED);
                        assertThat(e.cniCode()).isEqualTo(100);
                    })
                    .hasMessage("pool 10.244.9.0/29 is exhausted: all 6 usable addresses are allocated");
            store.release(Owner.of("p2"));
            assertThat(ip(store.allocate(small, Owner.of("p6")))).isEqualTo("10.244.9.3");
        }
    }

    @Test
    void reservedRangesAndTinyPoolsAreHonoured() {
        try (IpamStore store = IpamStore.open(dir)) {
            store.definePool(POOL, List.of(AddressRange.parse("10.244.1.1-10.244.1.9"), AddressRange.parse("10.244.1.12/30")));
            assertThat(ip(store.allocate(POOL, Owner.of("a")))).isEqualTo("10.244.1.10");
            assertThat(ip(store.allocate(POOL, Owner.of("b")))).isEqualTo("10.244.1.11");
            assertThat(ip(store.allocate(POOL, Owner.of("c")))).isEqualTo("10.244.1.16");
            assertThat(store.usage().get(0).capacity()).hasToString(String.valueOf(254 - 9 - 4));
            assertThatThrownBy(() -> store.definePool(POOL, List.of(AddressRange.parse("10.244.1.200"))))
                    .hasMessageContaining("cannot be redefined");
            assertThatThrownBy(() -> store.definePool(Cidr.parse("10.244.0.0/16"), List.of()))
                    .hasMessageContaining("overlaps existing pool 10.244.1.0/24");
            assertThatThrownBy(() -> store.definePool(Cidr.parse("10.244.3.0/24"), List.of(AddressRange.parse("10.244.4.1"))))
                    .hasMessageContaining("is not inside pool");
            Cidr p31 = Cidr.parse("10.244.5.0/31");
            assertThat(ip(store.allocate(p31, Owner.of("x")))).isEqualTo("10.244.5.0");
            assertThat(ip(store.allocate(Cidr.parse("10.244.6.7/32"), Owner.of("y")))).isEqualTo("10.244.6.7");
            assertThatThrownBy(() -> store.allocate(Cidr.parse("fd00::/48"), Owner.of("z")))
                    .hasMessageContaining("IPv6 pools must be /64 or longer");
        }
    }

    @Test
    void everythingSurvivesReopenIncludingTheCursorAndCompaction() {
        List<Allocation> held = new ArrayList<>();
        try (IpamStore store = IpamStore.open(dir, 10)) {
            for (int i = 0; i < 25; i++) {
                held.add(store.allocate(POOL, Owner.of("p" + i)));
            }
            for (int i = 0; i < 25; i += 2) {
                store.release(Owner.of("p" + i));
            }
        }
        assertThat(dir.resolve("state")).exists();
        try (IpamStore store = IpamStore.open(dir, 10)) {
            for (int i = 0; i < 25; i++) {
                List<Allocation> now = store.allocationsOf(Owner.of("p" + i));
                if (i % 2 == 0) {
                    assertThat(now).isEmpty();
                } else {
                    assertThat(now).containsExactly(held.get(i));
                }
            }
            // The cursor survived: the next address follows .25, it is not a freed low one.
            assertThat(ip(store.allocate(POOL, Owner.of("next")))).isEqualTo("10.244.1.26");
        }
        assertThat(IpamStore.check(dir).ok()).isTrue();
    }

    @Test
    void aTornLastLineIsDroppedButAnyOtherBadLineIsCorruption() throws IOException {
        try (IpamStore store = IpamStore.open(dir)) {
            store.allocate(POOL, Owner.of("a"));
            store.allocate(POOL, Owner.of("b"));
        }
        Path log = dir.resolve("log.0");
        Files.writeString(log, "alloc 10.244.1.0/24 10.244.1.3 c eth", StandardCharsets.US_ASCII, StandardOpenOption.APPEND);
        IpamStore.CheckReport report = IpamStore.check(dir);
        assertThat(report.ok()).isTrue();
        assertThat(report.notes()).anyMatch(n -> n.contains("unfinished record"));
        try (IpamStore store = IpamStore.open(dir)) {
            assertThat(store.usage().get(0).used()).isEqualTo(2);
            assertThat(ip(store.allocate(POOL, Owner.of("c")))).isEqualTo("10.244.1.3");
        }
        assertThat(IpamStore.check(dir).notes()).isEmpty();

        List<String> lines = new ArrayList<>(Files.readAllLines(log));
        assertThat(lines.get(2)).startsWith("alloc 10.244.1.0/24 10.244.1.1 a eth0\t");
        lines.set(2, lines.get(2).replace("10.244.1.1", "10.244.1.9"));
        Files.write(log, lines);
        IpamStore.CheckReport broken = IpamStore.check(dir);
        assertThat(broken.ok()).isFalse();
        assertThat(broken.problems()).anyMatch(p -> p.contains("checksum mismatch"));
        assertThatThrownBy(() -> IpamStore.open(dir))
                .isInstanceOfSatisfying(IpamException.class, e -> assertThat(e.cniCode()).isEqualTo(102));
    }

    @Test
    void checkFindsAnAddressHeldTwiceEvenWithValidChecksums() throws IOException {
        try (IpamStore store = IpamStore.open(dir)) {
            store.allocate(POOL, Owner.of("a"));
        }
        Allocation twice = new Allocation(POOL, Cidr.Addresses.parse("10.244.1.1"), Owner.of("b"));
        Files.write(dir.resolve("log.0"), StoreRecord.line(new StoreRecord.Alloc(twice)), StandardOpenOption.APPEND);
        Files.write(dir.resolve("log.0"), StoreRecord.line(new StoreRecord.Alloc(twice)), StandardOpenOption.APPEND);
        IpamStore.CheckReport report = IpamStore.check(dir);
        assertThat(report.ok()).isFalse();
        assertThat(report.problems().get(0)).contains("10.244.1.1 would be held by both a/eth0 and b/eth0");
    }

    @Test
    void gcReleasesWhatIsNotLive() {
        try (IpamStore store = IpamStore.open(dir)) {
            store.allocate(POOL, new Owner("keep", "eth0"));
            store.allocate(POOL, new Owner("keep", "net1"));
            store.allocate(POOL, new Owner("half", "eth0"));
            store.allocate(POOL, new Owner("half", "net1"));
            store.allocate(POOL, Owner.of("dead"));
            List<Allocation> released = store.gc(List.of("keep", "half/eth0"));
            assertThat(released).extracting(a -> a.owner().toString()).containsExactlyInAnyOrder("half/net1", "dead/eth0");
            assertThat(store.usage().get(0).allocations()).extracting(a -> a.owner().toString())
                    .containsExactlyInAnyOrder("keep/eth0", "keep/net1", "half/eth0");
        }
    }

    @Test
    void badOwnersAreRefused() {
        assertThatThrownBy(() -> Owner.of("has space")).isInstanceOf(IpamException.class).hasMessageContaining("invalid owner id");
        assertThatThrownBy(() -> new Owner("ok", "ifname-far-too-long")).hasMessageContaining("invalid interface name");
        assertThatThrownBy(() -> Owner.of("")).isInstanceOf(IpamException.class);
    }
}
