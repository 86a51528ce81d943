package dev.shunt.agent;

import dev.shunt.datapath.ConntrackDescriptor;
import dev.shunt.datapath.ConntrackTable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A table file written by an agent of another layout version is formatted anew at start, whether
 * its size gives it away (the version 1 layout of the same capacity is larger) or only its header
 * does; a file of this version is adopted with its flows.
 */
class ConntrackFileTest {
    static final int CAPACITY = 1000;

    @TempDir
    Path dir;

    @Test
    void aTableOfThisVersionIsAdopted() {
        Path path = dir.resolve("ct");
        try (ConntrackFile first = ConntrackFile.open(path, CAPACITY)) {
            assertThat(first.adopted()).isFalse();
            assertThat(first.outcome()).contains(": new");
            ConntrackTable t = first.table();
            t.insert(1, 2, 3, 4, ConntrackTable.IPPROTO_UDP, 2, 1, 4, 3, 0, -1, -1, System.nanoTime());
        }
        try (ConntrackFile second = ConntrackFile.open(path, CAPACITY)) {
            assertThat(second.adopted()).isTrue();
            assertThat(second.table().live()).isEqualTo(1);
            assertThat(second.outcome()).contains("1 flows, generation 1");
        }
    }

    @Test
    void aVersionOneFileOfTheOldSizeIsFormattedAnew() throws Exception {
        Path path = dir.resolve("ct");
        // Version 1: 96 bytes per entry (64 + 32 of counters), so a larger file for the same capacity.
        long v1Bytes = ConntrackDescriptor.entriesOffset(ConntrackDescriptor.indexSlots(CAPACITY)) + CAPACITY * 96L;
        writeHeader(path, v1Bytes, 1);
        try (ConntrackFile file = ConntrackFile.open(path, CAPACITY)) {
            assertThat(file.adopted()).isFalse();
            assertThat(file.outcome()).contains("replaced an unusable one (it has " + v1Bytes + " bytes");
            assertThat(file.table().live()).isZero();
        }
        assertThat(Files.size(path)).isEqualTo(ConntrackTable.bytesFor(CAPACITY));
    }

    @Test
    void aVersionOneHeaderInAFileOfTheRightSizeIsFormattedAnew() throws Exception {
        Path path = dir.resolve("ct");
        writeHeader(path, ConntrackTable.bytesFor(CAPACITY), 1);
        try (ConntrackFile file = ConntrackFile.open(path, CAPACITY)) {
            assertThat(file.adopted()).isFalse();
            assertThat(file.outcome()).contains("layout version 1, this agent reads version " + ConntrackDescriptor.VERSION);
            assertThat(file.table().generation()).isZero();
        }
    }

    /** A file of {@code bytes} whose header has the magic and {@code version} (what an older agent left). */
    private static void writeHeader(Path path, long bytes, int version) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(path.toFile(), "rw"); FileChannel ch = f.getChannel()) {
            f.setLength(bytes);
            ByteBuffer header = ByteBuffer.allocate(12).order(ByteOrder.nativeOrder());
            header.putLong(ConntrackDescriptor.MAGIC).putInt(version).flip();
            ch.write(header, 0);
        }
    }
}
