package dev.shunt.state;

/** One object of the desired state, named uniquely within its kind. */
public sealed interface StateObject permits Node, Pod, Service {
    String name();

    Kind kind();

    /** {@code services/web}: how messages name it. */
    default String path() {
        return kind().path(name());
    }
}
