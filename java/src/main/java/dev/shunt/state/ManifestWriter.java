package dev.shunt.state;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;
import java.util.Map;

/**
 * Objects as manifests, the form {@link ManifestReader} reads: what {@code shunt get -o json}
 * prints, so that applying it again changes nothing. What the agent reports beyond the declared
 * state (a Service's endpoints, a pod's terminating condition) goes under {@code status}, which
 * reading ignores.
 */
public final class ManifestWriter {
    private ManifestWriter() {}

    /** One object's manifest; a Service with its {@code endpoints} under status if they are given (not null). */
    public static ObjectNode write(StateObject object, List<Endpoint> endpoints) {
        return switch (object) {
            case Service s -> ServiceManifest.write(s, endpoints);
            case Node n -> NodeManifest.write(n);
            case Pod p -> PodManifest.write(p);
        };
    }

    /** A {@code v1 List} of {@code objects}; Services with their endpoints from {@code endpoints} (by Service name) if there. */
    public static ObjectNode list(List<? extends StateObject> objects, Map<String, List<Endpoint>> endpoints) {
        ObjectNode list = JsonNodeFactory.instance.objectNode().put("apiVersion", "v1").put("kind", "List");
        ArrayNode items = list.putArray("items");
        for (StateObject o : objects) {
            items.add(write(o, o instanceof Service s ? endpoints.get(s.name()) : null));
        }
        return list;
    }
}
