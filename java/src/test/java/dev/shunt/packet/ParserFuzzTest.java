package dev.shunt.packet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.provider.Arguments;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One million-plus random and mutated frames through PacketParser: it never throws, never reads
 * past {@code length} (each frame is parsed from a segment sliced to exactly its length, so an
 * over-read would throw), and every OK leaves offsets that lie inside the frame.
 */
class ParserFuzzTest {
    static final int FRAMES = 1_200_000;

    @Test
    void neverThrowsAndNeverReadsPastTheFrame() {
        List<byte[]> corpus = new ArrayList<>();
        Pcap4jCrossCheckTest.shuntBuilt().map(Arguments::get).forEach(a -> corpus.add((byte[]) a[1]));
        PacketParserTest.broken().map(Arguments::get).forEach(a -> corpus.add((byte[]) a[1]));
        Random r = new Random(0xF022);
        PacketParser[] parsers = {new PacketParser(), new PacketParser(0),
                new PacketParser(PacketParser.VERIFY_IPV4_CHECKSUM | PacketParser.VERIFY_L4_CHECKSUM)};
        PacketMeta m = new PacketMeta();
        long[] results = new long[DropReason.COUNT];
        byte[] buffer = new byte[2048];
        long start = System.nanoTime();
        for (int i = 0; i < FRAMES; i++) {
            int length = mutate(corpus.get(r.nextInt(corpus.size())), buffer, r);
            MemorySegment exact = MemorySegment.ofArray(buffer).asSlice(0, length);
            DropReason result = parsers[i % 3].parse(exact, 0, length, m);
            assertThat(result).isNotNull();
            results[result.ordinal()]++;
            if (result == DropReason.OK) {
                checkInvariants(m, length);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        StringBuilder report = new StringBuilder(String.format("fuzz: %,d frames in %.1f s%n", FRAMES, seconds));
        for (DropReason reason : DropReason.values()) {
            report.append(String.format("  %-24s %,9d%n", reason, results[reason.ordinal()]));
        }
        System.out.print(report);
        assertThat(results[DropReason.OK.ordinal()]).isGreaterThan(FRAMES / 20);
        assertThat(results[DropReason.FRAME_OUT_OF_BOUNDS.ordinal()]).isZero();
        assertThat(seconds).isLessThan(30);
    }

    /** One of: bit flips, byte overwrites, truncation, a lying length field, growth, or pure noise. */
    static int mutate(byte[] seed, byte[] out, Random r) {
        int length = seed.length;
        System.arraycopy(seed, 0, out, 0, length);
        int kind = r.nextInt(8);
        switch (kind) {
            case 0 -> { // noise
                length = r.nextInt(200);
                r.nextBytes(out);
                if (r.nextBoolean() && length >= 14) { // but a plausible EtherType
                    int[] types = {0x0800, 0x86DD, 0x0806, 0x8100};
                    int t = types[r.nextInt(types.length)];
                    out[12] = (byte) (t >>> 8);
                    out[13] = (byte) t;
                }
            }
            case 1 -> length = r.nextInt(length + 1); // truncate
            case 2 -> { // length-field lies: overwrite a 16-bit word where length fields live
                int[] spots = {16, 18, 20, 22, 14 + 4, 18 + 4, 38, 42, 46, 50, 54, 58, 62};
                int at = spots[r.nextInt(spots.length)];
                if (at + 1 < length) {
                    int v = r.nextInt(4) == 0 ? r.nextInt(0x10000) : length - 14 + r.nextInt(17) - 8;
                    out[at] = (byte) (v >>> 8);
                    out[at + 1] = (byte) v;
                }
            }
            case 3 -> { // grow with garbage (padding or a longer claim)
                int extra = r.nextInt(64);
                for (int k = 0; k < extra && length < out.length; k++) {
                    out[length++] = (byte) r.nextInt();
                }
            }
            case 4 -> { // header nibbles: version/IHL, data offset, extension lengths
                if (length > 0) {
                    int at = r.nextInt(Math.min(length, 80));
                    out[at] = (byte) ((out[at] & 0xF0) | r.nextInt(16));
                }
            }
            default -> { // 1..4 bit flips, biased to the headers
                int flips = 1 + r.nextInt(4);
                for (int k = 0; k < flips && length > 0; k++) {
                    int at = r.nextInt(Math.min(length, r.nextBoolean() ? 80 : length));
                    out[at] ^= (byte) (1 << r.nextInt(8));
                }
            }
        }
        return length;
    }

    static void checkInvariants(PacketMeta m, int length) {
        long end = m.frameOffset() + length;
        assertThat(m.l3Offset()).isBetween(14L, end);
        assertThat(m.l3End()).isBetween(m.l3Offset(), end);
        if (m.hasL4()) {
            assertThat(m.l4Offset()).isBetween(m.l3Offset(), m.l3End());
        }
        if (m.payloadOffset() >= 0) {
            assertThat(m.payloadOffset() + m.payloadLength()).isLessThanOrEqualTo(m.l3End());
            assertThat(m.payloadLength()).isNotNegative();
        }
        if (m.hasInner()) {
            assertThat(m.innerL3Offset()).isLessThan(m.l3End());
            if (m.innerL4Offset() >= 0) {
                assertThat(m.innerL4Offset() + 8).isLessThanOrEqualTo(m.l3End());
            }
        }
    }

    @Test
    void everyTruncationOfEveryCorpusFrameIsHandled() {
        PacketParser parser = new PacketParser(PacketParser.VERIFY_IPV4_CHECKSUM | PacketParser.VERIFY_L4_CHECKSUM);
        PacketMeta m = new PacketMeta();
        Pcap4jCrossCheckTest.shuntBuilt().map(Arguments::get).forEach(a -> {
            byte[] frame = (byte[]) a[1];
            for (int n = 0; n < frame.length; n++) {
                byte[] cut = Arrays.copyOf(frame, n);
                DropReason result = parser.parse(MemorySegment.ofArray(cut), 0, n, m);
                if (result == DropReason.OK) {
                    checkInvariants(m, n); // only possible when the cut falls in Ethernet padding
                }
            }
        });
    }
}
