package dev.shunt.state.etcd;

import java.util.List;

/** The keys under a prefix as of one store revision, sorted by key. Watch from {@code revision} to follow them. */
public record Snapshot(List<Entry> entries, long revision) {
    public Snapshot {
        entries = List.copyOf(entries);
    }
}
