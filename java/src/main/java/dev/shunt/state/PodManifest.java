package dev.shunt.state;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Map;
import java.util.Optional;

/**
 * Shunt's own Pod manifest ({@code apiVersion: shunt.dev/v1}), read into a {@link Pod} and
 * written from one. Labels sit in {@code metadata.labels}, as in Kubernetes; the spec is optional:
 * <pre>
 * apiVersion: shunt.dev/v1
 * kind: Pod
 * metadata:
 *   name: web-1
 *   labels: {app: web}
 * spec:
 *   node: n1          # left out: the node whose agent applies it
 *   ip: 10.244.1.5    # left out: allocated when the pod is created (a pod of another node: not known yet)
 * </pre>
 * A pod's {@code terminating} condition is the agent's to set: written under {@code status},
 * never read.
 */
final class PodManifest {
    static final String API_VERSION = "shunt.dev/v1";

    private PodManifest() {}

    static Optional<Pod> read(Fields root, Fields metadata, String name) {
        Problems problems = root.problems();
        int errorsBefore = problems.errorCount();
        Optional<Map<String, String>> labels = metadata.stringMap("labels");
        labels.ifPresent(l -> ValueRules.labels(problems, metadata.pathOf("labels"), l, false));
        root.ignore("status");
        String node = "";
        String ip = "";
        Optional<Fields> spec = root.object("spec");
        if (spec.isPresent()) {
            Fields s = spec.get();
            node = s.string("node").flatMap(n -> ValueRules.name(problems, s.pathOf("node"), n, ValueRules.NODE_NAME, "node",
                    "1-16 lower-case letters, digits and '-', starting and ending with a letter or digit")).orElse("");
            ip = s.string("ip").flatMap(a -> ValueRules.ipv4(problems, s.pathOf("ip"), a)).orElse("");
            s.finish();
        }
        if (problems.errorCount() != errorsBefore) {
            return Optional.empty();
        }
        return Optional.of(new Pod(name, node, labels.orElseThrow(), ip, false));
    }

    static ObjectNode write(Pod pod) {
        ObjectNode out = JsonNodeFactory.instance.objectNode().put("apiVersion", API_VERSION).put("kind", Kind.POD.manifestKind());
        ObjectNode metadata = out.putObject("metadata").put("name", pod.name());
        if (!pod.labels().isEmpty()) {
            ObjectNode labels = metadata.putObject("labels");
            pod.labels().forEach(labels::put);
        }
        ObjectNode spec = out.putObject("spec");
        if (!pod.node().isEmpty()) {
            spec.put("node", pod.node());
        }
        if (!pod.ip().isEmpty()) {
            spec.put("ip", pod.ip());
        }
        out.putObject("status").put("terminating", pod.terminating());
        return out;
    }
}
