package dev.shunt.state;

/**
 * The kinds of objects the desired state holds, with the words users see: {@code service/web
 * created} (singular, as kubectl prints) and {@code services/web: spec...} (plural, as in
 * Kubernetes' resource paths) in messages.
 */
public enum Kind {
    NODE("Node", "node", "nodes"),
    POD("Pod", "pod", "pods"),
    SERVICE("Service", "service", "services");

    private final String manifestKind;
    private final String singular;
    private final String plural;

    Kind(String manifestKind, String singular, String plural) {
        this.manifestKind = manifestKind;
        this.singular = singular;
        this.plural = plural;
    }

    /** The manifest's {@code kind:} value. */
    public String manifestKind() {
        return manifestKind;
    }

    public String singular() {
        return singular;
    }

    public String plural() {
        return plural;
    }

    /** {@code services/web}: how messages name one object. */
    public String path(String name) {
        return plural + "/" + name;
    }
}
