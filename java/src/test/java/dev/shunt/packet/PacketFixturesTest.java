package dev.shunt.packet;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Parses every named frame under {@code src/test/resources/fixtures/} (format in its README.md). */
class PacketFixturesTest {
    @TestFactory
    Stream<DynamicTest> fixtures() throws IOException, URISyntaxException {
        Path dir = Path.of(PacketFixturesTest.class.getResource("/fixtures").toURI());
        List<Path> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.filter(p -> p.toString().endsWith(".pkt")).sorted().toList();
        }
        assertThat(files).hasSizeGreaterThanOrEqualTo(7);
        return files.stream().map(f -> DynamicTest.dynamicTest(f.getFileName().toString(), () -> check(f)));
    }

    static void check(Path file) throws Exception {
        ByteArrayOutputStream frame = new ByteArrayOutputStream();
        String expect = null;
        String meta = "";
        for (String raw : Files.readAllLines(file)) {
            String line = raw.contains("#") ? raw.substring(0, raw.indexOf('#')).strip() : raw.strip();
            if (line.startsWith("expect:")) {
                expect = line.substring(7).strip();
            } else if (line.startsWith("meta:")) {
                meta = line.substring(5).strip();
            } else if (!line.isEmpty()) {
                frame.writeBytes(HexFormat.of().parseHex(line.replace(" ", "")));
            }
        }
        byte[] bytes = frame.toByteArray();
        PacketMeta m = new PacketMeta();
        DropReason result = new PacketParser(PacketParser.VERIFY_IPV4_CHECKSUM | PacketParser.VERIFY_L4_CHECKSUM)
                .parse(MemorySegment.ofArray(bytes), 0, bytes.length, m);
        assertThat(result).as(file.getFileName().toString()).isEqualTo(DropReason.valueOf(expect));
        for (String pair : meta.isEmpty() ? new String[0] : meta.split("\\s+")) {
            String name = pair.substring(0, pair.indexOf('='));
            String want = pair.substring(pair.indexOf('=') + 1);
            Object got = PacketMeta.class.getMethod(name).invoke(m);
            assertThat(String.valueOf(got)).as("%s: %s", file.getFileName(), name).isEqualTo(normalize(want, got));
        }
        if (result == DropReason.OK) {
            Pcap4jAgreement.assertAgree(bytes);
        }
    }

    private static String normalize(String want, Object got) throws Exception {
        if (got instanceof Boolean) {
            return want;
        }
        if (want.chars().filter(c -> c == '.').count() == 3) {
            return String.valueOf(ByteBuffer.wrap(InetAddress.ofLiteral(want).getAddress()).getInt());
        }
        return String.valueOf(want.startsWith("0x") ? Long.parseLong(want.substring(2), 16) : Long.parseLong(want));
    }
}
