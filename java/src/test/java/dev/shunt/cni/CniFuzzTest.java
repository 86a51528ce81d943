package dev.shunt.cni;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Seeded random malformed calls through CniPlugin: mutated configurations (bytes flipped, cut,
 * inserted; values swapped for other JSON types; deep nesting; invalid UTF-8) and mutated
 * environments. Every call ends in a success or a spec error result, never an exception, and
 * every error names a code Shunt documents.
 */
class CniFuzzTest {
    static final int CALLS = 20_000;
    private static final Set<Integer> CODES = Set.of(1, 2, 3, 4, 5, 6, 7, 11, 50, 100, 101, 102, 110, 111, 112, 999);
    private static final List<String> SEEDS = List.of(
            "{\"cniVersion\":\"1.1.0\",\"name\":\"shunt\",\"type\":\"shunt-cni\",\"socket\":\"/run/shunt/shunt.sock\"}",
            "{\"cniVersion\":\"1.0.0\",\"name\":\"shunt\",\"type\":\"shunt-cni\",\"ipam\":{\"type\":\"host-local\",\"subnet\":\"10.244.9.0/24\"}}",
            "{\"cniVersion\":\"0.4.0\",\"name\":\"n\",\"type\":\"shunt-cni\",\"args\":{\"cni\":{\"labels\":[{\"key\":\"app\",\"value\":\"web\"}]}},"
                    + "\"prevResult\":{\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/nonexistent\"}],\"ips\":[{\"address\":\"10.244.1.2/32\",\"interface\":0}]}}",
            "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"shunt-cni\",\"cni.dev/valid-attachments\":[{\"containerID\":\"a\",\"ifname\":\"eth0\"}],"
                    + "\"dns\":{\"nameservers\":[\"10.96.0.10\"]}}");
    private static final List<String> VALUES = List.of("null", "true", "0", "-1", "1e999", "\"\"", "\"x\"", "[]", "{}", "[{}]",
            "{\"type\":\"\"}", "\"1.1.0\"", "\"0.3.1\"", "[[[[[[[[]]]]]]]]", "\"\\u0000\"", "\"../x\"");
    private static final List<String> COMMANDS = List.of("ADD", "DEL", "CHECK", "STATUS", "GC", "VERSION", "", "add", "FOO");

    @Test
    void malformedCallsEndInASpecErrorNeverAnException() throws Exception {
        Random random = new Random(0xC41);
        CniPlugin plugin = new CniPlugin(new RecordingAttachments());
        int ok = 0;
        int[] byCode = new int[1000];
        for (int i = 0; i < CALLS; i++) {
            byte[] config = mutate(SEEDS.get(random.nextInt(SEEDS.size())), random);
            Map<String, String> env = environment(random);
            CniPlugin.Reply reply = plugin.handle(env, config);
            String call = "call " + i + ": env " + env + ", config " + new String(config, StandardCharsets.ISO_8859_1);
            JsonNode out = reply.stdout().isEmpty() ? null : NetworkConfig.JSON.readTree(reply.stdout());
            if (reply.ok()) {
                ok++;
                assertThat(out == null || out.isObject()).as(call).isTrue();
                continue;
            }
            assertThat(CODES).as(call + " -> " + reply.stdout()).contains(reply.code());
            assertThat(reply.code()).as("an unexpected failure: " + call + " -> " + reply.stdout()).isNotEqualTo(CniError.INTERNAL);
            byCode[reply.code()]++;
            assertThat(out.get("code").asInt()).as(call).isEqualTo(reply.code());
            assertThat(out.get("msg").asText()).as(call).isNotEmpty();
            assertThat(CniVersion.SUPPORTED.stream().map(CniVersion::toString)).as(call).contains(out.get("cniVersion").asText());
        }
        StringBuilder report = new StringBuilder("CNI fuzz: " + CALLS + " calls, " + ok + " succeeded;");
        for (int code = 0; code < byCode.length; code++) {
            if (byCode[code] > 0) {
                report.append(" code ").append(code).append(": ").append(byCode[code]).append(';');
            }
        }
        System.out.println(report);
        // The mutations must leave enough calls valid to reach the verbs, and break the rest in many ways.
        assertThat(ok).isGreaterThan(CALLS / 50);
        assertThat(byCode[1] + byCode[4] + byCode[6] + byCode[7]).isGreaterThan(CALLS / 2);
        assertThat(byCode[999]).as("unexpected failures").isZero();
    }

    private static Map<String, String> environment(Random r) {
        Map<String, String> env = CniRequestTest.env(COMMANDS.get(r.nextInt(COMMANDS.size())));
        // ADD and CHECK reach the kernel only through a namespace that is never there; delegated
        // plugins are never found (this test runs none).
        env.put("CNI_NETNS", "/nonexistent/netns");
        env.put("CNI_PATH", "/nonexistent/cni");
        if (r.nextInt(4) == 0) {
            String[] keys = {"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS"};
            String key = keys[r.nextInt(keys.length)];
            String[] values = {null, "", "..", "a b", "x".repeat(300), "-x", "K8S_POD_NAME", "SHUNT_LABELS=a", "relative/path", "\u00e9\u0000",
                    "/nonexistent/a:/nonexistent/b"};
            env.put(key, values[r.nextInt(values.length)]);
            if (env.get(key) == null) {
                env.remove(key);
            }
        }
        return env;
    }

    private static byte[] mutate(String seed, Random r) {
        byte[] b = seed.getBytes(StandardCharsets.UTF_8);
        switch (r.nextInt(9)) {
            case 0 -> {
                return b; // unchanged: the verbs themselves run
            }
            case 1 -> b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));
            case 2 -> b = java.util.Arrays.copyOf(b, r.nextInt(b.length));
            case 3 -> {
                byte[] grown = new byte[b.length + 1];
                int at = r.nextInt(b.length + 1);
                System.arraycopy(b, 0, grown, 0, at);
                grown[at] = (byte) r.nextInt(256);
                System.arraycopy(b, at, grown, at + 1, b.length - at);
                b = grown;
            }
            case 4, 5 -> {
                // A value (after some "key":) swapped for a value of another JSON type.
                String text = seed;
                int colon = -1;
                for (int tries = 0; tries < 8 && colon < 0; tries++) {
                    int c = text.indexOf("\":", r.nextInt(text.length()));
                    colon = c;
                }
                if (colon >= 0) {
                    int start = colon + 2;
                    int end = valueEnd(text, start);
                    text = text.substring(0, start) + VALUES.get(r.nextInt(VALUES.size())) + text.substring(end);
                }
                b = text.getBytes(StandardCharsets.UTF_8);
            }
            case 6 -> b = ("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"t\",\"x\":" + "[".repeat(r.nextInt(3000)) + "}")
                    .getBytes(StandardCharsets.UTF_8);
            case 7 -> b = seed.replace("\"shunt\"", "\"\u00ff\u00fe\"").getBytes(StandardCharsets.ISO_8859_1);
            default -> {
                byte[] noise = new byte[r.nextInt(64)];
                r.nextBytes(noise);
                b = noise;
            }
        }
        return b;
    }

    /** Where the JSON value starting at {@code start} ends (a scalar, or a balanced bracket run). */
    private static int valueEnd(String text, int start) {
        int depth = 0;
        boolean inString = false;
        for (int i = start; i < text.length(); i++) {
            char c = text.charAt(i);
            if (inString) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    inString = false;
                    if (depth == 0) {
                        return i + 1;
                    }
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                if (depth == 0) {
                    return i;
                }
                depth--;
                if (depth == 0) {
                    return i + 1;
                }
            } else if (c == ',' && depth == 0) {
                return i;
            }
        }
        return text.length();
    }
}
