package dev.shunt.cli;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The packaged jar runs with {@code java -jar} alone: no classpath, no native-access flag, no warning. */
class ShuntJarIT {
    private static final Path JAR = Path.of("target", "shunt.jar");

    record Run(int exit, String out, String err) {}

    static Run javaJar(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), out, err);
    }

    @Test
    void versionRunsFromTheJarWithoutFlags() throws Exception {
        assertThat(JAR).exists();
        assertThat(Files.isDirectory(Path.of("target", "lib"))).isTrue();
        Run r = javaJar("--version");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("shunt 0.1.0");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void nativeCallsNeedNoFlagAndPrintNoWarning() throws Exception {
        Run r = javaJar("link", "list", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("\"name\" : \"lo\"");
        assertThat(r.err()).doesNotContain("WARNING").isEmpty();
    }

    @Test
    void badArgumentsExitTwo() throws Exception {
        Run r = javaJar("link", "lsit");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).startsWith("shunt: ").contains("Usage:");
    }
}
