package dev.shunt.datapath;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * The next {@code count} frames one port receives and sends, copied by the poll thread into a
 * buffer allocated up front and laid out as the records of a classic pcap file, so that writing
 * the file is one header plus one copy.
 *
 * <p>The pcap format (the one tcpdump -w writes, "libpcap format"): a 24-byte global header (magic
 * 0xa1b2c3d4 in the writer's byte order, version 2.4, this zone 0, sigfigs 0, snaplen, link type 1
 * = Ethernet), then per frame a 16-byte record header (seconds, microseconds, captured length,
 * original length) and the captured bytes. Shunt writes little-endian; readers detect the order
 * from the magic.
 *
 * <p>Threads: {@link #record} runs on the poll thread only and never allocates; it publishes its
 * progress (frames and bytes, packed in one long) with a volatile write after each record, so the
 * control plane's {@link #writeTo} sees whole records only. A frame arriving after the capture is
 * complete is ignored.
 */
public final class PacketCapture {
    public static final int GLOBAL_HEADER_SIZE = 24;
    public static final int RECORD_HEADER_SIZE = 16;
    public static final int MAGIC = 0xa1b2c3d4;
    public static final int LINKTYPE_ETHERNET = 1;
    /** The buffer is allocated whole when the capture starts: refuse what would not fit comfortably. */
    public static final long MAX_BUFFER_BYTES = 256L << 20;
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final int portId;
    private final int count;
    private final int snaplen;
    private final MemorySegment records;
    /** Wall-clock nanoseconds minus System.nanoTime(), for the records' timestamps. */
    private final long wallMinusMonotonic;
    private int frames;
    private int bytes;
    private volatile long progress;

    /**
     * @param portId  the fast-path port whose frames (both directions) are recorded
     * @param count   how many frames
     * @param snaplen at most this many bytes of each frame are kept (the record says the original length)
     */
    public PacketCapture(int portId, int count, int snaplen) {
        if (count < 1) {
            throw new IllegalArgumentException("a capture needs a frame count of at least 1, not " + count);
        }
        if (snaplen < 64 || snaplen > 262144) {
            throw new IllegalArgumentException("snaplen " + snaplen + " is outside 64-262144");
        }
        long size = (long) count * (RECORD_HEADER_SIZE + snaplen);
        if (size > MAX_BUFFER_BYTES) {
            throw new IllegalArgumentException(count + " frames of up to " + snaplen + " bytes need " + (size >> 20)
                    + " MiB, more than the " + (MAX_BUFFER_BYTES >> 20) + " MiB a capture may take; capture fewer or a smaller snaplen");
        }
        this.portId = portId;
        this.count = count;
        this.snaplen = snaplen;
        this.records = MemorySegment.ofArray(new byte[(int) size]);
        Instant wall = Instant.now();
        this.wallMinusMonotonic = wall.getEpochSecond() * 1_000_000_000L + wall.getNano() - System.nanoTime();
    }

    /** Poll thread: records the frame if it crossed this capture's port and the capture is not complete. */
    void record(int port, MemorySegment frame, long offset, int length, long nowNanos) {
        if (port != portId || frames >= count) {
            return;
        }
        int kept = Math.min(length, snaplen);
        long wall = nowNanos + wallMinusMonotonic;
        records.set(LE_INT, bytes, (int) (wall / 1_000_000_000L));
        records.set(LE_INT, bytes + 4, (int) (wall % 1_000_000_000L / 1000));
        records.set(LE_INT, bytes + 8, kept);
        records.set(LE_INT, bytes + 12, length);
        MemorySegment.copy(frame, offset, records, bytes + RECORD_HEADER_SIZE, kept);
        bytes += RECORD_HEADER_SIZE + kept;
        frames++;
        progress = (long) frames << 32 | bytes;
    }

    public int portId() {
        return portId;
    }

    public int count() {
        return count;
    }

    /** Frames recorded so far. */
    public int captured() {
        return (int) (progress >>> 32);
    }

    public boolean isComplete() {
        return captured() >= count;
    }

    /** Writes the frames recorded so far as a pcap file (replacing {@code file}); returns how many. */
    public int writeTo(Path file) throws IOException {
        long seen = progress;
        int n = (int) (seen >>> 32);
        int length = (int) seen;
        ByteBuffer header = ByteBuffer.allocate(GLOBAL_HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        header.putInt(MAGIC).putShort((short) 2).putShort((short) 4).putInt(0).putInt(0).putInt(snaplen)
                .putInt(LINKTYPE_ETHERNET).flip();
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            while (header.hasRemaining()) {
                out.write(header);
            }
            ByteBuffer body = records.asSlice(0, length).asByteBuffer();
            while (body.hasRemaining()) {
                out.write(body);
            }
        }
        return n;
    }
}
