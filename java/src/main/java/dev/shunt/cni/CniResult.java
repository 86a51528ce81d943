package dev.shunt.cni;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;

/**
 * An ADD success result (spec 1.1.0, section 5), written for the version of the call:
 * <ul>
 *   <li>0.4.0: each {@code ips} entry carries {@code "version": "4"} or {@code "6"} (dropped in 1.0.0);</li>
 *   <li>1.1.0: interfaces carry their {@code mtu}, routes their {@code scope}. A route with a scope
 *       cannot be written faithfully before 1.1.0 and is left out there (Shunt's link route to the
 *       gateway); the default route through the gateway is in every version.</li>
 * </ul>
 * Delegated IPAM plugins answer the abbreviated form (no interfaces, no interface index), which
 * {@link #parse} reads too, as it reads a {@code prevResult}.
 *
 * @param dns the {@code dns} object, or null
 */
public record CniResult(List<Interface> interfaces, List<IpConfig> ips, List<RouteEntry> routes, ObjectNode dns) {
    /** @param mtu 0 if not known; @param sandbox the namespace path, null for a host interface */
    public record Interface(String name, String mac, int mtu, String sandbox) {}

    /** @param gateway null if none; @param interfaceIndex index into {@code interfaces}, -1 if none */
    public record IpConfig(String address, String gateway, int interfaceIndex) {
        boolean isIpv6() {
            return address.contains(":");
        }
    }

    /** @param gw null for a link route; @param scope -1 if not given (a global route) */
    public record RouteEntry(String dst, String gw, int scope) {}

    public CniResult {
        interfaces = List.copyOf(interfaces);
        ips = List.copyOf(ips);
        routes = List.copyOf(routes);
    }

    public String toJson(CniVersion version) {
        ObjectNode out = NetworkConfig.JSON.createObjectNode();
        out.put("cniVersion", version.toString());
        boolean v11 = version.atLeast(CniVersion.V1_1_0);
        if (!interfaces.isEmpty()) {
            ArrayNode list = out.putArray("interfaces");
            for (Interface i : interfaces) {
                ObjectNode o = list.addObject().put("name", i.name());
                if (i.mac() != null) {
                    o.put("mac", i.mac());
                }
                if (v11 && i.mtu() > 0) {
                    o.put("mtu", i.mtu());
                }
                if (i.sandbox() != null && !i.sandbox().isEmpty()) {
                    o.put("sandbox", i.sandbox());
                }
            }
        }
        ArrayNode ipList = out.putArray("ips");
        for (IpConfig ip : ips) {
            ObjectNode o = ipList.addObject();
            if (!version.atLeast(CniVersion.V1_0_0)) {
                o.put("version", ip.isIpv6() ? "6" : "4");
            }
            o.put("address", ip.address());
            if (ip.gateway() != null) {
                o.put("gateway", ip.gateway());
            }
            if (ip.interfaceIndex() >= 0) {
                o.put("interface", ip.interfaceIndex());
            }
        }
        ArrayNode routeList = NetworkConfig.JSON.createArrayNode();
        for (RouteEntry r : routes) {
            if (r.scope() >= 0 && !v11) {
                continue;
            }
            ObjectNode o = routeList.addObject().put("dst", r.dst());
            if (r.gw() != null) {
                o.put("gw", r.gw());
            }
            if (r.scope() >= 0) {
                o.put("scope", r.scope());
            }
        }
        if (!routeList.isEmpty()) {
            out.set("routes", routeList);
        }
        if (dns != null && !dns.isEmpty()) {
            out.set("dns", dns.deepCopy());
        }
        return out.toString();
    }

    /** Reads a result of any version Shunt speaks (a prevResult, a delegated plugin's answer); error 7 if it is not one. */
    public static CniResult parse(JsonNode node, String what) {
        if (node == null || !node.isObject()) {
            throw NetworkConfig.invalid(what + " is not a result object");
        }
        List<Interface> interfaces = new ArrayList<>();
        for (JsonNode i : list(node, "interfaces", what)) {
            if (!i.path("name").isTextual()) {
                throw NetworkConfig.invalid(what + ": an interface without a name: " + CniVersion.abbreviate(i.toString()));
            }
            interfaces.add(new Interface(i.get("name").asText(), textOrNull(i, "mac"), i.path("mtu").asInt(0), textOrNull(i, "sandbox")));
        }
        List<IpConfig> ips = new ArrayList<>();
        for (JsonNode ip : list(node, "ips", what)) {
            if (!ip.path("address").isTextual()) {
                throw NetworkConfig.invalid(what + ": an ips entry without an address: " + CniVersion.abbreviate(ip.toString()));
            }
            int index = ip.has("interface") && ip.get("interface").canConvertToInt() ? ip.get("interface").asInt() : -1;
            if (index >= interfaces.size() || index < -1) {
                throw NetworkConfig.invalid(what + ": ips entry " + ip.get("address").asText() + " names interface " + index
                        + " of " + interfaces.size());
            }
            ips.add(new IpConfig(ip.get("address").asText(), textOrNull(ip, "gateway"), index));
        }
        List<RouteEntry> routes = new ArrayList<>();
        for (JsonNode r : list(node, "routes", what)) {
            if (!r.path("dst").isTextual()) {
                throw NetworkConfig.invalid(what + ": a route without dst: " + CniVersion.abbreviate(r.toString()));
            }
            routes.add(new RouteEntry(r.get("dst").asText(), textOrNull(r, "gw"), r.has("scope") ? r.path("scope").asInt(-1) : -1));
        }
        JsonNode dns = node.get("dns");
        return new CniResult(interfaces, ips, routes, dns != null && dns.isObject() ? (ObjectNode) dns : null);
    }

    private static Iterable<JsonNode> list(JsonNode node, String key, String what) {
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return List.of();
        }
        if (!value.isArray()) {
            throw NetworkConfig.invalid(what + ": \"" + key + "\" must be a list");
        }
        return value;
    }

    private static String textOrNull(JsonNode node, String key) {
        JsonNode value = node.get(key);
        return value != null && value.isTextual() ? value.asText() : null;
    }

    /**
     * This result after {@code previous} (a prevResult handed to an ADD): the previous interfaces,
     * addresses and routes first, then these, with these addresses' interface indexes moved along;
     * the previous DNS unless this one has its own.
     */
    public CniResult after(CniResult previous) {
        List<Interface> allInterfaces = new ArrayList<>(previous.interfaces());
        allInterfaces.addAll(interfaces);
        List<IpConfig> allIps = new ArrayList<>(previous.ips());
        int shift = previous.interfaces().size();
        for (IpConfig ip : ips) {
            allIps.add(new IpConfig(ip.address(), ip.gateway(), ip.interfaceIndex() < 0 ? -1 : ip.interfaceIndex() + shift));
        }
        List<RouteEntry> allRoutes = new ArrayList<>(previous.routes());
        allRoutes.addAll(routes);
        return new CniResult(allInterfaces, allIps, allRoutes, dns != null && !dns.isEmpty() ? dns : previous.dns());
    }
}
