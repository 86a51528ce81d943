package dev.shunt.datapath;

import org.junit.jupiter.api.Test;

import static dev.shunt.datapath.ConntrackDescriptor.FLAG_FIN_ORIGINAL;
import static dev.shunt.datapath.ConntrackDescriptor.FLAG_FIN_REPLY;
import static dev.shunt.datapath.ConntrackTable.ORIGINAL;
import static dev.shunt.datapath.ConntrackTable.REPLY;
import static dev.shunt.datapath.TcpState.*;
import static org.assertj.core.api.Assertions.assertThat;

class TcpStateTest {

    @Test
    void threeWayHandshake() {
        assertThat(next(NONE, 0, TCP_SYN, ORIGINAL)).isEqualTo(SYN_SENT);
        assertThat(next(SYN_SENT, 0, TCP_SYN, ORIGINAL)).as("retransmitted SYN").isEqualTo(SYN_SENT);
        assertThat(next(SYN_SENT, 0, TCP_SYN | TCP_ACK, REPLY)).isEqualTo(SYN_RECV);
        assertThat(next(SYN_RECV, 0, TCP_ACK, REPLY)).as("only the client's ACK completes it").isEqualTo(SYN_RECV);
        assertThat(next(SYN_RECV, 0, TCP_ACK, ORIGINAL)).isEqualTo(ESTABLISHED);
        assertThat(next(ESTABLISHED, 0, TCP_ACK | TCP_PSH, REPLY)).isEqualTo(ESTABLISHED);
    }

    @Test
    void synAckFromTheClientSideDoesNotAdvance() {
        assertThat(next(SYN_SENT, 0, TCP_SYN | TCP_ACK, ORIGINAL)).isEqualTo(SYN_SENT);
    }

    @Test
    void clientClosesFirst() {
        int s = next(ESTABLISHED, 0, TCP_FIN | TCP_ACK, ORIGINAL);
        assertThat(s).isEqualTo(FIN_WAIT);
        int flags = FLAG_FIN_ORIGINAL;
        assertThat(next(s, flags, TCP_ACK, ORIGINAL)).as("the closer's own ACK").isEqualTo(FIN_WAIT);
        s = next(s, flags, TCP_ACK, REPLY);
        assertThat(s).isEqualTo(CLOSE_WAIT);
        s = next(s, flags, TCP_FIN | TCP_ACK, REPLY);
        assertThat(s).isEqualTo(LAST_ACK);
        flags |= FLAG_FIN_REPLY;
        assertThat(next(s, flags, TCP_FIN | TCP_ACK, REPLY)).as("retransmitted FIN").isEqualTo(LAST_ACK);
        s = next(s, flags, TCP_ACK, ORIGINAL);
        assertThat(s).isEqualTo(TIME_WAIT);
    }

    @Test
    void serverClosesFirstAndFinsCross() {
        int s = next(ESTABLISHED, 0, TCP_FIN | TCP_ACK, REPLY);
        assertThat(s).isEqualTo(FIN_WAIT);
        assertThat(next(s, FLAG_FIN_REPLY, TCP_FIN | TCP_ACK, ORIGINAL)).as("simultaneous close").isEqualTo(LAST_ACK);
        assertThat(next(s, FLAG_FIN_REPLY, TCP_ACK, ORIGINAL)).isEqualTo(CLOSE_WAIT);
    }

    @Test
    void rstClosesFromAnyStateAndSynReopens() {
        for (int s = NONE; s < COUNT; s++) {
            assertThat(next(s, 0, TCP_RST, s % 2)).isEqualTo(CLOSE);
            assertThat(next(s, 0, TCP_RST | TCP_ACK, ORIGINAL)).isEqualTo(CLOSE);
        }
        assertThat(next(CLOSE, 0, TCP_SYN, ORIGINAL)).isEqualTo(SYN_SENT);
        assertThat(next(TIME_WAIT, FLAG_FIN_ORIGINAL | FLAG_FIN_REPLY, TCP_SYN, ORIGINAL)).isEqualTo(SYN_SENT);
        assertThat(next(ESTABLISHED, 0, TCP_SYN, ORIGINAL)).as("a SYN inside a connection").isEqualTo(ESTABLISHED);
        assertThat(next(TIME_WAIT, 0, TCP_SYN, REPLY)).isEqualTo(TIME_WAIT);
    }

    @Test
    void picksUpAConnectionSeenMidStream() {
        assertThat(next(NONE, 0, TCP_ACK, ORIGINAL)).isEqualTo(ESTABLISHED);
        assertThat(next(NONE, 0, TCP_ACK, REPLY)).isEqualTo(ESTABLISHED);
        assertThat(next(NONE, 0, TCP_FIN | TCP_ACK, ORIGINAL)).isEqualTo(FIN_WAIT);
        assertThat(next(NONE, 0, 0, ORIGINAL)).as("no flags at all").isEqualTo(NONE);
    }

    @Test
    void namesAndClosingStates() {
        assertThat(name(ESTABLISHED)).isEqualTo("ESTABLISHED");
        assertThat(name(42)).isEqualTo("STATE_42");
        assertThat(isClosing(ESTABLISHED)).isFalse();
        assertThat(isClosing(FIN_WAIT)).isTrue();
        assertThat(isClosing(CLOSE)).isTrue();
    }
}
