package dev.shunt.port;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.assertj.core.api.Assertions.assertThat;

class InMemoryPortTest {
    @Test
    void receivedFramesComeBackAsSlicesAndTransmitCopies() {
        InMemoryPort port = new InMemoryPort(3, "test", 4, 128);
        port.inject(new byte[] {1, 2, 3});
        port.inject(new byte[200]); // longer than a slot: cut to 128
        RxBatch batch = new RxBatch(8);
        assertThat(port.receive(batch)).isEqualTo(2);
        assertThat(batch.length(0)).isEqualTo(3);
        assertThat(batch.length(1)).isEqualTo(128);
        MemorySegment s = batch.segment();
        assertThat(s.get(ValueLayout.JAVA_BYTE, batch.offset(0) + 2)).isEqualTo((byte) 3);

        assertThat(port.transmit(s, batch.offset(0), batch.length(0))).isTrue();
        s.set(ValueLayout.JAVA_BYTE, batch.offset(0), (byte) 9); // the copy is already taken
        assertThat(port.sent()).isEmpty();
        port.flush();
        assertThat(port.sent()).hasSize(1);
        assertThat(port.sent().get(0)).containsExactly(1, 2, 3);
        assertThat(port.counters().rxPackets()).isEqualTo(2);
        assertThat(port.counters().txPackets()).isEqualTo(1);
        assertThat(port.counters().txBytes()).isEqualTo(3);
    }

    @Test
    void aFullTxQueueIsCountedNotBlocked() {
        InMemoryPort port = new InMemoryPort(1, "full");
        port.setTxCapacity(1);
        MemorySegment frame = MemorySegment.ofArray(new byte[60]);
        assertThat(port.transmit(frame, 0, 60)).isTrue();
        assertThat(port.transmit(frame, 0, 60)).isFalse();
        assertThat(port.counters().txDropped()).isEqualTo(1);
        assertThat(port.receive(new RxBatch(4))).isZero();
    }
}
