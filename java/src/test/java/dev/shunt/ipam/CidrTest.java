package dev.shunt.ipam;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.math.BigInteger;
import java.net.InetAddress;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CidrTest {
    @Test
    void parsesIpv4AndIpv6() {
        Cidr v4 = Cidr.parse("10.244.1.0/24");
        assertThat(v4.isIpv4()).isTrue();
        assertThat(v4.size()).isEqualTo(BigInteger.valueOf(256));
        assertThat(v4.toString()).isEqualTo("10.244.1.0/24");
        Cidr v6 = Cidr.parse("FD00:244:1:0::/64");
        assertThat(v6.isIpv4()).isFalse();
        assertThat(v6.size()).isEqualTo(BigInteger.ONE.shiftLeft(64));
        assertThat(v6.toString()).isEqualTo("fd00:244:1::/64");
        assertThat(Cidr.parse("0.0.0.0/0").size()).isEqualTo(BigInteger.ONE.shiftLeft(32));
        assertThat(Cidr.parse("10.0.0.7/32").size()).isEqualTo(BigInteger.ONE);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "10.244.1.0/33|prefix length 33 is longer than 32 bits",
            "10.244.1.5/24|has host bits set; the network is 10.244.1.0/24 (write that instead)",
            "fd00::1/64|has host bits set; the network is fd00::/64",
            "10.244.1.0|is not a CIDR",
            "10.244.1.0/|invalid prefix length ''",
            "10.244.1.0/-1|invalid prefix length '-1'",
            "10.256.1.0/24|is not an IPv4 or IPv6 address",
            "example.com/24|is not an IPv4 or IPv6 address",
            "fd00::/129|prefix length 129 is longer than 128 bits"})
    void refusesBadInputWithAClearMessage(String text, String message) {
        assertThatThrownBy(() -> Cidr.parse(text))
                .isInstanceOfSatisfying(IpamException.class, e -> assertThat(e.cniCode()).isEqualTo(7))
                .hasMessageContaining(message);
    }

    @Test
    void lenientParsingKeepsHostBitsWhenAskedTo() {
        Cidr c = Cidr.parseLenient("10.244.1.5/24");
        assertThat(c.network().getHostAddress()).isEqualTo("10.244.1.5");
        assertThat(c.masked()).isEqualTo(Cidr.parse("10.244.1.0/24"));
    }

    @Test
    void containsAndNthAddress() throws Exception {
        Cidr c = Cidr.parse("10.244.1.0/24");
        assertThat(c.contains(InetAddress.getByName("10.244.1.255"))).isTrue();
        assertThat(c.contains(InetAddress.getByName("10.244.2.0"))).isFalse();
        assertThat(c.contains(InetAddress.getByName("fd00::1"))).isFalse();
        assertThat(c.address(BigInteger.valueOf(5)).getHostAddress()).isEqualTo("10.244.1.5");
        assertThat(c.address(255L).getHostAddress()).isEqualTo("10.244.1.255");
        assertThat(c.lastAddress().getHostAddress()).isEqualTo("10.244.1.255");
        assertThatThrownBy(() -> c.address(256L)).isInstanceOf(IpamException.class).hasMessageContaining("outside 10.244.1.0/24");
        assertThatThrownBy(() -> c.address(BigInteger.valueOf(-1))).isInstanceOf(IpamException.class);
        Cidr v6 = Cidr.parse("fd00:244:1::/64");
        assertThat(Cidr.Addresses.format(v6.address(-2L))).isEqualTo("fd00:244:1:0:ffff:ffff:ffff:fffe");
        assertThat(v6.unsignedOffsetOf(v6.address(-2L))).isEqualTo(-2L);
        assertThat(Cidr.parse("10.0.0.0/8").overlaps(Cidr.parse("10.244.0.0/16"))).isTrue();
        assertThat(Cidr.parse("10.244.1.0/24").overlaps(Cidr.parse("10.244.2.0/24"))).isFalse();
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 7, 8, 16, 23, 24, 30, 31, 32})
    void nthAndOffsetAreInversesForRandomIpv4Offsets(int prefix) {
        Random random = new Random(prefix);
        for (int i = 0; i < 500; i++) {
            int raw = random.nextInt();
            Cidr c = Cidr.parseLenient(String.format("%d.%d.%d.%d/%d", raw >>> 24, (raw >>> 16) & 255, (raw >>> 8) & 255, raw & 255, prefix)).masked();
            long size = c.size().longValueExact();
            long offset = Math.floorMod(random.nextLong(), size);
            InetAddress a = c.address(offset);
            assertThat(c.contains(a)).isTrue();
            assertThat(c.unsignedOffsetOf(a)).isEqualTo(offset);
            assertThat(c.address(BigInteger.valueOf(offset))).isEqualTo(a);
        }
    }

    @Test
    void nthAndOffsetAreInversesForRandomIpv6Offsets() {
        Random random = new Random(6);
        for (int i = 0; i < 2000; i++) {
            byte[] raw = new byte[16];
            random.nextBytes(raw);
            int prefix = 64 + random.nextInt(65);
            Cidr c = new Cidr(Cidr.Addresses.of(raw), prefix).masked();
            long offset = prefix == 64 ? random.nextLong() : (prefix == 128 ? 0 : random.nextLong() & ((1L << (128 - prefix)) - 1));
            InetAddress a = c.address(offset);
            assertThat(c.contains(a)).isTrue();
            assertThat(c.unsignedOffsetOf(a)).isEqualTo(offset);
            assertThat(Cidr.Addresses.parse(Cidr.Addresses.format(a))).isEqualTo(a);
        }
    }
}
