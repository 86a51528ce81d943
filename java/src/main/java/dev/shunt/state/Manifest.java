package dev.shunt.state;

import java.util.List;

/**
 * What a manifest text declares: its objects in the order the text gives them, and the warnings
 * (fields ignored, with their paths) to show whoever wrote it.
 */
public record Manifest(List<StateObject> objects, List<String> warnings) {
    public Manifest {
        objects = List.copyOf(objects);
        warnings = List.copyOf(warnings);
    }
}
