package dev.shunt.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.shunt.sys.PacketSocketDescriptor.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * PACKET_STATISTICS of one packet socket, read with getsockopt into native memory allocated once,
 * so reading never allocates. Reading <em>resets</em> the kernel's counters: each {@link #read}
 * returns what happened since the previous one. For TPACKET_V1/V2 the kernel reports
 * {@code tp_packets} with the drops already added in (af_packet.c: tp_packets += tp_drops); for
 * TPACKET_V3 likewise, plus {@code tp_freeze_q_cnt} (struct tpacket_stats_v3: how often the RX
 * ring was full of blocks still in user space).
 */
public final class PacketStatistics {
    private final Fd fd;
    private final MemorySegment stats;
    private final MemorySegment length;
    private long packets;
    private long drops;
    private long freezes;

    public PacketStatistics(Fd fd) {
        this.fd = fd;
        Arena arena = Arena.ofAuto();
        this.stats = arena.allocate(TPACKET_STATS_V3_SIZE, 4);
        this.length = arena.allocate(JAVA_INT);
    }

    /** getsockopt(PACKET_STATISTICS): fills {@link #packets()} and {@link #drops()} since the last read. */
    public void read() {
        int got = Sockets.getOption(fd, SOL_PACKET, PACKET_STATISTICS, stats, length);
        packets = Integer.toUnsignedLong(stats.get(JAVA_INT, STATS_PACKETS_OFFSET));
        drops = Integer.toUnsignedLong(stats.get(JAVA_INT, STATS_DROPS_OFFSET));
        freezes = got >= TPACKET_STATS_V3_SIZE ? Integer.toUnsignedLong(stats.get(JAVA_INT, STATS_FREEZE_Q_CNT_OFFSET)) : 0;
    }

    /** TPACKET_V3 only: times the kernel found every RX block in user space (queue frozen), between the last two reads. */
    public long freezes() {
        return freezes;
    }

    /** Frames the socket saw (delivered plus dropped) between the last two reads. */
    public long packets() {
        return packets;
    }

    /** Frames dropped because the ring (or the receive buffer) was full, between the last two reads. */
    public long drops() {
        return drops;
    }
}
