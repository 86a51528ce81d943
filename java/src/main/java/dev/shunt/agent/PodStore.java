package dev.shunt.agent;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Pod records in {@code STATE/pods/NAME.json}, each replaced durably ({@link DurableFile}), so a
 * killed agent leaves whole records only and a restarted one can adopt its pods.
 */
final class PodStore {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path dir;

    PodStore(Path stateDir) {
        this.dir = stateDir.resolve("pods");
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir, e);
        }
    }

    void save(PodRecord pod) {
        try {
            DurableFile.replace(dir.resolve(pod.name() + ".json"), JSON.writeValueAsBytes(pod));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save pod " + pod.name(), e);
        }
    }

    void remove(String name) {
        try {
            DurableFile.delete(dir.resolve(name + ".json"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove pod record " + name, e);
        }
    }

    List<PodRecord> load() {
        List<PodRecord> pods = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList()) {
                pods.add(JSON.readValue(f.toFile(), PodRecord.class));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read pod records in " + dir, e);
        }
        return pods;
    }
}
