package dev.shunt.state;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The whole desired state at one moment: every node, pod and Service by name. Immutable; the
 * {@code with}/{@code without}/{@code apply} methods return a new state.
 */
public final class ClusterState {
    public static final ClusterState EMPTY = new ClusterState(new EnumMap<>(Kind.class));

    /** Removals go first, Services before pods before nodes; then puts, nodes before pods before Services. */
    private static final List<Kind> REMOVAL_ORDER = List.of(Kind.SERVICE, Kind.POD, Kind.NODE);
    private static final List<Kind> PUT_ORDER = List.of(Kind.NODE, Kind.POD, Kind.SERVICE);

    private final Map<Kind, SortedMap<String, StateObject>> objects;

    private ClusterState(Map<Kind, SortedMap<String, StateObject>> objects) {
        Map<Kind, SortedMap<String, StateObject>> copy = new EnumMap<>(Kind.class);
        for (Kind kind : Kind.values()) {
            copy.put(kind, Collections.unmodifiableSortedMap(new TreeMap<>(objects.getOrDefault(kind, new TreeMap<>()))));
        }
        this.objects = copy;
    }

    /** A state holding {@code objects}; two of the same kind and name are refused. */
    public static ClusterState of(Collection<? extends StateObject> objects) {
        Map<Kind, SortedMap<String, StateObject>> byKind = new EnumMap<>(Kind.class);
        for (StateObject o : objects) {
            if (byKind.computeIfAbsent(o.kind(), k -> new TreeMap<>()).put(o.name(), o) != null) {
                throw new IllegalArgumentException(o.path() + " is given twice");
            }
        }
        return new ClusterState(byKind);
    }

    public Optional<StateObject> get(Kind kind, String name) {
        return Optional.ofNullable(objects.get(kind).get(name));
    }

    @SuppressWarnings("unchecked")
    private <T extends StateObject> Map<String, T> typed(Kind kind) {
        return (Map<String, T>) (Map<String, ?>) objects.get(kind);
    }

    /** The nodes by name, sorted. */
    public Map<String, Node> nodes() {
        return typed(Kind.NODE);
    }

    public Map<String, Pod> pods() {
        return typed(Kind.POD);
    }

    public Map<String, Service> services() {
        return typed(Kind.SERVICE);
    }

    /** Every object: nodes, then pods, then Services, each by name. */
    public List<StateObject> objects() {
        List<StateObject> out = new ArrayList<>();
        for (Kind kind : PUT_ORDER) {
            out.addAll(objects.get(kind).values());
        }
        return out;
    }

    public ClusterState with(StateObject object) {
        Map<Kind, SortedMap<String, StateObject>> next = new EnumMap<>(objects);
        SortedMap<String, StateObject> ofKind = new TreeMap<>(objects.get(object.kind()));
        ofKind.put(object.name(), object);
        next.put(object.kind(), ofKind);
        return new ClusterState(next);
    }

    public ClusterState without(Kind kind, String name) {
        if (!objects.get(kind).containsKey(name)) {
            return this;
        }
        Map<Kind, SortedMap<String, StateObject>> next = new EnumMap<>(objects);
        SortedMap<String, StateObject> ofKind = new TreeMap<>(objects.get(kind));
        ofKind.remove(name);
        next.put(kind, ofKind);
        return new ClusterState(next);
    }

    /** This state with {@code changes} applied in order. */
    public ClusterState apply(List<StateChange> changes) {
        Map<Kind, SortedMap<String, StateObject>> next = new EnumMap<>(Kind.class);
        objects.forEach((kind, ofKind) -> next.put(kind, new TreeMap<>(ofKind)));
        for (StateChange change : changes) {
            switch (change) {
                case StateChange.Put put -> next.get(put.kind()).put(put.name(), put.object());
                case StateChange.Removal removal -> next.get(removal.kind()).remove(removal.name());
            }
        }
        return new ClusterState(next);
    }

    /**
     * The changes that turn this state into {@code next}: removals first (Services, pods, nodes),
     * then puts (nodes, pods, Services), each kind by name. That order never shows a consumer a
     * pod on a node it has not heard of, nor a Service whose pods are already gone from its view
     * of nodes; objects that are equal in both produce nothing.
     */
    public List<StateChange> changesTo(ClusterState next) {
        List<StateChange> out = new ArrayList<>();
        for (Kind kind : REMOVAL_ORDER) {
            for (String name : objects.get(kind).keySet()) {
                if (!next.objects.get(kind).containsKey(name)) {
                    out.add(new StateChange.Removal(kind, name));
                }
            }
        }
        for (Kind kind : PUT_ORDER) {
            Map<String, StateObject> mine = objects.get(kind);
            next.objects.get(kind).forEach((name, object) -> {
                if (!object.equals(mine.get(name))) {
                    out.add(new StateChange.Put(object));
                }
            });
        }
        return out;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof ClusterState s && s.objects.equals(objects);
    }

    @Override
    public int hashCode() {
        return objects.hashCode();
    }

    @Override
    public String toString() {
        return "ClusterState" + objects();
    }
}
