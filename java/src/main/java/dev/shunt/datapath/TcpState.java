package dev.shunt.datapath;

import static dev.shunt.datapath.ConntrackDescriptor.FLAG_FIN_ORIGINAL;
import static dev.shunt.datapath.ConntrackDescriptor.FLAG_FIN_REPLY;

/**
 * The TCP states of a tracked connection and the transition function that moves between them: a
 * simplification of the kernel's {@code tcp_conntracks} table (nf_conntrack_proto_tcp.c) that is
 * exact enough to pick a timeout. It looks only at the SYN, ACK, FIN and RST bits and at which
 * direction sent them; it checks neither sequence numbers nor windows (the kernel's "be liberal"
 * mode), and, like {@code nf_conntrack_tcp_loose=1}, it picks up a connection seen mid-stream.
 *
 * <pre>
 *   NONE --SYN(orig)--> SYN_SENT --SYN+ACK(reply)--> SYN_RECV --ACK(orig)--> ESTABLISHED
 *   NONE --ACK--> ESTABLISHED                      (pick-up of a connection already open)
 *   ESTABLISHED --FIN(d)--> FIN_WAIT --ACK(other d)--> CLOSE_WAIT --FIN(other d)--> LAST_ACK
 *   FIN_WAIT --FIN(other d)--> LAST_ACK --ACK--> TIME_WAIT --SYN(orig)--> SYN_SENT (reuse)
 *   any --RST--> CLOSE --SYN(orig)--> SYN_SENT
 * </pre>
 *
 * States are small ints so the fast path stores them in a byte; {@link #name} is for display.
 */
public final class TcpState {
    private TcpState() {}

    /** No TCP packet accounted yet (or not TCP). */
    public static final int NONE = 0;
    public static final int SYN_SENT = 1;
    public static final int SYN_RECV = 2;
    public static final int ESTABLISHED = 3;
    public static final int FIN_WAIT = 4;
    public static final int CLOSE_WAIT = 5;
    public static final int LAST_ACK = 6;
    public static final int TIME_WAIT = 7;
    public static final int CLOSE = 8;
    public static final int COUNT = 9;

    // TCP header flag bits (byte 13 of the TCP header).
    public static final int TCP_FIN = 0x01;
    public static final int TCP_SYN = 0x02;
    public static final int TCP_RST = 0x04;
    public static final int TCP_PSH = 0x08;
    public static final int TCP_ACK = 0x10;

    private static final String[] NAMES = {
        "NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE"
    };

    public static String name(int state) {
        return state >= 0 && state < COUNT ? NAMES[state] : "STATE_" + state;
    }

    /** A connection in this state is closing or closed: a first choice for eviction. */
    public static boolean isClosing(int state) {
        return state >= FIN_WAIT;
    }

    /**
     * The state after a packet with {@code tcpFlags} travelling in {@code direction}
     * ({@link ConntrackTable#ORIGINAL} or {@link ConntrackTable#REPLY}); {@code entryFlags} are the
     * entry's flags before the packet (only its FIN bits are read). The caller records this
     * packet's FIN in the entry flags ({@link #finFlag}) and clears both FIN bits when the result
     * is {@link #SYN_SENT} (a new connection reusing the tuple).
     */
    public static int next(int state, int entryFlags, int tcpFlags, int direction) {
        if ((tcpFlags & TCP_RST) != 0) {
            return CLOSE;
        }
        boolean ack = (tcpFlags & TCP_ACK) != 0;
        if ((tcpFlags & TCP_SYN) != 0) {
            if (!ack) {
                boolean reusable = state == NONE || state == TIME_WAIT || state == CLOSE;
                return direction == ConntrackTable.ORIGINAL && reusable ? SYN_SENT : state;
            }
            return direction == ConntrackTable.REPLY && state == SYN_SENT ? SYN_RECV : state;
        }
        int thisFin = finFlag(direction);
        int otherFin = finFlag(direction ^ 1);
        if ((tcpFlags & TCP_FIN) != 0) {
            if (state >= LAST_ACK) {
                return state; // retransmitted FIN, or FIN after RST
            }
            if ((entryFlags & otherFin) != 0) {
                return LAST_ACK; // both sides have now closed
            }
            return state <= ESTABLISHED ? FIN_WAIT : state; // NONE/SYN_*: close of a picked-up or half-open flow
        }
        if (!ack) {
            return state;
        }
        return switch (state) {
            case NONE -> ESTABLISHED;
            case SYN_RECV -> direction == ConntrackTable.ORIGINAL ? ESTABLISHED : state;
            // The side that did not close acknowledges the other side's FIN.
            case FIN_WAIT -> (entryFlags & otherFin) != 0 && (entryFlags & thisFin) == 0 ? CLOSE_WAIT : state;
            case LAST_ACK -> TIME_WAIT;
            default -> state;
        };
    }

    /** The entry flag that records a FIN sent in {@code direction}. */
    public static int finFlag(int direction) {
        return direction == ConntrackTable.ORIGINAL ? FLAG_FIN_ORIGINAL : FLAG_FIN_REPLY;
    }
}
