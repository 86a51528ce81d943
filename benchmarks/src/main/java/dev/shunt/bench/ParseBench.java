package dev.shunt.bench;

import dev.shunt.packet.DropReason;
import dev.shunt.packet.NatRewrites;
import dev.shunt.packet.PacketBuilder;
import dev.shunt.packet.PacketDescriptor;
import dev.shunt.packet.PacketMeta;
import dev.shunt.packet.PacketParser;
import dev.shunt.packet.TcpView;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The packet layer's per-packet costs on the fast path, on frames in native memory at a
 * non-zero offset (as in a TPACKET ring):
 *
 * <ul>
 *   <li>{@code parseTcp4}: a 74-byte TCP/IPv4 SYN with options, IPv4 header checksum verified
 *       (the parser's default);</li>
 *   <li>{@code parseUdp6}: a 100-byte UDP/IPv6 datagram behind a destination-options header;</li>
 *   <li>{@code natTcp4}: the DNAT step on the TCP/IPv4 frame: destination address and port
 *       rewritten, IPv4 and TCP checksums patched incrementally (RFC 1624). It alternates between
 *       two backends so the frame stays valid and every call writes.</li>
 * </ul>
 *
 * Run with {@code -prof gc}: every benchmark must show ~0 B/op, the fast path's no-allocation rule.
 */
public class ParseBench extends BenchmarkDefaults {

    @State(Scope.Thread)
    public static class Frames {
        static final long OFFSET = 130; // not 8-aligned, like a frame after a tpacket header
        Arena arena;
        MemorySegment ring;
        int tcp4Length;
        long udp6At;
        int udp6Length;
        final PacketParser parser = new PacketParser();
        final PacketMeta meta = new PacketMeta();
        long l3;
        long l4;
        boolean flip;

        @Setup(Level.Trial)
        public void setUp() {
            arena = Arena.ofConfined(); // one benchmark thread; a ring from sys would be mapped once, like this
            ring = arena.allocate(4096, 64);
            byte[] tcp4 = new PacketBuilder().ipv4("10.244.1.5", "10.96.0.10").tcp(40000, 80).tcpFlags(TcpView.SYN)
                    .tcpOptions(new byte[] {2, 4, 5, (byte) 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7})
                    .build();
            byte[] udp6 = new PacketBuilder().ipv6("fd00:244:1::5", "fd00:96::a").destinationOptions()
                    .udp(5353, 53).payload(new byte[38]).build();
            tcp4Length = tcp4.length;
            udp6At = 2048 + OFFSET;
            udp6Length = udp6.length;
            MemorySegment.copy(MemorySegment.ofArray(tcp4), 0, ring, OFFSET, tcp4Length);
            MemorySegment.copy(MemorySegment.ofArray(udp6), 0, ring, udp6At, udp6Length);
            check(parser.parse(ring, OFFSET, tcp4Length, meta), "tcp4");
            l3 = meta.l3Offset();
            l4 = meta.l4Offset();
            check(parser.parse(ring, udp6At, udp6Length, meta), "udp6");
        }

        private static void check(DropReason result, String what) {
            if (result != DropReason.OK) {
                throw new IllegalStateException(what + " frame does not parse: " + result);
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            // the NAT benchmark rewrote the frame many times: it must still be valid
            check(new PacketParser(PacketParser.VERIFY_IPV4_CHECKSUM | PacketParser.VERIFY_L4_CHECKSUM)
                    .parse(ring, OFFSET, tcp4Length, meta), "tcp4 after NAT");
            arena.close();
        }
    }

    @Benchmark
    public DropReason parseTcp4(Frames f) {
        return f.parser.parse(f.ring, Frames.OFFSET, f.tcp4Length, f.meta);
    }

    @Benchmark
    public DropReason parseUdp6(Frames f) {
        return f.parser.parse(f.ring, f.udp6At, f.udp6Length, f.meta);
    }

    @Benchmark
    public void natTcp4(Frames f) {
        boolean flip = f.flip = !f.flip;
        NatRewrites.ipv4Destination(f.ring, f.l3, f.l4, PacketDescriptor.IPPROTO_TCP,
                flip ? 0x0af40207 : 0x0af40308, false);
        NatRewrites.destinationPort(f.ring, f.l4, PacketDescriptor.IPPROTO_TCP, flip ? 8080 : 8443, false);
    }
}
