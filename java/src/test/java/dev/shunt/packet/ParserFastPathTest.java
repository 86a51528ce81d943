package dev.shunt.packet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.provider.Arguments;

import java.lang.foreign.MemorySegment;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * PacketParser's one-pass IPv4 TCP/UDP path must be invisible: for every frame, {@code parse}
 * (fast path first) and {@code parseGeneral} (the general path alone) return the same result and
 * leave every field of PacketMeta equal, also when the meta held an unrelated packet before
 * (stale fields). Frames: well-formed TCP/UDP over IPv4 with random fields (the fast path's
 * case), the cross-check corpus, and mutations of both (ParserFuzzTest.mutate).
 */
class ParserFastPathTest {
    static final int FRAMES = 300_000;

    @Test
    void fastPathAndGeneralPathAgreeOnEveryFrame() throws IllegalAccessException {
        Random r = new Random(0xFA57);
        List<byte[]> corpus = new ArrayList<>();
        Pcap4jCrossCheckTest.shuntBuilt().map(Arguments::get).forEach(a -> corpus.add((byte[]) a[1]));
        PacketParserTest.broken().map(Arguments::get).forEach(a -> corpus.add((byte[]) a[1]));
        for (int i = 0; i < 200; i++) {
            corpus.add(ipv4Frame(r));
        }
        PacketParser[] parsers = {new PacketParser(), new PacketParser(0),
                new PacketParser(PacketParser.VERIFY_IPV4_CHECKSUM | PacketParser.VERIFY_L4_CHECKSUM)};
        Field[] fields = Arrays.stream(PacketMeta.class.getDeclaredFields())
                .filter(f -> !Modifier.isStatic(f.getModifiers())).toArray(Field[]::new);
        PacketMeta fast = new PacketMeta();
        PacketMeta general = new PacketMeta();
        byte[] frame = new byte[2048];
        byte[] buffer = new byte[4096];
        int fastCases = 0;
        for (int i = 0; i < FRAMES; i++) {
            PacketParser parser = parsers[i % parsers.length];
            // Both metas first hold the same earlier packet, of any kind.
            byte[] before = corpus.get(r.nextInt(corpus.size()));
            parser.parse(MemorySegment.ofArray(before), 0, before.length, fast);
            parser.parse(MemorySegment.ofArray(before), 0, before.length, general);

            byte[] seed = corpus.get(r.nextInt(corpus.size()));
            int length = r.nextInt(3) == 0 ? copy(seed, frame) : ParserFuzzTest.mutate(seed, frame, r);
            int offset = r.nextInt(64);
            System.arraycopy(frame, 0, buffer, offset, length);
            MemorySegment s = MemorySegment.ofArray(buffer).asSlice(0, offset + length);

            DropReason a = parser.parse(s, offset, length, fast);
            DropReason b = parser.parseGeneral(s, offset, length, general);
            assertThat(a).as("frame %d", i).isEqualTo(b);
            for (Field f : fields) {
                assertThat(f.get(fast)).as("frame %d, field %s", i, f.getName()).isEqualTo(f.get(general));
            }
            if (a == DropReason.OK && fast.ipVersion() == 4 && fast.hasL4() && !fast.isFragment() && !fast.hasVlan()
                    && fast.l3HeaderLength() == 20
                    && (fast.l4Protocol() == PacketDescriptor.IPPROTO_TCP || fast.l4Protocol() == PacketDescriptor.IPPROTO_UDP)) {
                fastCases++;
            }
        }
        // The comparison covered the fast path's own case, not only frames it hands on.
        assertThat(fastCases).isGreaterThan(FRAMES / 5);
    }

    private static int copy(byte[] seed, byte[] out) {
        System.arraycopy(seed, 0, out, 0, seed.length);
        return seed.length;
    }

    /** A well-formed TCP or UDP packet over untagged IPv4 without options, random fields. */
    private static byte[] ipv4Frame(Random r) {
        PacketBuilder b = new PacketBuilder().macs(0x020000000001L, 0x020000000002L)
                .ipv4(r.nextInt(), r.nextInt()).ttl(1 + r.nextInt(255)).identification(r.nextInt(0x10000));
        if (r.nextBoolean()) {
            b.dontFragment();
        }
        if (r.nextBoolean()) {
            b.tcp(r.nextInt(0x10000), r.nextInt(0x10000)).tcpFlags(r.nextInt(0x100)).sequence(r.nextInt());
            if (r.nextInt(4) == 0) {
                b.tcpOptions(new byte[4 * (1 + r.nextInt(10))]);
            }
        } else {
            b.udp(r.nextInt(0x10000), r.nextInt(0x10000));
        }
        if (r.nextInt(8) == 0) {
            b.padToMinimum();
        }
        return b.payload(new byte[r.nextInt(100)]).build();
    }
}
