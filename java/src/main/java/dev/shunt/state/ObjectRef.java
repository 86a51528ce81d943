package dev.shunt.state;

/** An object of the desired state named by kind and name, as {@code shunt delete -f} needs it. */
public record ObjectRef(Kind kind, String name) {
    /** {@code services/web} */
    public String path() {
        return kind.path(name);
    }
}
