package dev.shunt.state;

/** One change to the desired state: an object put (created or replaced whole) or removed. */
public sealed interface StateChange {
    Kind kind();

    String name();

    /** {@code object} is new, or replaces the one of its kind and name. */
    record Put(StateObject object) implements StateChange {
        @Override
        public Kind kind() {
            return object.kind();
        }

        @Override
        public String name() {
            return object.name();
        }
    }

    /** The object of this kind and name is gone. */
    record Removal(Kind kind, String name) implements StateChange {}
}
