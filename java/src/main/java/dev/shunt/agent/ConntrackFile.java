package dev.shunt.agent;

import dev.shunt.datapath.ConntrackFormat;
import dev.shunt.datapath.ConntrackTable;
import dev.shunt.datapath.ConntrackTimeouts;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;

/**
 * The fast path's connection table, mapped from a file on tmpfs so that its flows outlive the agent
 * process, as the kernel's conntrack outlives kube-proxy: a restarted agent adopts the file and
 * every established flow goes on with its NAT mapping (docs/conntrack.md).
 *
 * <p>The file lives in {@code /dev/shm}, not in the state directory: the table is written for every
 * packet and must never be synced to a disk, and tmpfs is emptied by a reboot, which is exactly
 * when the table's clock ({@link System#nanoTime()}, CLOCK_MONOTONIC: continuous across processes,
 * reset by a reboot) stops meaning anything. {@code /dev/shm} is tmpfs on Debian hosts and in
 * containers alike, where {@code /run} is not always (here it is a directory of the root file
 * system). The mapping is MAP_SHARED, so everything written is in the page cache the moment it is
 * written and survives a {@code kill -9}; only a reboot or a removal loses it.
 *
 * <p>An exclusive lock (fcntl, released by the kernel when the process dies) keeps a second agent
 * of the same node from mapping the table while the first one runs.
 */
final class ConntrackFile implements AutoCloseable {
    private static final TimeUnit CLOCK = TimeUnit.NANOSECONDS;

    private final Path path;
    private final FileChannel channel;
    private final FileLock lock;
    private final Arena arena;
    private final ConntrackTable table;
    private final String outcome;
    private final boolean adopted;

    private ConntrackFile(Path path, FileChannel channel, FileLock lock, Arena arena, ConntrackTable table,
                          boolean adopted, String outcome) {
        this.path = path;
        this.channel = channel;
        this.lock = lock;
        this.arena = arena;
        this.table = table;
        this.adopted = adopted;
        this.outcome = outcome;
    }

    /** Where node {@code node}'s table lives. */
    static Path defaultPath(String node) {
        return Path.of("/dev/shm", "shunt-" + node + "-conntrack");
    }

    /**
     * Maps {@code path}: adopts the table in it when it is one of this layout, capacity and clock
     * (repairing what a process killed in the middle of a change leaves), else formats a new one
     * over it. {@link #outcome()} says which, and why.
     */
    static ConntrackFile open(Path path, int capacity) {
        long bytes = ConntrackTable.bytesFor(capacity);
        FileChannel channel = null;
        Arena arena = null;
        try {
            Files.createDirectories(path.getParent());
            channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock = channel.tryLock();
            if (lock == null) {
                throw new IllegalStateException("the connection table " + path + " is locked by another process "
                        + "(is an agent for this node running already?)");
            }
            String tmpfs = onTmpfs(path) ? "" : " (warning: " + path.getParent() + " is not tmpfs)";
            long size = channel.size();
            String refused;
            if (size == 0) {
                refused = null;
            } else if (size != bytes) {
                refused = "it has " + size + " bytes, a table of " + capacity + " flows has " + bytes;
            } else {
                arena = Arena.ofShared();
                MemorySegment segment = channel.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
                try {
                    int live = ConntrackFormat.repair(segment, CLOCK);
                    ConntrackTable table = ConntrackTable.wrap(segment, ConntrackTimeouts.kernelDefaults(CLOCK));
                    return new ConntrackFile(path, channel, lock, arena, table, true,
                            "adopted " + path + tmpfs + ": " + live + " flows, generation " + table.generation());
                } catch (IllegalArgumentException e) {
                    refused = e.getMessage();
                    arena.close();
                    arena = null;
                }
            }
            // A fresh, sparse file: tmpfs gives zero pages, and only touched pages take memory.
            channel.truncate(0);
            arena = Arena.ofShared();
            MemorySegment segment = channel.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
            ConntrackTable table = ConntrackTable.format(segment, capacity, ConntrackTimeouts.kernelDefaults(CLOCK),
                    new SecureRandom().nextLong());
            String why = size == 0 ? "new" : "replaced an unusable one (" + refused + ")";
            return new ConntrackFile(path, channel, lock, arena, table, false,
                    "formatted " + path + tmpfs + " for " + capacity + " flows: " + why);
        } catch (IOException | RuntimeException e) {
            if (arena != null) {
                arena.close();
            }
            closeQuietly(channel);
            if (e instanceof IOException io) {
                throw new UncheckedIOException("cannot map the connection table " + path, io);
            }
            throw (RuntimeException) e;
        }
    }

    ConntrackTable table() {
        return table;
    }

    /** True if the flows were taken over from an earlier process. */
    boolean adopted() {
        return adopted;
    }

    /** One line for the log: adopted (how many flows) or formatted (and why). */
    String outcome() {
        return outcome;
    }

    Path path() {
        return path;
    }

    /** Unmaps and unlocks, leaving the file (and its flows) for the next agent. */
    @Override
    public void close() {
        arena.close();
        try {
            lock.release();
        } catch (IOException ignored) {
            // closing the channel below releases it as well
        }
        closeQuietly(channel);
    }

    /** Unmaps and removes the file: a graceful stop takes its flows with it. */
    void delete() {
        close();
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + path, e);
        }
    }

    private static boolean onTmpfs(Path path) {
        try {
            return Files.getFileStore(path).type().equals("tmpfs");
        } catch (IOException e) {
            return false;
        }
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // nothing to do: the descriptor is gone either way
            }
        }
    }
}
