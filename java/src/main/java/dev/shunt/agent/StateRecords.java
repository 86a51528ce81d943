package dev.shunt.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.state.StateObject;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Desired-state objects the agent records without running them (nodes; pods of other nodes), in
 * {@code STATE/DIR/NAME.json}, one file per object, each replaced durably ({@link DurableFile}),
 * as {@link PodStore} and {@link ServiceStore} keep theirs. Loaded once; this object then holds
 * the current set. Not thread-safe (the agent serialises changes).
 */
final class StateRecords<T extends StateObject> {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path dir;
    private final Class<T> type;
    private final Map<String, T> records = new TreeMap<>();

    StateRecords(Path stateDir, String name, Class<T> type) {
        this.dir = stateDir.resolve(name);
        this.type = type;
        try {
            Files.createDirectories(dir);
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList()) {
                    T record = JSON.readValue(f.toFile(), type);
                    records.put(record.name(), record);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the " + name + " records in " + dir + ": " + e.getMessage(), e);
        }
    }

    Map<String, T> all() {
        return java.util.Collections.unmodifiableMap(records);
    }

    T get(String name) {
        return records.get(name);
    }

    void save(T record) {
        try {
            DurableFile.replace(dir.resolve(record.name() + ".json"), JSON.writeValueAsBytes(record));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save " + record.path(), e);
        }
        records.put(record.name(), record);
    }

    void remove(String name) {
        try {
            DurableFile.delete(dir.resolve(name + ".json"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove the record of " + type.getSimpleName().toLowerCase(java.util.Locale.ROOT)
                    + " " + name, e);
        }
        records.remove(name);
    }
}
