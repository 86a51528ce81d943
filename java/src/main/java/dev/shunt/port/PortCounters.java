package dev.shunt.port;

/**
 * Per-port counters: traffic, and every frame a port lost with the reason. Written only by the
 * port's owning poll thread (plain increments) and read by the control plane for
 * {@code shunt stats}: a reader may see a value a few packets old, never a torn one (aligned longs
 * are written atomically on 64-bit JVMs).
 *
 * <p>{@link #rxDropped()} and {@link #txDropped()} are the totals; the reason counters below them
 * add up to those totals (rx: {@link #rxRingOverrun()} + {@link #rxTruncated()}; tx:
 * {@link #txRingFull()} + {@link #txInvalidLength()} + {@link #txWrongFormat()} +
 * {@link #txOffloadRefused()}).
 */
public final class PortCounters {
    long rxPackets;
    long rxBytes;
    long txPackets;
    long txBytes;
    long rxRingOverrun;
    long rxTruncated;
    long txRingFull;
    long txInvalidLength;
    long txWrongFormat;
    long txOffloadRefused;
    long txSendErrors;

    public long rxPackets() {
        return rxPackets;
    }

    public long rxBytes() {
        return rxBytes;
    }

    public long txPackets() {
        return txPackets;
    }

    public long txBytes() {
        return txBytes;
    }

    /** Frames the port could not send, all reasons. */
    public long txDropped() {
        return txRingFull + txInvalidLength + txWrongFormat + txOffloadRefused;
    }

    /** Frames lost on receive, all reasons. */
    public long rxDropped() {
        return rxRingOverrun + rxTruncated;
    }

    /** Frames the kernel dropped because the RX ring had no room (PACKET_STATISTICS tp_drops). */
    public long rxRingOverrun() {
        return rxRingOverrun;
    }

    /** Frames longer than a ring slot (snaplen below the wire length): handed back unread. */
    public long rxTruncated() {
        return rxTruncated;
    }

    /** Transmits refused because the next TX slot was still the kernel's. */
    public long txRingFull() {
        return txRingFull;
    }

    /** Transmits refused for their length (shorter than an Ethernet header or longer than a slot). */
    public long txInvalidLength() {
        return txInvalidLength;
    }

    /** Frames the kernel refused (TP_STATUS_WRONG_FORMAT, e.g. longer than the device MTU). */
    public long txWrongFormat() {
        return txWrongFormat;
    }

    /**
     * GSO frames refused by a port without a virtio-net header (it cannot segment them), or
     * checksum-partial frames whose csum_start/csum_offset lie outside the frame.
     */
    public long txOffloadRefused() {
        return txOffloadRefused;
    }

    /** TX kicks that failed with an error other than backpressure (the frames stay queued, not lost). */
    public long txSendErrors() {
        return txSendErrors;
    }

    public void countRx(int bytes) {
        rxPackets++;
        rxBytes += bytes;
    }

    public void countTx(int bytes) {
        txPackets++;
        txBytes += bytes;
    }

    /** A transmit refused for want of a free slot (in-memory ports: their TX capacity). */
    public void countTxDropped() {
        txRingFull++;
    }

    public void countRxDropped(long frames) {
        rxRingOverrun += frames;
    }
}
