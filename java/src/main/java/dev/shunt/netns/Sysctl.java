package dev.shunt.netns;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads and writes sysctls under /proc/sys in the calling thread's network namespace: the kernel
 * resolves /proc/sys/net against the namespace of the task that opens the file, so run these
 * inside {@link NetworkNamespace#call}.
 */
public final class Sysctl {
    private static final Path PROC_SYS = Path.of("/proc/sys");

    private Sysctl() {}

    public static void write(String key, String value) {
        Path file = file(key);
        try {
            Files.writeString(file, value + "\n", StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            throw new NetnsException("no such sysctl: " + key + " (" + file + ")");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write sysctl " + key + " = " + value, e);
        }
    }

    public static String read(String key) {
        Path file = file(key);
        try {
            return Files.readString(file, StandardCharsets.US_ASCII).strip();
        } catch (NoSuchFileException e) {
            throw new NetnsException("no such sysctl: " + key + " (" + file + ")");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read sysctl " + key, e);
        }
    }

    /**
     * {@code net.ipv4.ip_forward} or {@code net/ipv4/ip_forward}. Use the slash form when a
     * component contains a dot, such as an interface name ({@code net/ipv4/conf/shunt.vx/rp_filter}).
     */
    static Path file(String key) {
        if (key == null || key.isBlank() || key.contains("..")) {
            throw new NetnsException("invalid sysctl name '" + key + "'");
        }
        String relative = key.contains("/") ? key : key.replace('.', '/');
        return PROC_SYS.resolve(relative);
    }
}
