package dev.shunt.datapath;

import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * How long an idle flow lives, per protocol and TCP state, in the unit of the timestamps the caller
 * passes to {@link ConntrackTable} (typically {@link System#nanoTime()}, i.e. nanoseconds). Immutable;
 * {@link #with} returns a changed copy.
 *
 * <p>The defaults are the kernel's nf_conntrack sysctls ({@code net.netfilter.nf_conntrack_*_timeout*}).
 */
public final class ConntrackTimeouts {

    /** One configurable timeout, with the kernel's default in seconds. */
    public enum Kind {
        TCP_SYN_SENT(120),
        TCP_SYN_RECV(60),
        TCP_ESTABLISHED(432_000),
        TCP_FIN_WAIT(120),
        TCP_CLOSE_WAIT(60),
        TCP_LAST_ACK(30),
        TCP_TIME_WAIT(120),
        TCP_CLOSE(10),
        /** UDP while only the original direction has been seen ({@code nf_conntrack_udp_timeout}). */
        UDP_UNREPLIED(30),
        /** UDP once both directions have been seen ({@code nf_conntrack_udp_timeout_stream}). */
        UDP_REPLIED(120),
        ICMP(30),
        /** Any other protocol ({@code nf_conntrack_generic_timeout}). */
        OTHER(600);

        final long defaultSeconds;

        Kind(long defaultSeconds) {
            this.defaultSeconds = defaultSeconds;
        }

        public Duration kernelDefault() {
            return Duration.ofSeconds(defaultSeconds);
        }
    }

    // Slots of the hot-path table: [0, TcpState.COUNT) by TCP state, then these.
    static final int SLOT_UDP_UNREPLIED = TcpState.COUNT;
    static final int SLOT_UDP_REPLIED = TcpState.COUNT + 1;
    static final int SLOT_ICMP = TcpState.COUNT + 2;
    static final int SLOT_OTHER = TcpState.COUNT + 3;
    static final int SLOTS = TcpState.COUNT + 4;

    private final TimeUnit unit;
    private final long[] ticks; // by Kind.ordinal()
    private final long[] hot; // by slot()

    private ConntrackTimeouts(TimeUnit unit, long[] ticks) {
        this.unit = unit;
        this.ticks = ticks;
        this.hot = buildHotTable();
    }

    /** The kernel's defaults, expressed in {@code unit}. */
    public static ConntrackTimeouts kernelDefaults(TimeUnit unit) {
        long[] ticks = new long[Kind.values().length];
        for (Kind kind : Kind.values()) {
            ticks[kind.ordinal()] = unit.convert(kind.defaultSeconds, TimeUnit.SECONDS);
        }
        return new ConntrackTimeouts(unit, ticks);
    }

    /** A copy with {@code kind} set to {@code timeout} (converted to this unit, at least 1 tick). */
    public ConntrackTimeouts with(Kind kind, Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException(kind + " timeout must be positive, not " + timeout);
        }
        return withTicks(kind, Math.max(1, unit.convert(timeout)));
    }

    /** A copy with {@code kind} set to {@code ticks} of this unit. */
    public ConntrackTimeouts withTicks(Kind kind, long ticks) {
        if (ticks <= 0) {
            throw new IllegalArgumentException(kind + " timeout must be positive, not " + ticks + " " + unit);
        }
        long[] copy = this.ticks.clone();
        copy[kind.ordinal()] = ticks;
        return new ConntrackTimeouts(unit, copy);
    }

    public TimeUnit unit() {
        return unit;
    }

    /** The timeout of {@code kind} in ticks of {@link #unit()}. */
    public long ticks(Kind kind) {
        return ticks[kind.ordinal()];
    }

    /**
     * The flat table the fast path indexes: TCP by state (NONE counts as SYN_SENT), then UDP
     * unreplied/replied, ICMP, other. See {@link #slot}.
     */
    long[] hotTable() {
        return hot.clone();
    }

    private long[] buildHotTable() {
        long[] t = new long[SLOTS];
        t[TcpState.NONE] = ticks(Kind.TCP_SYN_SENT);
        t[TcpState.SYN_SENT] = ticks(Kind.TCP_SYN_SENT);
        t[TcpState.SYN_RECV] = ticks(Kind.TCP_SYN_RECV);
        t[TcpState.ESTABLISHED] = ticks(Kind.TCP_ESTABLISHED);
        t[TcpState.FIN_WAIT] = ticks(Kind.TCP_FIN_WAIT);
        t[TcpState.CLOSE_WAIT] = ticks(Kind.TCP_CLOSE_WAIT);
        t[TcpState.LAST_ACK] = ticks(Kind.TCP_LAST_ACK);
        t[TcpState.TIME_WAIT] = ticks(Kind.TCP_TIME_WAIT);
        t[TcpState.CLOSE] = ticks(Kind.TCP_CLOSE);
        t[SLOT_UDP_UNREPLIED] = ticks(Kind.UDP_UNREPLIED);
        t[SLOT_UDP_REPLIED] = ticks(Kind.UDP_REPLIED);
        t[SLOT_ICMP] = ticks(Kind.ICMP);
        t[SLOT_OTHER] = ticks(Kind.OTHER);
        return t;
    }

    /** The {@link #hotTable} slot of a flow. */
    static int slot(int protocol, int tcpState, boolean seenReply) {
        return switch (protocol) {
            case ConntrackTable.IPPROTO_TCP -> tcpState;
            case ConntrackTable.IPPROTO_UDP -> seenReply ? SLOT_UDP_REPLIED : SLOT_UDP_UNREPLIED;
            case ConntrackTable.IPPROTO_ICMP -> SLOT_ICMP;
            default -> SLOT_OTHER;
        };
    }

    /** The timeout in ticks for a flow of {@code protocol} in {@code tcpState}. */
    public long timeout(int protocol, int tcpState, boolean seenReply) {
        return hot[slot(protocol, tcpState, seenReply)];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ConntrackTimeouts t && t.unit == unit && Arrays.equals(t.ticks, ticks);
    }

    @Override
    public int hashCode() {
        return unit.hashCode() * 31 + Arrays.hashCode(ticks);
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("ConntrackTimeouts[unit=").append(unit);
        for (Kind kind : Kind.values()) {
            s.append(", ").append(kind).append('=').append(Duration.of(ticks[kind.ordinal()], unit.toChronoUnit()));
        }
        return s.append(']').toString();
    }
}
