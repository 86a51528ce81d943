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
 * Services in {@code STATE/services/NAME.json}, one file per Service, each replaced durably
 * ({@link DurableFile}). The files are also the ClusterIP and node-port allocations: an address or
 * port is taken exactly when a saved Service holds it, so there is no second store to keep in step
 * (nothing leaks or is handed out twice when the agent dies between two writes).
 */
final class ServiceStore {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path dir;

    ServiceStore(Path stateDir) {
        this.dir = stateDir.resolve("services");
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir, e);
        }
    }

    void save(ServiceSpec service) {
        try {
            DurableFile.replace(dir.resolve(service.name() + ".json"), JSON.writeValueAsBytes(service));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save Service " + service.name(), e);
        }
    }

    void remove(String name) {
        try {
            DurableFile.delete(dir.resolve(name + ".json"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove the record of Service " + name, e);
        }
    }

    List<ServiceSpec> load() {
        List<ServiceSpec> services = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList()) {
                try {
                    services.add(JSON.readValue(f.toFile(), ServiceSpec.class));
                } catch (IOException e) {
                    throw new UncheckedIOException("unreadable Service record " + f + ": " + e.getMessage(), e);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read Service records in " + dir, e);
        }
        return services;
    }
}
