package dev.shunt.datapath;

import javax.management.JMException;
import javax.management.ObjectName;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where C2 cuts the fast path into compile units: {@link dev.shunt.packet.PacketParser#parse} is
 * never inlined into {@link Pipeline}'s methods. Installed once per JVM, when {@link Pipeline} is
 * first used, as a compiler directive through the JVM's own diagnostic command
 * ({@code jcmd PID Compiler.directives_add}, here through its MBean: no JVM option needed).
 *
 * <p>Why: the per-packet path is larger than C2's inlining budget (18,000 IR nodes per unit, and
 * each segment access costs 600-1,200), and its per-packet methods are called equally often, so
 * which one C2 compiles first is a race. Some orders cut the path inside a memory access, which
 * then stays a real call per packet: 70-80 ns per packet instead of 61-65. An inlined parse also
 * doubles the IR of everything after it. With the parse kept out, the rest of the path fits one
 * unit in most orders (not all: C2 may still compile a callee such as {@code ipv4} first); measured
 * in interleaved JMH runs, 10 forks each: median 63.5 ns (61.8-65.8) against 66.3 (61.7-73.0).
 * See benchmarks/PIPELINE-RESULTS.md, session 6.
 *
 * <p>The directive matches only compilations of {@link Pipeline}'s own methods, so nothing else
 * in the JVM is affected. Without the management module or with directives refused, the fast
 * path works the same, only without the pinned cut: {@link #outcome()} says which.
 */
public final class PipelineCompilation {
    /** The directive (HotSpot's compiler-directive JSON). */
    static final String DIRECTIVE = """
            [{
              match: "dev/shunt/datapath/Pipeline.*",
              c2: { inline: "-dev/shunt/packet/PacketParser.parse" }
            }]
            """;

    private static final String OUTCOME = install();

    private PipelineCompilation() {}

    /** What installing the directive answered ("1 compiler directives added"), or why it failed. */
    public static String outcome() {
        return OUTCOME;
    }

    /** Loads this class, which installs the directive once per JVM (class loader). */
    static void ensureInstalled() {
        // The static initializer did the work; nothing else to do.
    }

    private static String install() {
        Path file = null;
        try {
            file = Files.createTempFile("shunt-compiler-directive-", ".json");
            Files.writeString(file, DIRECTIVE);
            Object answer = ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "compilerDirectivesAdd",
                    new Object[] {new String[] {file.toString()}}, new String[] {String[].class.getName()});
            String text = String.valueOf(answer).strip();
            return text.startsWith("1 compiler directives added") ? text : "not installed: " + text;
        } catch (IOException | JMException | RuntimeException | LinkageError e) {
            return "not installed: " + e;
        } finally {
            if (file != null) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException ignored) {
                    // A temporary file left in /tmp is harmless.
                }
            }
        }
    }
}
