package dev.shunt.ipam;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;

/**
 * Durable IPAM: pools and allocations in a directory, safe against {@code kill -9} at any instant
 * and against power loss, shared by any number of processes.
 *
 * <p>Every change is one appended, checksummed line in {@code log.GEN}, synced with fdatasync
 * before the call returns: an allocation the caller has seen is on disk. A crash can leave at most
 * one unacknowledged, partly written line at the end of the log; it fails its checksum (or lacks
 * its newline) and is cut off on the next open. When the log grows past a threshold it is compacted
 * into {@code state} (written to {@code state.tmp}, synced, renamed over, directory synced) under
 * the next generation, so replay never applies a record twice. Processes serialise on an fcntl
 * lock of {@code lock}; each re-reads what others appended before it acts. The format is described
 * in {@code package-info}.
 */
public final class IpamStore implements AutoCloseable {
    static final int DEFAULT_COMPACT_AFTER = 4096;
    private static final Duration LOCK_TIMEOUT = Duration.ofSeconds(30);
    /** fcntl locks are per process: threads of one JVM serialise here first. */
    private static final Map<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();

    private final Path dir;
    private final int compactAfter;
    private final ReentrantLock jvmLock;
    private final FileChannel lockFile;

    private IpamState state;
    private long generation = -1;
    private Object stateFileKey;
    private FileChannel log;
    private long logConsumed;
    private long logRecords;
    private long fsyncs;

    private IpamStore(Path dir, int compactAfter) {
        this.dir = dir;
        this.compactAfter = compactAfter;
        this.jvmLock = JVM_LOCKS.computeIfAbsent(dir, d -> new ReentrantLock());
        try {
            Files.createDirectories(dir);
            this.lockFile = FileChannel.open(dir.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw io("cannot open IPAM store " + dir, e);
        }
    }

    /** Opens (creating if needed) the store in {@code dir}. */
    public static IpamStore open(Path dir) {
        return open(dir, DEFAULT_COMPACT_AFTER);
    }

    static IpamStore open(Path dir, int compactAfter) {
        IpamStore store = new IpamStore(dir.toAbsolutePath().normalize(), compactAfter);
        try {
            store.locked(() -> null);
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
        return store;
    }

    public Path directory() {
        return dir;
    }

    /** Defines a pool with reserved ranges; idempotent for the same definition. */
    public void definePool(Cidr cidr, List<AddressRange> reserved) {
        locked(() -> {
            if (state.needsDefinition(cidr, reserved)) {
                append(List.of(new StoreRecord.Pool(cidr, List.copyOf(reserved))));
                state.definePool(cidr, reserved);
                maybeCompact();
            }
            return null;
        });
    }

    /**
     * The owner's address from {@code pool}: the one it already holds (idempotent), or the next
     * free one, durably recorded before this returns. The pool is defined (without reserved
     * ranges) if the store has not seen it yet.
     */
    public Allocation allocate(Cidr pool, Owner owner) {
        return locked(() -> {
            List<StoreRecord> records = new ArrayList<>(2);
            if (state.needsDefinition(pool, List.of())) {
                records.add(new StoreRecord.Pool(pool, List.of()));
                state.definePool(pool, List.of());
            }
            IpamState.Planned planned = state.planAllocate(pool, owner);
            if (planned.isNew()) {
                records.add(new StoreRecord.Alloc(planned.allocation()));
            }
            if (!records.isEmpty()) {
                append(records);
            }
            if (planned.isNew()) {
                state.applyAllocate(planned.allocation());
            }
            maybeCompact();
            return planned.allocation();
        });
    }

    /** Releases what {@code owner} holds; an unknown owner is not an error (CNI DEL semantics). */
    public List<Allocation> release(Owner owner) {
        return locked(() -> releaseAll(List.copyOf(state.allocationsOf(owner))));
    }

    /** Releases every interface's addresses of one container. */
    public List<Allocation> releaseContainer(String containerId) {
        return locked(() -> {
            List<Allocation> held = new ArrayList<>();
            state.allAllocations().forEach((owner, list) -> {
                if (owner.containerId().equals(containerId)) {
                    held.addAll(list);
                }
            });
            return releaseAll(held);
        });
    }

    /**
     * Releases everything whose owner is not live (the CNI GC verb). A live entry is a container
     * id (all its interfaces stay) or {@code ID/IFNAME} (that attachment stays).
     */
    public List<Allocation> gc(Collection<String> live) {
        Set<String> keep = Set.copyOf(live);
        return locked(() -> {
            List<Allocation> dead = new ArrayList<>();
            state.allAllocations().forEach((owner, list) -> {
                if (!keep.contains(owner.containerId()) && !keep.contains(owner.toString())) {
                    dead.addAll(list);
                }
            });
            return releaseAll(dead);
        });
    }

    /** Pools with their usage and holders, as of now. */
    public List<PoolUsage> usage() {
        return locked(() -> {
            List<PoolUsage> out = new ArrayList<>();
            for (AddressPool pool : state.pools()) {
                List<Allocation> held = new ArrayList<>();
                pool.holders().forEach((offset, owner) -> held.add(new Allocation(pool.cidr(), pool.address(offset), owner)));
                held.sort(Comparator.comparing(a -> new BigInteger(1, a.address().getAddress())));
                out.add(new PoolUsage(pool.cidr(), pool.reserved(), pool.capacity(), pool.used(), List.copyOf(held)));
            }
            return out;
        });
    }

    /** What {@code owner} holds now. */
    public List<Allocation> allocationsOf(Owner owner) {
        return locked(() -> List.copyOf(state.allocationsOf(owner)));
    }

    /** fdatasync/fsync calls made by this instance: the durability cost, for benchmarks. */
    public long fsyncCount() {
        return fsyncs;
    }

    @Override
    public void close() {
        // fcntl locks belong to the process: closing any descriptor of the lock file drops the lock
        // that another instance in this JVM may hold at this moment. Close only while no instance on
        // this directory is inside an operation.
        jvmLock.lock();
        try {
            if (log != null) {
                log.close();
            }
            lockFile.close();
        } catch (IOException e) {
            throw io("cannot close IPAM store " + dir, e);
        } finally {
            jvmLock.unlock();
        }
    }

    /**
     * Verifies a store without changing it: every line's checksum and syntax, no address held
     * twice, every address inside its pool and outside reserved ranges, at most one address per
     * family per owner. Returns the problems (empty = sound) and notes such as a cut-off last line.
     */
    public static CheckReport check(Path dir) {
        List<String> problems = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            problems.add(dir + " is not a directory");
            return new CheckReport(problems, notes, 0, 0);
        }
        IpamState checked = new IpamState();
        try {
            long gen = loadState(dir, checked);
            Path logPath = logPath(dir, gen);
            if (Files.exists(logPath)) {
                Replay replay = replayLog(logPath, gen, checked);
                if (replay.header() == -1) {
                    notes.add(logPath.getFileName() + " holds only " + replay.tornBytes() + " bytes of an unfinished header (a crash"
                            + " while the log was created, nothing was acknowledged in it); the next open rewrites it");
                } else if (replay.tornBytes() > 0) {
                    notes.add(logPath.getFileName() + " ends with " + replay.tornBytes()
                            + " bytes of an unfinished record (a write cut by a crash, never acknowledged); the next open drops it");
                }
            }
            try (Stream<Path> files = Files.list(dir)) {
                files.map(p -> p.getFileName().toString())
                        .filter(n -> n.startsWith("log.") && !n.equals(logPath.getFileName().toString()))
                        .forEach(n -> notes.add(n + " is an older generation left by an interrupted compaction; the next open removes it"));
            }
        } catch (IpamException e) {
            problems.add(e.getMessage());
        } catch (IOException e) {
            problems.add("cannot read " + dir + ": " + e.getMessage());
        }
        long pools = checked.pools().size();
        long allocations = checked.allAllocations().values().stream().mapToLong(List::size).sum();
        return new CheckReport(problems, notes, pools, allocations);
    }

    /** The outcome of {@link #check}. */
    public record CheckReport(List<String> problems, List<String> notes, long pools, long allocations) {
        public boolean ok() {
            return problems.isEmpty();
        }
    }

    /** One pool's usage. */
    public record PoolUsage(Cidr cidr, List<AddressRange> reserved, BigInteger capacity, long used, List<Allocation> allocations) {
        public BigInteger free() {
            return capacity.subtract(BigInteger.valueOf(used));
        }
    }

    // ---- locking, loading, appending ----

    private interface Work<T> {
        T run() throws IOException;
    }

    private <T> T locked(Work<T> work) {
        jvmLock.lock();
        try (FileLock ignored = acquireFileLock()) {
            refresh();
            return work.run();
        } catch (IOException e) {
            // Whatever was half done is either on disk (and will be read back) or not: reload.
            state = null;
            throw io("IPAM store " + dir + " failed", e);
        } catch (RuntimeException e) {
            // A refused request may have touched the in-memory state (e.g. defined a pool it then
            // found exhausted): the disk is the truth, read it again next time.
            state = null;
            throw e;
        } finally {
            jvmLock.unlock();
        }
    }

    private FileLock acquireFileLock() throws IOException {
        long deadline = System.nanoTime() + LOCK_TIMEOUT.toNanos();
        while (true) {
            try {
                FileLock lock = lockFile.tryLock();
                if (lock != null) {
                    return lock;
                }
            } catch (OverlappingFileLockException e) {
                // Another IpamStore instance on the same directory in this JVM: wait like for a process.
            }
            if (System.nanoTime() > deadline) {
                throw new IpamException(IpamException.Code.TRY_AGAIN_LATER, "IPAM store " + dir
                        + " is locked by another process for more than " + LOCK_TIMEOUT.toSeconds() + " s");
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IpamException(IpamException.Code.TRY_AGAIN_LATER, "interrupted while waiting for the IPAM store lock");
            }
        }
    }

    /** Brings the in-memory state up to date with what any process has written. */
    private void refresh() throws IOException {
        Object key = stateFileKey(dir);
        Path logPath = generation < 0 ? null : logPath(dir, generation);
        boolean current = state != null && Objects.equals(key, stateFileKey) && log != null && Files.exists(logPath);
        if (current) {
            long size = log.size();
            if (size == logConsumed) {
                return;
            }
            if (size > logConsumed) {
                Replay tail = replayFrom(log, logConsumed, state);
                logRecords += tail.records();
                logConsumed = tail.validEnd();
                if (tail.tornBytes() > 0) {
                    log.truncate(logConsumed);
                    log.force(false);
                    fsyncs++;
                }
                return;
            }
        }
        reload();
    }

    private void reload() throws IOException {
        if (log != null) {
            log.close();
            log = null;
        }
        IpamState fresh = new IpamState();
        long gen = loadState(dir, fresh);
        Path logPath = logPath(dir, gen);
        if (!Files.exists(logPath)) {
            writeNewFile(logPath, List.of(new StoreRecord.Header(StoreRecord.LOG_MAGIC, gen)));
        }
        FileChannel channel = FileChannel.open(logPath, StandardOpenOption.READ, StandardOpenOption.WRITE);
        Replay replay;
        try {
            replay = replayFrom(channel, 0, fresh);
            if (replay.header() == -1) {
                // Created but its header never completely written (a crash inside writeNewFile):
                // nothing was ever appended to it. Write the header again.
                channel.truncate(0);
                ByteBuffer header = ByteBuffer.wrap(StoreRecord.line(new StoreRecord.Header(StoreRecord.LOG_MAGIC, gen)));
                while (header.hasRemaining()) {
                    channel.write(header, header.position());
                }
                channel.force(false);
                fsyncs++;
                replay = new Replay(gen, 0, channel.size(), 0);
            }
            if (replay.header() != gen) {
                throw new IpamException(IpamException.Code.STORE_CORRUPT, logPath + " has generation " + replay.header()
                        + " but its name says " + gen);
            }
            if (replay.tornBytes() > 0) {
                channel.truncate(replay.validEnd());
                channel.force(false);
                fsyncs++;
            }
        } catch (RuntimeException | IOException e) {
            channel.close();
            throw e;
        }
        removeOlderLogs(gen);
        state = fresh;
        generation = gen;
        stateFileKey = stateFileKey(dir);
        log = channel;
        logConsumed = replay.validEnd();
        logRecords = replay.records();
    }

    private void append(List<StoreRecord> records) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(concat(records));
        long position = logConsumed;
        while (bytes.hasRemaining()) {
            position += log.write(bytes, position);
        }
        log.force(false); // fdatasync: the record and the new file length
        fsyncs++;
        logConsumed = position;
        logRecords += records.size();
        if (logRecords >= compactAfter) {
            // The records are durable in the log; apply them first, then compact the whole state.
            compactAfterApply = true;
        }
    }

    private boolean compactAfterApply;

    private List<Allocation> releaseAll(List<Allocation> allocations) throws IOException {
        if (allocations.isEmpty()) {
            return List.of();
        }
        List<StoreRecord> records = new ArrayList<>(allocations.size());
        for (Allocation a : allocations) {
            records.add(new StoreRecord.Release(a));
        }
        append(records);
        for (Allocation a : allocations) {
            state.applyRelease(a);
        }
        maybeCompact();
        return List.copyOf(allocations);
    }

    private void maybeCompact() throws IOException {
        if (compactAfterApply) {
            compactAfterApply = false;
            compact();
        }
    }

    /** Writes the whole state as generation+1, then starts an empty log of that generation. */
    private void compact() throws IOException {
        long next = generation + 1;
        List<StoreRecord> lines = new ArrayList<>();
        lines.add(new StoreRecord.Header(StoreRecord.STATE_MAGIC, next));
        for (AddressPool pool : state.pools()) {
            lines.add(new StoreRecord.Pool(pool.cidr(), pool.reserved()));
        }
        for (AddressPool pool : state.pools()) {
            pool.holders().forEach((offset, owner) -> lines.add(new StoreRecord.Alloc(new Allocation(pool.cidr(), pool.address(offset), owner))));
            if (pool.cursor() != -1) {
                lines.add(new StoreRecord.Cursor(pool.cidr(), pool.address(pool.cursor())));
            }
        }
        lines.add(new StoreRecord.End(lines.size()));
        Path tmp = dir.resolve("state.tmp");
        writeNewFile(tmp, lines);
        Files.move(tmp, dir.resolve("state"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        syncDirectory();
        Path nextLog = logPath(dir, next);
        Files.deleteIfExists(nextLog);
        writeNewFile(nextLog, List.of(new StoreRecord.Header(StoreRecord.LOG_MAGIC, next)));
        log.close();
        log = FileChannel.open(nextLog, StandardOpenOption.READ, StandardOpenOption.WRITE);
        Files.deleteIfExists(logPath(dir, generation));
        generation = next;
        stateFileKey = stateFileKey(dir);
        logConsumed = log.size();
        logRecords = 0;
    }

    private void writeNewFile(Path path, List<StoreRecord> lines) throws IOException {
        try (FileChannel out = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            ByteBuffer bytes = ByteBuffer.wrap(concat(lines));
            while (bytes.hasRemaining()) {
                out.write(bytes);
            }
            out.force(true);
            fsyncs++;
        }
        syncDirectory();
    }

    private void syncDirectory() throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
            fsyncs++;
        }
    }

    private void removeOlderLogs(long gen) throws IOException {
        String keep = logPath(dir, gen).getFileName().toString();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.toList()) {
                String name = p.getFileName().toString();
                if (name.startsWith("log.") && !name.equals(keep)) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private static byte[] concat(List<StoreRecord> records) {
        if (records.size() == 1) {
            return StoreRecord.line(records.get(0));
        }
        StringBuilder all = new StringBuilder();
        for (StoreRecord r : records) {
            all.append(new String(StoreRecord.line(r), StandardCharsets.US_ASCII));
        }
        return all.toString().getBytes(StandardCharsets.US_ASCII);
    }

    // ---- reading ----

    static Path logPath(Path dir, long generation) {
        return dir.resolve("log." + generation);
    }

    private static Object stateFileKey(Path dir) throws IOException {
        try {
            BasicFileAttributes a = Files.readAttributes(dir.resolve("state"), BasicFileAttributes.class);
            return List.of(Objects.requireNonNullElse(a.fileKey(), ""), a.lastModifiedTime(), a.size());
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** Loads {@code state} (if any) into {@code into}; returns its generation (0 without one). */
    private static long loadState(Path dir, IpamState into) throws IOException {
        Path path = dir.resolve("state");
        if (!Files.exists(path)) {
            return 0;
        }
        List<String> lines = splitLines(Files.readAllBytes(path), path, false).lines();
        if (lines.isEmpty()) {
            throw new IpamException(IpamException.Code.STORE_CORRUPT, path + " is empty");
        }
        if (!(StoreRecord.parse(lines.get(0)) instanceof StoreRecord.Header h) || !h.magic().equals(StoreRecord.STATE_MAGIC)) {
            throw new IpamException(IpamException.Code.STORE_CORRUPT, path + " does not start with a state header");
        }
        boolean ended = false;
        for (int i = 1; i < lines.size(); i++) {
            StoreRecord r = StoreRecord.parse(lines.get(i));
            if (ended) {
                throw new IpamException(IpamException.Code.STORE_CORRUPT, path + " has records after its end line");
            }
            switch (r) {
                case StoreRecord.Pool p -> into.definePool(p.cidr(), p.reserved());
                case StoreRecord.Alloc a -> into.applyAllocate(a.allocation());
                case StoreRecord.Cursor c -> into.setCursor(c.cidr(), c.address());
                case StoreRecord.End e -> {
                    if (e.records() != i) {
                        throw new IpamException(IpamException.Code.STORE_CORRUPT, path + " ends after " + i
                                + " records but says " + e.records());
                    }
                    ended = true;
                }
                default -> throw new IpamException(IpamException.Code.STORE_CORRUPT, path + " has a " + StoreRecord.text(r)
                        + " record, which belongs in a log");
            }
        }
        if (!ended) {
            throw new IpamException(IpamException.Code.STORE_CORRUPT, path + " has no end line");
        }
        return h.generation();
    }

    /** A replayed log: its header generation, records applied, the end of the last good line, torn tail size. */
    private record Replay(long header, long records, long validEnd, long tornBytes) {}

    private static Replay replayLog(Path path, long gen, IpamState into) throws IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            Replay r = replayFrom(channel, 0, into);
            if (r.header() != gen && r.header() != -1) {
                throw new IpamException(IpamException.Code.STORE_CORRUPT, path + " has generation " + r.header()
                        + " but its name says " + gen);
            }
            return r;
        }
    }

    /**
     * Applies the log's lines from byte {@code from} (0 = from the header). A final line without
     * its newline, or a final line whose checksum fails, is a torn write: reported, not applied.
     * A bad line anywhere else is corruption. A log that is nothing but a torn header (or empty) was
     * cut while it was being created: header -1, every byte torn.
     */
    private static Replay replayFrom(FileChannel channel, long from, IpamState into) throws IOException {
        long size = channel.size();
        ByteBuffer buffer = ByteBuffer.allocate((int) (size - from));
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, from + buffer.position()) < 0) {
                break;
            }
        }
        Lines split = splitLines(buffer.array(), null, true);
        List<String> lines = split.lines();
        long header = -1;
        long records = 0;
        long offset = from;
        long validEnd = from;
        long torn = split.unterminatedBytes();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            StoreRecord r;
            try {
                r = StoreRecord.parse(line);
            } catch (IpamException e) {
                if (i == lines.size() - 1 && torn == 0) {
                    torn = size - offset; // a complete-looking last line that fails its checksum
                    break;
                }
                throw e;
            }
            offset += line.length() + 1;
            if (from == 0 && i == 0) {
                if (!(r instanceof StoreRecord.Header h) || !h.magic().equals(StoreRecord.LOG_MAGIC)) {
                    throw new IpamException(IpamException.Code.STORE_CORRUPT, "log does not start with a log header");
                }
                header = h.generation();
            } else {
                switch (r) {
                    case StoreRecord.Pool p -> into.definePool(p.cidr(), p.reserved());
                    case StoreRecord.Alloc a -> into.applyAllocate(a.allocation());
                    case StoreRecord.Release rel -> into.applyRelease(rel.allocation());
                    default -> throw new IpamException(IpamException.Code.STORE_CORRUPT, "log has a "
                            + StoreRecord.text(r) + " record, which belongs in a state file");
                }
                records++;
            }
            validEnd = offset;
        }
        if (from == 0 && header == -1) {
            if (validEnd == 0 && torn == size) {
                return new Replay(-1, 0, 0, size);
            }
            throw new IpamException(IpamException.Code.STORE_CORRUPT, "log has no header (" + size + " bytes)");
        }
        return new Replay(header, records, validEnd, torn);
    }

    private record Lines(List<String> lines, long unterminatedBytes) {}

    private static Lines splitLines(byte[] bytes, Path path, boolean allowUnterminated) {
        List<String> lines = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == '\n') {
                lines.add(new String(bytes, start, i - start, StandardCharsets.US_ASCII));
                start = i + 1;
            }
        }
        long rest = bytes.length - start;
        if (rest > 0 && !allowUnterminated) {
            throw new IpamException(IpamException.Code.STORE_CORRUPT, path + " ends in the middle of a line");
        }
        return new Lines(lines, rest);
    }

    private static IpamException io(String what, IOException e) {
        return new IpamException(IpamException.Code.IO_FAILURE, what + ": " + e, e);
    }
}
