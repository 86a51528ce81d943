package dev.shunt.state;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Seeded-random mutations of valid manifests, as text (characters that mean something to YAML or
 * JSON inserted, lines dropped, doubled or cut) and as trees (a value replaced by one of another
 * type or range, a field dropped, renamed or added). Whatever comes out, reading it either gives
 * objects that write and read back the same, or refuses with a {@link ManifestException} whose
 * every line names what is wrong: never any other exception.
 *
 * <p>Every case is reproducible from its seed: {@code -Dmanifest.seed=N -Dmanifest.cases=1}.
 */
class ManifestFuzzTest {
    static final long BASE_SEED = Long.getLong("manifest.seed", 0x5eed11L);
    static final int CASES = Integer.getInteger("manifest.cases", 10000);

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final YAMLMapper YAML = new YAMLMapper();
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    static final List<String> CORPUS = List.of(ManifestReaderTest.WEB, """
            apiVersion: v1
            kind: List
            items:
            - apiVersion: shunt.dev/v1
              kind: Node
              metadata: {name: n2}
              spec: {podCIDR: 10.244.2.0/24, underlayIP: 198.18.0.2, vtepMAC: "02:5e:00:00:00:02"}
            - apiVersion: shunt.dev/v1
              kind: Pod
              metadata:
                name: web-1
                labels: {app: web}
              spec: {node: n2, ip: 10.244.2.7}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: dns}
            spec:
              clusterIP: 10.96.0.10
              clusterIPs: [10.96.0.10]
              ipFamilies: [IPv4]
              ipFamilyPolicy: SingleStack
              selector: {app: dns}
              ports:
              - {name: dns, protocol: UDP, port: 53}
              - {name: dns-tcp, protocol: TCP, port: 53, targetPort: 5353}
              internalTrafficPolicy: Local
            """, """
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api"},
             "spec": {"type": "NodePort", "selector": {"app": "api"},
                      "ports": [{"port": 443, "targetPort": 8443, "nodePort": 30443}],
                      "externalTrafficPolicy": "Cluster"}}
            {"apiVersion": "shunt.dev/v1", "kind": "Pod", "metadata": {"name": "api-1", "labels": {"app": "api"}}}
            """);

    private static final String[] SIGNIFICANT = {":", ": ", "-", "- ", " ", "  ", "\n", "\n  ", "\t", "{", "}", "[", "]", "\"", "'",
            "#", "&a ", "*a", "!", "!!str ", "!!binary ", "|", ">", "%YAML 1.2\n", "@", "`", ",", "?", "---\n", "...\n", "\\",
            "\u0000", "\uFEFF", "\uD800", "\u00e9", "\u2028", "~", "null", "0x", "1e400", "-0", ".nan", "<<: ", "=", "\r"};

    @Test
    void mutatedManifestsAreReadOrRefusedWithAClearErrorNeverAnythingElse() {
        int accepted = 0;
        int refused = 0;
        for (int c = 0; c < CASES; c++) {
            long seed = BASE_SEED + c;
            Random random = new Random(seed);
            String original = CORPUS.get(random.nextInt(CORPUS.size()));
            String text = random.nextBoolean() ? mutateText(random, original) : mutateTree(random, original);
            try {
                Manifest m = ManifestReader.read(text);
                accepted++;
                checkAccepted(m, text);
            } catch (ManifestException e) {
                refused++;
                if (System.getProperty("manifest.show") != null && refused % 500 == 0) {
                    System.out.println(e.problems());
                }
                assertThat(e.problems()).as("seed %d: %s", seed, text).isNotEmpty()
                        .allSatisfy(p -> assertThat(p).isNotBlank().doesNotContain("\n").doesNotContain("\r").doesNotContain("\u0000"));
                assertThat(e.warnings()).allSatisfy(w -> assertThat(w).doesNotContain("\n"));
            } catch (Throwable t) {
                throw new AssertionError("seed " + seed + ": " + t + " reading:\n" + text, t);
            }
            try {
                ManifestReader.readReferences(text);
            } catch (ManifestException expected) {
                // refused the same way
            } catch (Throwable t) {
                throw new AssertionError("seed " + seed + ": references: " + t + " reading:\n" + text, t);
            }
        }
        System.out.printf("manifest fuzz: %d cases, %d accepted, %d refused%n", CASES, accepted, refused);
        // Both outcomes must be common, or the mutations test too little (or too much).
        assertThat(accepted).as("accepted").isGreaterThan(CASES / 20);
        assertThat(refused).as("refused").isGreaterThan(CASES / 5);
    }

    /** What was read writes as manifests that read back as the same objects, without warnings. */
    private static void checkAccepted(Manifest m, String text) {
        String written = ManifestWriter.list(m.objects(), Map.of()).toString();
        Manifest back = ManifestReader.read(written);
        assertThat(back.objects()).as("round trip of %s", text).isEqualTo(m.objects());
        assertThat(back.warnings()).isEmpty();
        assertThat(ManifestReader.readReferences(text)).extracting(ObjectRef::path)
                .containsExactlyElementsOf(m.objects().stream().map(StateObject::path).toList());
    }

    private static String mutateText(Random random, String text) {
        StringBuilder s = new StringBuilder(text);
        int edits = 1 + random.nextInt(4);
        for (int i = 0; i < edits && !s.isEmpty(); i++) {
            int at = random.nextInt(s.length() + 1);
            switch (random.nextInt(6)) {
                case 0 -> s.insert(at, SIGNIFICANT[random.nextInt(SIGNIFICANT.length)]);
                case 1 -> s.delete(Math.min(at, s.length()), Math.min(s.length(), at + 1 + random.nextInt(8)));
                case 2 -> s.setLength(at == 0 ? 0 : Math.min(at, s.length()));
                case 3 -> {
                    List<String> lines = new ArrayList<>(List.of(s.toString().split("\n", -1)));
                    int l = random.nextInt(lines.size());
                    if (random.nextBoolean()) {
                        lines.add(l, lines.get(l));
                    } else {
                        lines.remove(l);
                    }
                    s = new StringBuilder(String.join("\n", lines));
                }
                case 4 -> s.insert(at, (char) random.nextInt(0x3000));
                default -> {
                    // a digit becomes another, often giving an out-of-range or a changed value
                    for (int k = at; k < s.length(); k++) {
                        if (Character.isDigit(s.charAt(k))) {
                            s.setCharAt(k, (char) ('0' + random.nextInt(10)));
                            break;
                        }
                    }
                }
            }
        }
        return s.toString();
    }

    private static String mutateTree(Random random, String text) {
        List<JsonNode> documents = new ArrayList<>();
        try (com.fasterxml.jackson.databind.MappingIterator<JsonNode> it = (text.startsWith("{") ? JSON : YAML).readerFor(JsonNode.class).readValues(text)) {
            while (it.hasNextValue()) {
                documents.add(it.nextValue());
            }
        } catch (java.io.IOException e) {
            throw new AssertionError("the corpus must parse", e);
        }
        int edits = 1 + random.nextInt(3);
        for (int i = 0; i < edits; i++) {
            JsonNode doc = documents.get(random.nextInt(documents.size()));
            List<JsonNode> containers = new ArrayList<>();
            collect(doc, containers);
            JsonNode target = containers.get(random.nextInt(containers.size()));
            if (target instanceof ObjectNode o && !o.isEmpty()) {
                List<String> names = new ArrayList<>();
                o.fieldNames().forEachRemaining(names::add);
                String name = names.get(random.nextInt(names.size()));
                switch (random.nextInt(4)) {
                    case 0 -> o.remove(name);
                    case 1 -> o.set(name + (random.nextBoolean() ? "x" : ""), randomValue(random, 0));
                    case 2 -> {
                        JsonNode v = o.remove(name);
                        o.set(randomKey(random), v);
                    }
                    default -> o.set(name, randomValue(random, 0));
                }
            } else if (target instanceof ArrayNode a && !a.isEmpty()) {
                int index = random.nextInt(a.size());
                switch (random.nextInt(3)) {
                    case 0 -> a.remove(index);
                    case 1 -> a.add(a.get(index).deepCopy());
                    default -> a.set(index, randomValue(random, 0));
                }
            }
        }
        StringBuilder out = new StringBuilder();
        boolean json = random.nextBoolean();
        for (JsonNode d : documents) {
            try {
                out.append(json ? JSON.writeValueAsString(d) + "\n" : "---\n" + YAML.writeValueAsString(d).replaceFirst("^---\n", ""));
            } catch (java.io.IOException e) {
                throw new AssertionError(e);
            }
        }
        return out.toString();
    }

    private static void collect(JsonNode node, List<JsonNode> out) {
        if (node.isContainerNode()) {
            out.add(node);
            node.forEach(child -> collect(child, out));
        }
    }

    private static String randomKey(Random random) {
        String[] keys = {"apiVersion", "kind", "metadata", "name", "spec", "ports", "port", "targetPort", "nodePort", "protocol",
                "selector", "type", "clusterIP", "items", "labels", "node", "ip", "podCIDR", "underlayIP", "vtepMAC",
                "sessionAffinity", "sessionAffinityConfig", "clientIP", "timeoutSeconds", "", "x", "Port", "  "};
        return keys[random.nextInt(keys.length)];
    }

    private static JsonNode randomValue(Random random, int depth) {
        return switch (random.nextInt(depth > 3 ? 9 : 12)) {
            case 0 -> F.numberNode(random.nextInt(70000) - 2000);
            case 1 -> F.numberNode(new int[] {0, -1, 1, 65535, 65536, 29999, 30000, 32767, 32768, 86400, 86401,
                    Integer.MAX_VALUE, Integer.MIN_VALUE}[random.nextInt(13)]);
            case 2 -> F.numberNode(random.nextLong());
            case 3 -> F.numberNode(new BigInteger(100, random));
            case 4 -> F.numberNode(random.nextDouble() * 1e6);
            case 5 -> F.booleanNode(random.nextBoolean());
            case 6 -> F.nullNode();
            case 7 -> F.textNode(new String[] {"", "None", "TCP", "UDP", "SCTP", "tcp", "ClusterIP", "NodePort", "LoadBalancer",
                    "Local", "Cluster", "ClientIP", "10.96.0.10", "10.96.0.300", "::1", "10.244.1.0/24", "10.244.1.1/24",
                    "02:5e:00:00:00:09", "v1", "shunt.dev/v1", "Service", "Pod", "Node", "List", "web", "Web", "80", "http",
                    "a".repeat(70), "\u0000", "line\nbreak", "\uD800"}[random.nextInt(32)]);
            case 8 -> {
                StringBuilder s = new StringBuilder();
                int n = random.nextInt(12);
                for (int i = 0; i < n; i++) {
                    s.append((char) (32 + random.nextInt(0x250)));
                }
                yield F.textNode(s.toString());
            }
            case 9 -> {
                ObjectNode o = F.objectNode();
                int n = random.nextInt(3);
                for (int i = 0; i < n; i++) {
                    o.set(randomKey(random), randomValue(random, depth + 1));
                }
                yield o;
            }
            case 10 -> {
                ArrayNode a = F.arrayNode();
                int n = random.nextInt(3);
                for (int i = 0; i < n; i++) {
                    a.add(randomValue(random, depth + 1));
                }
                yield a;
            }
            default -> {
                JsonNode deep = F.textNode("bottom");
                for (int i = 0; i < 40 + random.nextInt(60); i++) {
                    deep = random.nextBoolean() ? F.arrayNode().add(deep) : F.objectNode().set("n", deep);
                }
                yield deep;
            }
        };
    }
}
