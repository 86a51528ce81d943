package dev.shunt.state;

import dev.shunt.inet.InetText;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What a valid name, address, CIDR, MAC and label look like in a manifest. Each check reports to
 * {@link Problems} with the field's path and returns the value in canonical form, or empty.
 */
final class ValueRules {
    /** A Service name: a DNS-1035 label, as Kubernetes requires (it becomes a DNS name). */
    static final Pattern SERVICE_NAME = Pattern.compile("[a-z]([-a-z0-9]{0,61}[a-z0-9])?");
    /**
     * A node name as the agent takes its own ({@code shunt agent --node}): short, because pods'
     * namespaces are named {@code shunt-NODE-POD}.
     */
    static final Pattern NODE_NAME = Pattern.compile("[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?");
    /** A pod name as the agent takes it ({@code shunt pod add}). */
    static final Pattern POD_NAME = Pattern.compile("[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?");
    /** A port name: a DNS-1123 label. */
    static final Pattern PORT_NAME = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final Pattern LABEL_NAME = Pattern.compile("[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?");
    private static final Pattern DNS_SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
    private static final Pattern MAC = Pattern.compile("[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}");

    private ValueRules() {}

    static Optional<String> name(Problems problems, String path, String name, Pattern rule, String what, String ruleText) {
        if (!rule.matcher(name).matches()) {
            problems.error(path, Fields.quote(name) + " is not a valid " + what + " name: " + ruleText);
            return Optional.empty();
        }
        return Optional.of(name);
    }

    /** An IPv4 address written the usual way (no leading zeros): a value that parses differently elsewhere is refused. */
    static Optional<String> ipv4(Problems problems, String path, String text) {
        Optional<InetAddress> address = InetText.parse(text);
        if (address.isEmpty()) {
            problems.error(path, Fields.quote(text) + " is not an IPv4 address");
            return Optional.empty();
        }
        if (!(address.get() instanceof Inet4Address)) {
            problems.error(path, text + " is an IPv6 address; Shunt's cluster is IPv4 only");
            return Optional.empty();
        }
        String canonical = address.get().getHostAddress();
        if (!canonical.equals(text)) {
            problems.error(path, Fields.quote(text) + " is not written as an IPv4 address usually is (" + canonical + "?)");
            return Optional.empty();
        }
        return Optional.of(canonical);
    }

    /** An address that can be a host's: not 0.0.0.0, loopback, multicast or the broadcast address. */
    static Optional<String> unicastIpv4(Problems problems, String path, String text) {
        Optional<String> ip = ipv4(problems, path, text);
        if (ip.isPresent()) {
            InetAddress a = InetAddress.ofLiteral(ip.get());
            if (a.isAnyLocalAddress() || a.isLoopbackAddress() || a.isMulticastAddress() || ip.get().equals("255.255.255.255")) {
                problems.error(path, text + " cannot be a node's address (unspecified, loopback, multicast or broadcast)");
                return Optional.empty();
            }
        }
        return ip;
    }

    /** {@code NETWORK/LENGTH}, IPv4, with no host bits set. */
    static Optional<String> ipv4Cidr(Problems problems, String path, String text) {
        int slash = text.indexOf('/');
        String length = slash < 0 ? "" : text.substring(slash + 1);
        if (slash < 0 || !length.matches("[0-9]{1,2}") || Integer.parseInt(length) > 32) {
            problems.error(path, Fields.quote(text) + " is not a CIDR: ADDRESS/LENGTH with LENGTH 0-32, e.g. 10.244.1.0/24");
            return Optional.empty();
        }
        Problems quiet = new Problems();
        Optional<String> address = ipv4(quiet, path, text.substring(0, slash));
        if (address.isEmpty()) {
            problems.error(path, Fields.quote(text) + " is not a CIDR: " + Fields.quote(text.substring(0, slash)) + " is not an IPv4 address");
            return Optional.empty();
        }
        int prefix = Integer.parseInt(length);
        byte[] raw = InetAddress.ofLiteral(address.get()).getAddress();
        int bits = ((raw[0] & 0xff) << 24) | ((raw[1] & 0xff) << 16) | ((raw[2] & 0xff) << 8) | (raw[3] & 0xff);
        int mask = prefix == 0 ? 0 : -1 << (32 - prefix);
        if ((bits & ~mask) != 0) {
            int network = bits & mask;
            String meant = ((network >>> 24) & 0xff) + "." + ((network >>> 16) & 0xff) + "." + ((network >>> 8) & 0xff) + "."
                    + (network & 0xff) + "/" + prefix;
            problems.error(path, text + " has host bits set; the network is " + meant);
            return Optional.empty();
        }
        return Optional.of(address.get() + "/" + prefix);
    }

    /** A unicast MAC address, lower case. */
    static Optional<String> unicastMac(Problems problems, String path, String text) {
        if (!MAC.matcher(text).matches()) {
            problems.error(path, Fields.quote(text) + " is not a MAC address (six hex pairs with colons, e.g. 02:5e:00:00:00:01)");
            return Optional.empty();
        }
        String mac = text.toLowerCase(Locale.ROOT);
        if ((Integer.parseInt(mac.substring(0, 2), 16) & 1) != 0 || mac.equals("00:00:00:00:00:00")) {
            problems.error(path, mac + " is not a unicast MAC address");
            return Optional.empty();
        }
        return Optional.of(mac);
    }

    /**
     * Label keys and values as Kubernetes takes them: a key is an optional DNS-subdomain prefix and
     * a {@code /}, then a name of 1-63 letters, digits, '-', '_' and '.' starting and ending
     * alphanumeric; a value is empty or such a name. {@code valueRequired}: a selector's values,
     * which the agent needs non-empty.
     */
    static boolean labels(Problems problems, String path, Map<String, String> labels, boolean valueRequired) {
        boolean ok = true;
        for (Map.Entry<String, String> e : labels.entrySet()) {
            String key = e.getKey();
            String at = path + "." + key;
            int slash = key.indexOf('/');
            String prefix = slash < 0 ? null : key.substring(0, slash);
            String name = slash < 0 ? key : key.substring(slash + 1);
            if ((prefix != null && (prefix.length() > 253 || !DNS_SUBDOMAIN.matcher(prefix).matches()))
                    || !LABEL_NAME.matcher(name).matches()) {
                problems.error(path, Fields.quote(key) + " is not a valid label key: [PREFIX/]NAME, NAME 1-63 letters, digits, "
                        + "'-', '_' and '.', starting and ending with a letter or digit");
                ok = false;
                continue;
            }
            String value = e.getValue();
            if (value.isEmpty() ? valueRequired : !LABEL_NAME.matcher(value).matches()) {
                problems.error(at, Fields.quote(value) + " is not a valid label value: " + (valueRequired ? "" : "empty or ")
                        + "1-63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit");
                ok = false;
            }
        }
        return ok;
    }
}
