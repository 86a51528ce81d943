package dev.shunt.state.etcd;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shunt.inet.InetText;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * The value of a subnet key: which node holds the subnet and how other nodes reach it over the
 * overlay (its underlay IP and VTEP MAC, as flannel's vxlan backend publishes them). JSON:
 * {@code {"node":"n1","underlayIp":"198.18.0.11","vtepMac":"0e:5a:..."}}; unknown fields are ignored
 * so a later version may add some.
 */
public record SubnetOwner(String node, String underlayIp, String vtepMac) {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern MAC = Pattern.compile("[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}");

    public SubnetOwner {
        if (!KeyLayout.isName(node)) {
            throw new IllegalArgumentException("invalid node name '" + node + "': use 1 to 253 characters from A-Z a-z 0-9 . _ -");
        }
        if (InetText.parse(underlayIp).isEmpty()) {
            throw new IllegalArgumentException("node " + node + ": underlay IP '" + underlayIp + "' is not an IP address");
        }
        if (vtepMac == null || !MAC.matcher(vtepMac).matches()) {
            throw new IllegalArgumentException("node " + node + ": VTEP MAC '" + vtepMac + "' is not a MAC like 0e:5a:12:34:56:78");
        }
    }

    public byte[] toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("node", node);
        o.put("underlayIp", underlayIp);
        o.put("vtepMac", vtepMac);
        return o.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Reads a subnet key's value.
     *
     * @throws IllegalArgumentException if it is not JSON with the three fields
     */
    public static SubnetOwner fromJson(byte[] value) {
        JsonNode o;
        try {
            o = JSON.readTree(value);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new IllegalArgumentException("not JSON: " + e.getMessage());
        }
        if (o == null || !o.isObject()) {
            throw new IllegalArgumentException("not a JSON object");
        }
        return new SubnetOwner(text(o, "node"), text(o, "underlayIp"), text(o, "vtepMac"));
    }

    private static String text(JsonNode o, String field) {
        JsonNode v = o.get(field);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException("field '" + field + "' is missing or not a string");
        }
        return v.asText();
    }
}
