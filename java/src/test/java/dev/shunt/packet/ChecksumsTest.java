package dev.shunt.packet;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The Internet checksum against a naive 16-bit reference, and RFC 1624 updates against full recomputation. */
class ChecksumsTest {
    /** RFC 1071 section 3 worked example: the words 0001 f203 f4f5 f6f7 sum to ddf2. */
    @Test
    void rfc1071Example() {
        byte[] data = {0x00, 0x01, (byte) 0xf2, 0x03, (byte) 0xf4, (byte) 0xf5, (byte) 0xf6, (byte) 0xf7};
        MemorySegment s = MemorySegment.ofArray(data);
        assertThat(Checksums.fold(Checksums.sum(s, 0, 8))).isEqualTo(0xddf2);
        assertThat(Checksums.checksum(s, 0, 8)).isEqualTo(0x220d);
    }

    /** Reference: 16 bits at a time with end-around carry, as RFC 1071 describes it. */
    static int naiveFold(byte[] data, int offset, int length) {
        long sum = 0;
        for (int i = 0; i < length; i += 2) {
            int hi = data[offset + i] & 0xFF;
            int lo = i + 1 < length ? data[offset + i + 1] & 0xFF : 0;
            sum += (hi << 8) | lo;
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int) sum;
    }

    @Test
    void wideWordSumEqualsNaiveSumForAnyLengthAndOffset() {
        Random random = new Random(1071);
        byte[] data = new byte[2100];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment nativeCopy = arena.allocate(data.length);
            for (int i = 0; i < 20_000; i++) {
                random.nextBytes(data);
                if (i % 10 == 0) {
                    java.util.Arrays.fill(data, (byte) 0xFF); // maximal carries
                }
                int offset = random.nextInt(64);
                int length = random.nextInt(i % 100 == 0 ? 2000 : 70);
                MemorySegment.copy(MemorySegment.ofArray(data), 0, nativeCopy, 0, data.length);
                int expected = naiveFold(data, offset, length);
                assertThat(Checksums.fold(Checksums.sum(MemorySegment.ofArray(data), offset, length))).isEqualTo(expected);
                assertThat(Checksums.fold(Checksums.sum(nativeCopy, offset, length))).isEqualTo(expected);
            }
        }
    }

    /** A random "packet" whose 16-bit word 0 is the checksum of the rest; rewrite word i and compare. */
    @Test
    void incrementalUpdatesEqualFullRecomputation() {
        Random random = new Random(1624);
        for (int i = 0; i < 200_000; i++) {
            int words = 8 + random.nextInt(40);
            byte[] data = new byte[words * 2];
            random.nextBytes(data);
            if (i % 7 == 0) {
                for (int k = 0; k < data.length; k++) {
                    data[k] = random.nextBoolean() ? 0 : (byte) 0xFF; // stress 0x0000/0xFFFF words
                }
            }
            MemorySegment s = MemorySegment.ofArray(data);
            NetworkOrder.setU16(s, 0, 0);
            int checksum = Checksums.checksum(s, 0, data.length);
            int kind = i % 3;
            int at = 2 + 8 * random.nextInt((words * 2 - 10) / 8 + 1); // a field after the checksum word
            int updated;
            if (kind == 0) {
                int old = NetworkOrder.u16(s, at);
                int now = random.nextInt(8) == 0 ? (~old & 0xFFFF) : random.nextInt(0x10000);
                NetworkOrder.setU16(s, at, now);
                updated = Checksums.update16(checksum, old, now);
            } else if (kind == 1) {
                int old = NetworkOrder.i32(s, at);
                int now = random.nextInt();
                NetworkOrder.setI32(s, at, now);
                updated = Checksums.update32(checksum, old, now);
            } else {
                long old = NetworkOrder.i64(s, at);
                long now = random.nextLong();
                NetworkOrder.setI64(s, at, now);
                updated = Checksums.update64(checksum, old, now);
            }
            assertThat(updated).as("iteration %d", i).isEqualTo(Checksums.checksum(s, 0, data.length));
        }
    }

    @Test
    void udpZeroMeansNoChecksumAndAComputedZeroIsSentAsFfff() {
        assertThat(Checksums.udpUpdate16(0, 0x1234, 0x4321)).isZero();
        assertThat(Checksums.udpUpdate32(0, 0x0a000001, 0x0a000002)).isZero();
        assertThat(Checksums.udpUpdate64(0, 1, 2)).isZero();
        // ~(~HC + ~m + m') = 0 when the folded sum is 0xFFFF: e.g. HC = 0x0001 and m' - m = 1
        assertThat(Checksums.update16(0x0001, 0x0000, 0x0001)).isZero();
        assertThat(Checksums.udpUpdate16(0x0001, 0x0000, 0x0001)).isEqualTo(0xFFFF);
        // full computation: a UDP datagram whose data makes the sum 0xFFFF is sent with 0xFFFF
        byte[] frame = new PacketBuilder().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).payload(new byte[2]).build();
        MemorySegment s = MemorySegment.ofArray(frame);
        int c = NetworkOrder.u16(s, 14 + 20 + 6);
        NetworkOrder.setU16(s, 14 + 28, c); // adding ~sum to the data makes the new sum 0xFFFF
        assertThat(Checksums.l4Checksum4(s, 14, 34, 10, PacketDescriptor.IPPROTO_UDP)).isEqualTo(0xFFFF);
        long raw = Checksums.pseudoHeaderSum4(s, 14, PacketDescriptor.IPPROTO_UDP, 10) + Checksums.sumSkipping(s, 34, 10, 6);
        assertThat(~Checksums.fold(raw) & 0xFFFF).isZero(); // what TCP would have stored
    }

    /** The uncomplemented pseudo-header seed of a CHECKSUM_PARTIAL frame tracks address rewrites. */
    @Test
    void partialSeedUpdatesLikeARecomputedSeed() {
        Random random = new Random(4);
        for (int i = 0; i < 100_000; i++) {
            int src = random.nextInt();
            int dst = random.nextInt();
            int length = random.nextInt(1500);
            int protocol = random.nextBoolean() ? 6 : 17;
            int seed = Checksums.partialSeed(Checksums.pseudoHeaderSum4(src, dst, protocol, length));
            int newDst = random.nextInt();
            assertThat(Checksums.partialUpdate32(seed, dst, newDst))
                    .isEqualTo(Checksums.partialSeed(Checksums.pseudoHeaderSum4(src, newDst, protocol, length)));
            long hi = random.nextLong();
            long lo = random.nextLong();
            long newLo = random.nextLong();
            int seed6 = Checksums.partialSeed(Checksums.pseudoHeaderSum6(hi, lo, 7, 8, protocol, length));
            assertThat(Checksums.partialUpdate64(seed6, lo, newLo))
                    .isEqualTo(Checksums.partialSeed(Checksums.pseudoHeaderSum6(hi, newLo, 7, 8, protocol, length)));
            int word = random.nextInt(0x10000);
            assertThat(Checksums.partialUpdate16(seed, length, word))
                    .isEqualTo(Checksums.partialSeed(Checksums.pseudoHeaderSum4(src, dst, protocol, word)));
        }
    }

    /** Finishing a partial checksum (what the NIC does) gives the full checksum. */
    @Test
    void finishingAPartialChecksumGivesTheFullOne() {
        Random random = new Random(5);
        for (int i = 0; i < 2_000; i++) {
            byte[] data = new byte[random.nextInt(300)];
            random.nextBytes(data);
            byte[] frame = new PacketBuilder().ipv4(random.nextInt(), random.nextInt()).tcp(random.nextInt(0x10000), 80)
                    .payload(data).build();
            MemorySegment s = MemorySegment.ofArray(frame);
            int l4Length = frame.length - 34;
            int full = NetworkOrder.u16(s, 34 + 16);
            NetworkOrder.setU16(s, 34 + 16, Checksums.partialSeed(Checksums.pseudoHeaderSum4(s, 14, 6, l4Length)));
            assertThat(Checksums.checksum(s, 34, l4Length)).isEqualTo(full);
        }
    }

    @Test
    void ipv4HeaderChecksumAndTtlDecrement() {
        byte[] frame = new PacketBuilder().ipv4("10.244.1.5", "10.96.0.10").ipv4Options(new byte[] {1, 1, 1, 0})
                .ttl(64).tcp(1, 2).build();
        MemorySegment s = MemorySegment.ofArray(frame);
        Ipv4View ip = new Ipv4View().wrap(s, 14);
        assertThat(ip.checksumValid()).isTrue();
        for (int ttl = 63; ttl >= 0; ttl--) {
            ip.decrementTtl();
            assertThat(ip.ttl()).isEqualTo(ttl);
            assertThat(ip.checksum()).isEqualTo(Checksums.ipv4HeaderChecksum(s, 14, 24));
        }
    }
}
