package dev.shunt.state.etcd;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Where Shunt keeps each kind of object in etcd, under one prefix (default {@code /shunt/}):
 * <pre>
 * PREFIX nodes/NODE              a node (lease-bound by its agent)
 * PREFIX subnets/A.B.C.D-LEN     a node's pod subnet claim: {@link SubnetOwner} JSON, on the node's lease
 * PREFIX services/NAME           a Service
 * PREFIX pods/NODE/NAME          a pod, grouped by node so a node can list or watch its own
 * PREFIX clusterips/A.B.C.D      the claim on a ClusterIP: the name of the Service holding it
 * PREFIX nodeports/PORT          the claim on a node port: the name of the Service holding it
 * </pre>
 * A claim is created and deleted in the same transaction as the Service that holds it, so two
 * Services never get one address or node port, whichever nodes allocate them.
 * Names are one key segment: 1 to 253 characters from {@code A-Z a-z 0-9 . _ -}, so a name can
 * never reach into another kind's range. Values are JSON; the layout is documented in docs/etcd.md.
 */
public final class KeyLayout {
    public static final String DEFAULT_PREFIX = "/shunt/";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,253}");
    private static final Pattern IPV4 = Pattern.compile("(0|[1-9][0-9]{0,2})(\\.(0|[1-9][0-9]{0,2})){3}");

    private final String prefix;

    public KeyLayout(String prefix) {
        this.prefix = validPrefix(prefix);
    }

    /** The kinds of key in the layout. */
    public sealed interface ShuntKey {}

    public record NodeKey(String node) implements ShuntKey {}

    public record SubnetKey(Ipv4Subnet subnet) implements ShuntKey {}

    public record ServiceKey(String name) implements ShuntKey {}

    public record PodKey(String node, String name) implements ShuntKey {}

    public record ClusterIpKey(String ip) implements ShuntKey {}

    public record NodePortKey(int port) implements ShuntKey {}

    public String prefix() {
        return prefix;
    }

    public String nodes() {
        return prefix + "nodes/";
    }

    public String node(String name) {
        return nodes() + name("node", name);
    }

    public String subnets() {
        return prefix + "subnets/";
    }

    public String subnet(Ipv4Subnet subnet) {
        return subnets() + subnet.keySegment();
    }

    public String services() {
        return prefix + "services/";
    }

    public String service(String name) {
        return services() + name("service", name);
    }

    public String pods() {
        return prefix + "pods/";
    }

    /** The prefix of one node's pods. */
    public String pods(String node) {
        return pods() + name("node", node) + "/";
    }

    public String pod(String node, String name) {
        return pods(node) + name("pod", name);
    }

    public String clusterIps() {
        return prefix + "clusterips/";
    }

    /** The claim key of a ClusterIP (an IPv4 literal). */
    public String clusterIp(String ip) {
        if (!IPV4.matcher(ip).matches()) {
            throw new IllegalArgumentException("not an IPv4 address: '" + ip + "'");
        }
        return clusterIps() + ip;
    }

    public String nodePorts() {
        return prefix + "nodeports/";
    }

    public String nodePort(int port) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("not a port: " + port);
        }
        return nodePorts() + port;
    }

    /** What {@code key} names, or empty for a key outside the layout (someone else's, or malformed). */
    public Optional<ShuntKey> parse(String key) {
        if (key == null || !key.startsWith(prefix)) {
            return Optional.empty();
        }
        String[] parts = key.substring(prefix.length()).split("/", -1);
        try {
            return Optional.ofNullable(switch (parts[0]) {
                case "nodes" -> parts.length == 2 && isName(parts[1]) ? new NodeKey(parts[1]) : null;
                case "subnets" -> parts.length == 2 ? new SubnetKey(Ipv4Subnet.parseKeySegment(parts[1])) : null;
                case "services" -> parts.length == 2 && isName(parts[1]) ? new ServiceKey(parts[1]) : null;
                case "clusterips" -> parts.length == 2 && IPV4.matcher(parts[1]).matches() ? new ClusterIpKey(parts[1]) : null;
                case "nodeports" -> parts.length == 2 && parts[1].matches("[1-9][0-9]{0,4}") && Integer.parseInt(parts[1]) <= 65535
                        ? new NodePortKey(Integer.parseInt(parts[1])) : null;
                case "pods" -> parts.length == 3 && isName(parts[1]) && isName(parts[2]) ? new PodKey(parts[1], parts[2]) : null;
                default -> null;
            });
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    @Override
    public String toString() {
        return "key layout under " + prefix;
    }

    static boolean isName(String s) {
        return s != null && NAME.matcher(s).matches() && !s.equals(".") && !s.equals("..");
    }

    private static String name(String what, String name) {
        if (!isName(name)) {
            throw new IllegalArgumentException("invalid " + what + " name '" + name
                    + "': use 1 to 253 characters from A-Z a-z 0-9 . _ - (not '.' or '..')");
        }
        return name;
    }

    private static String validPrefix(String prefix) {
        if (prefix == null || !prefix.startsWith("/") || !prefix.endsWith("/") || prefix.contains("//")
                || !prefix.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw new IllegalArgumentException("invalid etcd key prefix '" + prefix
                    + "': it starts and ends with '/', has no empty segment and only printable ASCII, e.g. " + DEFAULT_PREFIX);
        }
        return prefix;
    }
}
