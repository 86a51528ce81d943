package dev.shunt.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code benchmarks/tools/jit_shapes.py}, the reader behind {@code jit-shapes.sh}, on a JMH output
 * and two compilation logs written the way JMH and HotSpot write them: the scores per fork
 * (including a last iteration whose score a teardown pushed onto the next line), the tier-4 units
 * of the pipeline with their node counts and the cuts that matter, a cut inside JDK code marked,
 * other classes and tier-3 compilations left out, and the forks grouped by shape.
 */
class JitShapesToolTest {
    private static final Path TOOL = Path.of("tools", "jit_shapes.py");

    private static final String JMH = """
            # Fork: 1 of 2
            # Warmup Iteration   1: 90.1 ns/op
            Iteration   1: 62.0 ns/op
            Iteration   2: 61.0 ns/op
            Iteration   3: 63.0 ns/op
            Iteration   4: 64.0 ns/op
            Iteration   5:\s
            something a teardown printed
            60.0 ns/op

            # Fork: 2 of 2
            Iteration   1: 75.0 ns/op
            Iteration   2: 73.0 ns/op
            Iteration   3: 74.0 ns/op
            """;

    /** A fork where frame was the first big unit (after a small helper) and was cut cleanly before translateAndForward. */
    private static final String CLEAN = """
            <compilation_log thread='7'>
            <task compile_id='10' method='dev.shunt.datapath.Pipeline frame (ILjava/lang/foreign/MemorySegment;JIJ)V' bytes='128' level='3'>
            <klass id='1' name='dev.shunt.datapath.Pipeline' flags='17'/>
            <method id='2' holder='1' name='translateAndForward' return='3' bytes='203'/>
            <call method='2' count='100'/>
            <inline_fail reason='NodeCountInliningCutoff'/>
            <parse_done nodes='999' live='900'/>
            </task>
            <task compile_id='11' method='dev.shunt.datapath.Pipeline ttlOk (I)Z' bytes='65' level='4'>
            <parse_done nodes='83' live='80'/>
            </task>
            <task compile_id='11' method='dev.shunt.datapath.Pipeline frame (ILjava/lang/foreign/MemorySegment;JIJ)V' bytes='128' level='4'>
            <klass id='1' name='dev.shunt.datapath.Pipeline' flags='17'/>
            <method id='2' holder='1' name='translateAndForward' return='3' bytes='203'/>
            <method id='4' holder='1' name='ttlOk' return='3' bytes='65'/>
            <parse method='4'>
            <parse_done nodes='4000' live='3900'/>
            </parse>
            <call method='2' count='100'/>
            <inline_fail reason='NodeCountInliningCutoff'/>
            <call method='4' count='100'/>
            <inline_fail reason='too big'/>
            <parse_done nodes='20951' live='17780'/>
            </task>
            <task compile_id='12' method='dev.shunt.packet.PacketParser parse (Ljava/lang/foreign/MemorySegment;)V' bytes='28' level='4'>
            <parse_done nodes='3000' live='2900'/>
            </task>
            <task compile_id='13' method='dev.shunt.datapath.Pipeline translateAndForward (I)V' bytes='203' level='4'>
            <parse_done nodes='9703' live='9186'/>
            </task>
            </compilation_log>
            """;

    /** A fork where ipv4 was compiled first and cut inside a memory access. */
    private static final String INSIDE = """
            <task compile_id='11' method='dev/shunt/datapath/Pipeline ipv4 (ILjava/lang/foreign/MemorySegment;JIJ)V' bytes='245' level='4'>
            <klass id='1' name='jdk/internal/misc/ScopedMemoryAccess' flags='17'/>
            <method id='2' holder='1' name='putLongUnaligned' return='3' bytes='20'/>
            <klass id='5' name='dev/shunt/datapath/Pipeline' flags='17'/>
            <method id='6' holder='5' name='ipv4' return='3' bytes='245'/>
            <call method='2' count='100'/>
            <inline_fail reason='NodeCountInliningCutoff'/>
            <parse_done nodes='18212' live='17415'/>
            </task>
            <task compile_id='12' method='dev/shunt/datapath/Pipeline frame (ILjava/lang/foreign/MemorySegment;JIJ)V' bytes='128' level='4'>
            <klass id='5' name='dev/shunt/datapath/Pipeline' flags='17'/>
            <method id='6' holder='5' name='ipv4' return='3' bytes='245'/>
            <call method='6' count='100'/>
            <inline_fail reason='already compiled into a big method'/>
            <parse_done nodes='4774' live='4526'/>
            </task>
            """;

    @Test
    void readsScoresUnitsAndCutsPerFork(@TempDir Path dir) throws Exception {
        Path jmh = Files.writeString(dir.resolve("jmh.out"), JMH);
        Path first = Files.writeString(dir.resolve("fork-1.xml"), CLEAN);
        Path second = Files.writeString(dir.resolve("fork-2.xml"), INSIDE);

        String out = run(jmh.toString(), first.toString(), second.toString());

        // Fork 1: median of 62, 61, 63, 64 and the 60 that the teardown's line pushed down.
        assertThat(out).contains("fork 1: 62.0 ns/op").contains("fork 2: 74.0 ns/op");
        assertThat(out).containsPattern("frame +20951 nodes  translateAndForward: NodeCountInliningCutoff\n")
                .containsPattern("translateAndForward +9703 nodes  -\n")
                .doesNotContain("PacketParser").doesNotContain("parse ").doesNotContain("999 nodes")
                .doesNotContain("too big");
        assertThat(out).containsPattern("ipv4 +18212 nodes  !putLongUnaligned: NodeCountInliningCutoff\n")
                .containsPattern("frame +4774 nodes  ipv4: already compiled into a big method\n");
        assertThat(out).containsPattern("ttlOk +83 nodes  -\n");
        assertThat(out).contains("1 x 62.0  frame first{translateAndForward: NodeCountInliningCutoff}")
                .contains("1 x 74.0  ipv4 first{!putLongUnaligned: NodeCountInliningCutoff}");
        assertThat(out.indexOf("1 x 62.0")).isLessThan(out.indexOf("1 x 74.0"));
    }

    @Test
    void anotherClassCanBeChosen(@TempDir Path dir) throws Exception {
        Path jmh = Files.writeString(dir.resolve("jmh.out"), JMH);
        Path first = Files.writeString(dir.resolve("fork-1.xml"), CLEAN);

        String out = run(jmh.toString(), first.toString(), "--class", "PacketParser$");

        // The only unit is smaller than a big one, so it names the shape itself.
        assertThat(out).containsPattern("parse +3000 nodes  -\n").doesNotContain("frame ").contains("1 x 62.0  parse first{}");
    }

    @Test
    void withoutLogsItSaysHowToUseIt(@TempDir Path dir) throws Exception {
        Path jmh = Files.writeString(dir.resolve("jmh.out"), JMH);

        String out = exec(2, jmh.toString());

        assertThat(out).contains("usage: jit_shapes.py JMH_OUTPUT FORK_LOG...");
    }

    private static String run(String... args) throws IOException, InterruptedException {
        return exec(0, args);
    }

    /** Runs the tool with {@code args}; its output (stdout and stderr), after checking its exit status. */
    private static String exec(int expectedExit, String... args) throws IOException, InterruptedException {
        String[] command = new String[args.length + 2];
        command[0] = "python3";
        command[1] = TOOL.toString();
        System.arraycopy(args, 0, command, 2, args.length);
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isEqualTo(expectedExit);
        return out;
    }
}
