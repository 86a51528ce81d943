package dev.shunt.port;

/**
 * Per-port counters. Written only by the port's owning poll thread (plain increments) and read by
 * the control plane for {@code shunt stats}: a reader may see a value a few packets old, never a
 * torn one (aligned longs are written atomically on 64-bit JVMs).
 */
public final class PortCounters {
    long rxPackets;
    long rxBytes;
    long txPackets;
    long txBytes;
    long txDropped;
    long rxDropped;

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

    /** Frames the port could not send (ring full, rejected by the kernel). */
    public long txDropped() {
        return txDropped;
    }

    /** Frames the kernel reported lost before Shunt read them (ring overrun). */
    public long rxDropped() {
        return rxDropped;
    }

    public void countRx(int bytes) {
        rxPackets++;
        rxBytes += bytes;
    }

    public void countTx(int bytes) {
        txPackets++;
        txBytes += bytes;
    }

    public void countTxDropped() {
        txDropped++;
    }

    public void countRxDropped(long frames) {
        rxDropped += frames;
    }
}
