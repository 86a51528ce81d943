package dev.shunt.datapath;

import org.junit.jupiter.api.Test;

import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The fast path's compile plan: using {@link Pipeline} installs, once per JVM, a C2 directive that
 * keeps the parser, the established path's way back to the general path and the TCP state
 * changes out of the pipeline's compile units, and the JVM's own listing
 * of its directives ({@code jcmd PID Compiler.directives_print}, read through its MBean) shows it,
 * scoped to the pipeline's methods and to C2.
 */
class PipelineCompilationTest {
    @Test
    void usingThePipelineInstallsTheDirectiveOnce() throws Exception {
        new Pipeline(ConntrackTable.allocate(64), new AffinityTable(16), ForwardingTable.builder(0).build(), 1);

        assertThat(PipelineCompilation.outcome()).startsWith("1 compiler directives added");

        String listing = directives();
        String[] directives = listing.split("Directive:");
        long ours = 0;
        for (String directive : directives) {
            if (!directive.contains("matching: dev/shunt/datapath/Pipeline.*")) {
                continue;
            }
            ours++;
            int c2 = directive.indexOf("c2 directives:");
            assertThat(c2).isPositive();
            assertThat(directive.substring(c2)).contains("inline: -dev/shunt/packet/PacketParser.parse, "
                    + "-dev/shunt/datapath/Pipeline.afterLookup, -dev/shunt/datapath/Pipeline.afterUpdate, "
                    + "-dev/shunt/datapath/Pipeline.missed, -dev/shunt/datapath/ConntrackTable.transition, "
                    + "-dev/shunt/datapath/ConntrackTable.timeoutOf");
            assertThat(directive.substring(0, c2)).doesNotContain("PacketParser");
        }
        assertThat(ours).as(listing).isEqualTo(1);
        // Only the pipeline's compilations: the JVM's default directive still matches everything else.
        assertThat(listing).contains("matching: *.*");
    }

    @Test
    void aFreshJvmGetsTheDirectiveFromUsingThePipelineAlone() throws Exception {
        // Other tests in this JVM have loaded the pipeline already; a new JVM shows what using it does.
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), UsesPipeline.class.getName())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("before: no pipeline directive")
                .contains("after: matching: dev/shunt/datapath/Pipeline.*");
    }

    /** Run in its own JVM: the directive listing before and after constructing a pipeline. */
    static final class UsesPipeline {
        public static void main(String[] args) throws Exception {
            System.out.println("before: " + (directives().contains("dev/shunt/datapath/Pipeline") ? "pipeline directive present"
                    : "no pipeline directive"));
            new Pipeline(ConntrackTable.allocate(64), new AffinityTable(16), ForwardingTable.builder(0).build(), 1);
            String after = directives();
            System.out.println("after: " + (after.contains("matching: dev/shunt/datapath/Pipeline.*")
                    ? "matching: dev/shunt/datapath/Pipeline.*" : after));
        }
    }

    private static String directives() throws Exception {
        return String.valueOf(ManagementFactory.getPlatformMBeanServer().invoke(
                new ObjectName("com.sun.management:type=DiagnosticCommand"), "compilerDirectivesPrint",
                new Object[] {new String[0]}, new String[] {String[].class.getName()}));
    }
}
