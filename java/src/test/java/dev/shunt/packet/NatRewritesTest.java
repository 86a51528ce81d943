package dev.shunt.packet;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.util.Random;

import static dev.shunt.packet.PacketDescriptor.IPPROTO_ICMP;
import static dev.shunt.packet.PacketDescriptor.IPPROTO_ICMPV6;
import static dev.shunt.packet.PacketDescriptor.IPPROTO_TCP;
import static dev.shunt.packet.PacketDescriptor.IPPROTO_UDP;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random packets, random NAT rewrites: the incrementally patched frame must equal, byte for
 * byte, the frame built from scratch with the new addresses and ports (so every checksum equals
 * a full recomputation), including UDP's zero rule and ICMP echo ids.
 */
class NatRewritesTest {
    static final int ITERATIONS = 30_000;

    record Flow(int version, int protocol, byte[] src, byte[] dst, int sport, int dport, byte[] data, boolean zeroUdp) {
        PacketBuilder builder() throws UnknownHostException {
            PacketBuilder b = new PacketBuilder();
            String s = InetAddress.getByAddress(src).getHostAddress();
            String d = InetAddress.getByAddress(dst).getHostAddress();
            if (version == 4) {
                b.ipv4(s, d);
            } else {
                b.ipv6(s, d);
            }
            switch (protocol) {
                case IPPROTO_TCP -> b.tcp(sport, dport);
                case IPPROTO_UDP -> b.udp(sport, dport);
                default -> b.icmpEcho(true, sport, 1);
            }
            if (zeroUdp) {
                b.zeroUdpChecksum();
            }
            return b.payload(data);
        }
    }

    static Flow randomFlow(Random r) {
        int version = r.nextBoolean() ? 4 : 6;
        int[] protocols = {IPPROTO_TCP, IPPROTO_UDP, version == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6};
        int protocol = protocols[r.nextInt(3)];
        byte[] data = new byte[r.nextInt(64)];
        r.nextBytes(data);
        return new Flow(version, protocol, address(r, version), address(r, version), r.nextInt(0x10000),
                r.nextInt(0x10000), data, protocol == IPPROTO_UDP && version == 4 && r.nextInt(4) == 0);
    }

    static byte[] address(Random r, int version) {
        byte[] a = new byte[version == 4 ? 4 : 16];
        r.nextBytes(a);
        return a;
    }

    @Test
    void rewritesEqualRebuiltFrames() throws Exception {
        Random r = new Random(0x5eed);
        PacketParser parser = new PacketParser();
        PacketMeta m = new PacketMeta();
        for (int i = 0; i < ITERATIONS; i++) {
            Flow f = randomFlow(r);
            Flow g = switch (r.nextInt(4)) {
                case 0 -> new Flow(f.version, f.protocol, f.src, address(r, f.version), f.sport, r.nextInt(0x10000), f.data, f.zeroUdp);
                case 1 -> new Flow(f.version, f.protocol, address(r, f.version), f.dst, r.nextInt(0x10000), f.dport, f.data, f.zeroUdp);
                case 2 -> new Flow(f.version, f.protocol, address(r, f.version), address(r, f.version), r.nextInt(0x10000),
                        r.nextInt(0x10000), f.data, f.zeroUdp);
                default -> forceUdpChecksumFfff(f, r);
            };
            byte[] frame = f.builder().build();
            MemorySegment s = MemorySegment.ofArray(frame);
            assertThat(parser.parse(s, 0, frame.length, m)).isEqualTo(DropReason.OK);
            rewrite(s, m, f, g, false);
            assertThat(frame).as("iteration %d: %s -> %s", i, f, g).isEqualTo(g.builder().build());
        }
    }

    /** A target flow whose UDP checksum computes to 0, so it must be sent (and patched) as 0xFFFF. */
    static Flow forceUdpChecksumFfff(Flow f, Random r) throws UnknownHostException {
        if (f.protocol != IPPROTO_UDP || f.zeroUdp || f.data.length < 2) {
            return new Flow(f.version, f.protocol, f.src, f.dst, f.sport, r.nextInt(0x10000), f.data, f.zeroUdp);
        }
        byte[] data = f.data.clone();
        data[0] = 0;
        data[1] = 0;
        Flow probe = new Flow(f.version, f.protocol, f.src, address(r, f.version), f.sport, f.dport, data, false);
        byte[] built = probe.builder().build();
        int l4 = built.length - data.length - 8;
        int c = NetworkOrder.u16(MemorySegment.ofArray(built), l4 + 6);
        data[0] = (byte) (c >>> 8);
        data[1] = (byte) c;
        Flow target = new Flow(f.version, f.protocol, f.src, probe.dst, f.sport, f.dport, data, false);
        byte[] t = target.builder().build();
        assertThat(NetworkOrder.u16(MemorySegment.ofArray(t), l4 + 6)).isEqualTo(0xFFFF);
        return target;
    }

    static void rewrite(MemorySegment s, PacketMeta m, Flow f, Flow g, boolean partial) {
        long l3 = m.l3Offset();
        long l4 = m.l4Offset();
        if (f.version == 4) {
            NatRewrites.ipv4Source(s, l3, l4, f.protocol, ByteBuffer.wrap(g.src).getInt(), partial);
            NatRewrites.ipv4Destination(s, l3, l4, f.protocol, ByteBuffer.wrap(g.dst).getInt(), partial);
        } else {
            ByteBuffer src = ByteBuffer.wrap(g.src);
            ByteBuffer dst = ByteBuffer.wrap(g.dst);
            NatRewrites.ipv6Source(s, l3, l4, f.protocol, src.getLong(), src.getLong(), partial);
            NatRewrites.ipv6Destination(s, l3, l4, f.protocol, dst.getLong(), dst.getLong(), partial);
        }
        NatRewrites.sourcePort(s, l4, f.protocol, g.sport, partial);
        NatRewrites.destinationPort(s, l4, f.protocol, g.dport, partial);
        if (!java.util.Arrays.equals(f.data, g.data)) {
            // forceUdpChecksumFfff changed two data bytes too: patch them like any 16-bit word
            int old = ((f.data[0] & 0xFF) << 8) | (f.data[1] & 0xFF);
            int now = ((g.data[0] & 0xFF) << 8) | (g.data[1] & 0xFF);
            NetworkOrder.setU16(s, m.payloadOffset(), now);
            long field = l4 + 6;
            NetworkOrder.setU16(s, field, Checksums.udpUpdate16(NetworkOrder.u16(s, field), old, now));
        }
    }

    @Test
    void partialChecksumFieldsFollowAddressesButNotPorts() throws Exception {
        Random r = new Random(77);
        PacketParser parser = new PacketParser();
        PacketMeta m = new PacketMeta();
        for (int i = 0; i < ITERATIONS / 3; i++) {
            Flow f = randomFlow(r);
            if (f.protocol != IPPROTO_TCP && f.protocol != IPPROTO_UDP || f.zeroUdp) {
                continue;
            }
            Flow g = new Flow(f.version, f.protocol, address(r, f.version), address(r, f.version), r.nextInt(0x10000),
                    r.nextInt(0x10000), f.data, false);
            byte[] frame = f.builder().build();
            MemorySegment s = MemorySegment.ofArray(frame);
            assertThat(parser.parse(s, 0, frame.length, m)).isEqualTo(DropReason.OK);
            long field = m.l4Offset() + Checksums.checksumField(f.protocol);
            int l4Length = (int) (m.l3End() - m.l4Offset());
            NetworkOrder.setU16(s, field, Checksums.partialSeed(pseudo(s, m, l4Length)));
            rewrite(s, m, f, g, true);
            assertThat(NetworkOrder.u16(s, field)).isEqualTo(Checksums.partialSeed(pseudo(s, m, l4Length)));
            // finishing it, as the NIC would, gives the checksum of the rebuilt frame
            int finished = Checksums.checksum(s, m.l4Offset(), l4Length);
            byte[] expected = g.builder().build();
            int want = NetworkOrder.u16(MemorySegment.ofArray(expected), field);
            assertThat(finished == 0 && f.protocol == IPPROTO_UDP ? 0xFFFF : finished).isEqualTo(want);
        }
    }

    static long pseudo(MemorySegment s, PacketMeta m, int l4Length) {
        return m.ipVersion() == 4 ? Checksums.pseudoHeaderSum4(s, m.l3Offset(), m.l4Protocol(), l4Length)
                : Checksums.pseudoHeaderSum6(s, m.l3Offset(), m.l4Protocol(), l4Length);
    }

    @Test
    void nonFirstFragmentRewritesOnlyTheIpHeader() {
        byte[] frame = new PacketBuilder().ipv4("10.0.0.1", "10.0.0.2").fragment(8, false).protocol(6)
                .payload(new byte[20]).build();
        MemorySegment s = MemorySegment.ofArray(frame);
        NatRewrites.ipv4Destination(s, 14, PacketMeta.ABSENT, 6, 0x0a000009, false);
        NatRewrites.destinationPort(s, PacketMeta.ABSENT, 6, 99, false);
        assertThat(new Ipv4View().wrap(s, 14).checksumValid()).isTrue();
        assertThat(frame).isEqualTo(new PacketBuilder().ipv4("10.0.0.1", "10.0.0.9").fragment(8, false).protocol(6)
                .payload(new byte[20]).build());
    }
    /**
     * The one-pass forwarding rewrite equals the four separate rewrites plus the TTL decrement,
     * byte for byte: random TCP/UDP IPv4 frames (options, zero UDP checksums, CHECKSUM_PARTIAL
     * fields), random TTLs, and tuples where any subset of addresses and ports changes.
     */
    @Test
    void forwardRewriteEqualsSeparateRewritesAndTtl() throws Exception {
        Random r = new Random(0xf0a4d);
        PacketParser parser = new PacketParser();
        PacketMeta m = new PacketMeta();
        for (int i = 0; i < ITERATIONS; i++) {
            int protocol = r.nextBoolean() ? IPPROTO_TCP : IPPROTO_UDP;
            byte[] data = new byte[r.nextInt(64)];
            r.nextBytes(data);
            int sport = r.nextInt(0x10000);
            int dport = r.nextInt(0x10000);
            PacketBuilder b = new PacketBuilder().ipv4(r.nextInt(), r.nextInt()).ttl(2 + r.nextInt(254)).payload(data);
            if (protocol == IPPROTO_TCP) {
                b.tcp(sport, dport);
            } else {
                b.udp(sport, dport);
                if (r.nextInt(4) == 0) {
                    b.zeroUdpChecksum();
                }
            }
            if (r.nextInt(8) == 0) {
                b.ipv4Options(new byte[] {1, 1, 1, 1}); // NOPs
            }
            byte[] frame = b.build();
            MemorySegment s = MemorySegment.ofArray(frame);
            assertThat(parser.parse(s, 0, frame.length, m)).isEqualTo(DropReason.OK);
            boolean partial = r.nextInt(4) == 0;
            if (partial) {
                int l4Length = (int) (m.l3End() - m.l4Offset());
                NetworkOrder.setU16(s, m.l4Offset() + Checksums.checksumField(protocol),
                        Checksums.partialSeed(pseudo(s, m, l4Length)));
            }
            int newSrc = r.nextBoolean() ? m.src4() : r.nextInt();
            int newDst = r.nextBoolean() ? m.dst4() : r.nextInt();
            int newSport = r.nextBoolean() ? sport : r.nextInt(0x10000);
            int newDport = r.nextBoolean() ? dport : r.nextInt(0x10000);

            byte[] expected = frame.clone();
            MemorySegment e = MemorySegment.ofArray(expected);
            long l3 = m.l3Offset();
            long l4 = m.l4Offset();
            NatRewrites.ipv4Source(e, l3, l4, protocol, newSrc, partial);
            NatRewrites.ipv4Destination(e, l3, l4, protocol, newDst, partial);
            NatRewrites.sourcePort(e, l4, protocol, newSport, partial);
            NatRewrites.destinationPort(e, l4, protocol, newDport, partial);
            new Ipv4View().wrap(e, l3).decrementTtl();

            NatRewrites.ipv4Forward(s, l3, l4, protocol, (long) m.src4() << 32 | (m.dst4() & 0xFFFF_FFFFL),
                    sport << 16 | dport, (long) newSrc << 32 | (newDst & 0xFFFF_FFFFL), newSport << 16 | newDport, partial);
            assertThat(frame).as("iteration %d", i).isEqualTo(expected);
            assertThat(new Ipv4View().wrap(s, l3).checksumValid()).isTrue();
        }
    }
}
