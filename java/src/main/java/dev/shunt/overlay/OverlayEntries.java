package dev.shunt.overlay;

import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/** Neighbour and FDB entries on the VXLAN device, each list in a stable (text) order. */
public record OverlayEntries(List<VtepNeighbour> neighbours, List<FdbEntry> fdb) {
    public OverlayEntries {
        neighbours = neighbours.stream().sorted(Comparator.comparing(VtepNeighbour::toString)).toList();
        fdb = fdb.stream().sorted(Comparator.comparing(FdbEntry::toString)).toList();
    }

    public static OverlayEntries of(Collection<VtepNeighbour> neighbours, Collection<FdbEntry> fdb) {
        return new OverlayEntries(List.copyOf(neighbours), List.copyOf(fdb));
    }

    public boolean isEmpty() {
        return neighbours.isEmpty() && fdb.isEmpty();
    }

    @Override
    public String toString() {
        return "neighbours " + neighbours + ", fdb " + fdb;
    }
}
