package dev.shunt.state;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Optional;

/**
 * Shunt's own Node manifest ({@code apiVersion: shunt.dev/v1}), read into a {@link Node} and
 * written from one:
 * <pre>
 * apiVersion: shunt.dev/v1
 * kind: Node
 * metadata:
 *   name: n2
 * spec:
 *   podCIDR: 10.244.2.0/24      # required
 *   underlayIP: 198.18.0.2      # required
 *   vtepMAC: 02:5e:00:00:00:02  # optional until the overlay knows it
 * </pre>
 */
final class NodeManifest {
    static final String API_VERSION = "shunt.dev/v1";

    private NodeManifest() {}

    static Optional<Node> read(Fields root, String name) {
        Problems problems = root.problems();
        int errorsBefore = problems.errorCount();
        root.ignore("status");
        Optional<Fields> spec = root.requiredObject("spec");
        if (spec.isEmpty()) {
            return Optional.empty();
        }
        Fields s = spec.get();
        Optional<String> podCidr = s.requiredString("podCIDR").flatMap(c -> ValueRules.ipv4Cidr(problems, s.pathOf("podCIDR"), c));
        Optional<String> underlay = s.requiredString("underlayIP")
                .flatMap(ip -> ValueRules.unicastIpv4(problems, s.pathOf("underlayIP"), ip));
        Optional<String> mac = s.string("vtepMAC").flatMap(m -> ValueRules.unicastMac(problems, s.pathOf("vtepMAC"), m));
        s.finish();
        if (problems.errorCount() != errorsBefore) {
            return Optional.empty();
        }
        return Optional.of(new Node(name, podCidr.orElseThrow(), underlay.orElseThrow(), mac.orElse("")));
    }

    static ObjectNode write(Node node) {
        ObjectNode out = JsonNodeFactory.instance.objectNode().put("apiVersion", API_VERSION).put("kind", Kind.NODE.manifestKind());
        out.putObject("metadata").put("name", node.name());
        ObjectNode spec = out.putObject("spec").put("podCIDR", node.podCidr()).put("underlayIP", node.underlayIp());
        if (!node.vtepMac().isEmpty()) {
            spec.put("vtepMAC", node.vtepMac());
        }
        return out;
    }
}
