package dev.shunt.agent;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Replaces a small state file so that a crash at any instant leaves either the old or the new
 * contents, never a mix: write a temporary file beside it, fsync it, rename it over the target,
 * fsync the directory (so the rename itself survives power loss).
 */
final class DurableFile {
    /** Temporary files end with this; loaders skip them (a crash may leave one). */
    static final String TEMP_SUFFIX = ".tmp";

    private DurableFile() {}

    static void replace(Path target, byte[] contents) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + TEMP_SUFFIX);
        Files.write(tmp, contents);
        try (FileChannel c = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            c.force(true);
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        syncDirectory(target.getParent());
    }

    /** Removes {@code target} (if there) durably. */
    static void delete(Path target) throws IOException {
        if (Files.deleteIfExists(target)) {
            syncDirectory(target.getParent());
        }
    }

    private static void syncDirectory(Path dir) throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }
}
