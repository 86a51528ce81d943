package dev.shunt.datapath;

import javax.management.JMException;
import javax.management.ObjectName;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where C2 cuts the fast path into compile units: a few methods are never inlined into
 * {@link Pipeline}'s methods. Installed once per JVM, when {@link Pipeline} is first used, as a
 * compiler directive through the JVM's own diagnostic command
 * ({@code jcmd PID Compiler.directives_add}, here through its MBean: no JVM option needed).
 *
 * <p>Why: C2 stops inlining into a compile unit once it has created 18,000 IR nodes
 * (NodeCountInliningCutoff), and each memory access costs 600-1,200 of them. What it cuts after
 * that point stays a real call per packet, sometimes inside a memory access (70-80 ns per packet
 * instead of ~60 in session 6). The methods kept out are the ones the per-packet path reaches only
 * for unusual packets, but which the setup traffic (handshakes, new flows) makes warm enough for
 * C2 to inline:
 * <ul>
 *   <li>{@link dev.shunt.packet.PacketParser#parse}: the general path's parser; an inlined parse
 *       doubles the IR of everything after it (session 6: median 63.5 ns against 66.3).</li>
 *   <li>{@link Pipeline}'s {@code afterLookup} and {@code afterUpdate}: the established path's
 *       ways back to the general path (new flows, SYNs, packets too big), which hold all of it;
 *       and {@code missed}, its other per-packet branch (pod-to-pod traffic), which
 *       together with the tracked one does not fit one unit.</li>
 *   <li>{@link ConntrackTable}'s {@code transition} and {@code timeoutOf}: TCP state changes, off
 *       the steady state that nearly every packet of a connection is in.</li>
 * </ul>
 * So the established path ({@code Pipeline.established}: five frame reads, lookup, update, rewrite)
 * fits one unit (benchmarks/PIPELINE-RESULTS.md, session 7).
 *
 * <p>The directive matches only compilations of {@link Pipeline}'s own methods, so nothing else
 * in the JVM is affected. Without the management module or with directives refused, the fast
 * path works the same, only without the pinned cuts: {@link #outcome()} says which.
 */
public final class PipelineCompilation {
    /** The directive (HotSpot's compiler-directive JSON). */
    static final String DIRECTIVE = """
            [{
              match: "dev/shunt/datapath/Pipeline.*",
              c2: { inline: ["-dev/shunt/packet/PacketParser.parse", "-dev/shunt/datapath/Pipeline.afterLookup",
                             "-dev/shunt/datapath/Pipeline.afterUpdate", "-dev/shunt/datapath/Pipeline.missed",
                             "-dev/shunt/datapath/ConntrackTable.transition", "-dev/shunt/datapath/ConntrackTable.timeoutOf"] }
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
