package dev.shunt.agent;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Pod records in {@code STATE/pods/NAME.json}, each written to a temporary file, fsynced and
 * renamed, so a killed agent leaves whole records only and a restarted one can adopt its pods.
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
        Path tmp = dir.resolve(pod.name() + ".json.tmp");
        try {
            Files.write(tmp, JSON.writeValueAsBytes(pod));
            try (FileChannel c = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                c.force(true);
            }
            Files.move(tmp, dir.resolve(pod.name() + ".json"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save pod " + pod.name(), e);
        }
    }

    void remove(String name) {
        try {
            Files.deleteIfExists(dir.resolve(name + ".json"));
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
