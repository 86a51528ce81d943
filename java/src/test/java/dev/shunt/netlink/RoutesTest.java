package dev.shunt.netlink;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import dev.shunt.sys.Sockets;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static dev.shunt.netlink.LinksTest.texts;
import static dev.shunt.netlink.RtnetlinkDescriptor.RT_SCOPE_LINK;
import static dev.shunt.netlink.RtnetlinkDescriptor.RT_TABLE_MAIN;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class RoutesTest {
    private static final InetAddress GW1 = IpPrefix.parseAddress("198.18.1.2");
    private static final InetAddress GW2 = IpPrefix.parseAddress("198.18.1.3");
    private static final InetAddress GW6A = IpPrefix.parseAddress("fd00:18::2");
    private static final InetAddress GW6B = IpPrefix.parseAddress("fd00:18::3");

    /** A namespace with veth shunt-r0 (198.18.1.1/24, fd00:18::1/64) and its peer, both up. */
    private static int underlay(ScratchNamespace ns) {
        NetlinkHandle nl = ns.netlink();
        nl.links().add(VethSpec.of("shunt-r0", "shunt-r1"));
        nl.addresses().add("shunt-r0", IpPrefix.parse("198.18.1.1/24"));
        nl.addresses().add("shunt-r0", IpPrefix.parse("fd00:18::1/64"));
        nl.links().setUp("shunt-r0");
        nl.links().setUp("shunt-r1");
        Eventually.within(Duration.ofSeconds(5),
                () -> assertThat(nl.links().get("shunt-r0").operState()).isEqualTo("UP"));
        return nl.links().get("shunt-r0").index();
    }

    @Test
    void ipv4RouteViaGatewayIsAddedReplacedAndDeleted() {
        try (ScratchNamespace ns = ScratchNamespace.create("route4")) {
            int dev = underlay(ns);
            Routes routes = ns.netlink().routes();
            Route route = Route.to(IpPrefix.parse("10.244.2.0/24")).via(GW1).dev(dev).protocol(Route.PROTOCOL_SHUNT);

            routes.add(route);

            assertThat(routesTo(routes.listIpv4(), "10.244.2.0/24")).containsExactly(route);
            JsonNode ip = singleWitness(ns, "-4", "10.244.2.0/24");
            assertThat(ip.get("gateway").asText()).isEqualTo("198.18.1.2");
            assertThat(ip.get("dev").asText()).isEqualTo("shunt-r0");
            assertThat(ip.get("table").asText()).isEqualTo("main");
            assertThat(ip.get("protocol").asText()).isEqualTo("83");
            assertThat(ip.get("scope").asText()).isEqualTo("global");
            assertThat(ip.has("metric")).isFalse();

            routes.replace(route.via(GW2));

            assertThat(routesTo(routes.listIpv4(), "10.244.2.0/24")).containsExactly(route.via(GW2));
            assertThat(singleWitness(ns, "-4", "10.244.2.0/24").get("gateway").asText()).isEqualTo("198.18.1.3");

            routes.delete(route.via(GW2));

            assertThat(routesTo(routes.listIpv4(), "10.244.2.0/24")).isEmpty();
            assertThat(witness(ns, "-4", "10.244.2.0/24")).isEmpty();
            assertThat(routes.listIpv4()).as("the connected route stays")
                    .extracting(r -> r.destination().toString()).contains("198.18.1.0/24");
        }
    }

    @Test
    void replaceCreatesARouteThatDoesNotExistYet() {
        try (ScratchNamespace ns = ScratchNamespace.create("route-repl")) {
            int dev = underlay(ns);
            Route route = Route.to(IpPrefix.parse("10.244.12.0/24")).via(GW1).dev(dev);

            ns.netlink().routes().replace(route);

            assertThat(routesTo(ns.netlink().routes().listIpv4(), "10.244.12.0/24")).containsExactly(route);
            JsonNode ip = singleWitness(ns, "-4", "10.244.12.0/24");
            assertThat(ip.get("gateway").asText()).isEqualTo("198.18.1.2");
            assertThat(ip.get("protocol").asText()).isEqualTo("static");
        }
    }

    @Test
    void onlinkLetsTheGatewayLieOutsideEverySubnet() {
        try (ScratchNamespace ns = ScratchNamespace.create("onlink")) {
            int dev = underlay(ns);
            Routes routes = ns.netlink().routes();
            Route route = Route.to(IpPrefix.parse("10.244.3.0/24")).via(IpPrefix.parseAddress("198.19.9.9")).dev(dev);

            NetlinkException refused = catchThrowableOfType(NetlinkException.class, () -> routes.add(route));
            assertThat(refused.errnoName()).isEqualTo("ENETUNREACH");
            assertThat(refused.kernelMessage()).isEqualTo("Nexthop has invalid gateway");
            assertThat(refused.getMessage()).isEqualTo("ip route add 10.244.3.0/24 via 198.19.9.9 dev #" + dev
                    + ": ENETUNREACH (Network is unreachable): kernel: Nexthop has invalid gateway");
            assertThat(witness(ns, "-4", "10.244.3.0/24")).isEmpty();

            routes.add(route.withOnlink());

            assertThat(routesTo(routes.listIpv4(), "10.244.3.0/24")).containsExactly(route.withOnlink());
            JsonNode ip = singleWitness(ns, "-4", "10.244.3.0/24");
            assertThat(texts(ip.get("flags"))).contains("onlink");
            assertThat(ip.get("gateway").asText()).isEqualTo("198.19.9.9");

            routes.delete(route.withOnlink());
            assertThat(witness(ns, "-4", "10.244.3.0/24")).isEmpty();
        }
    }

    @Test
    void scopeLinkRouteHasNoGateway() {
        try (ScratchNamespace ns = ScratchNamespace.create("scopelink")) {
            int dev = underlay(ns);
            Route route = Route.to(IpPrefix.parse("10.244.4.0/24")).dev(dev).scopeLink().protocol(Route.PROTOCOL_SHUNT);

            ns.netlink().routes().add(route);

            List<Route> mine = routesTo(ns.netlink().routes().listIpv4(), "10.244.4.0/24");
            assertThat(mine).containsExactly(route);
            assertThat(mine.get(0).scope()).isEqualTo(RT_SCOPE_LINK);
            assertThat(mine.get(0).gateway()).isNull();
            JsonNode ip = singleWitness(ns, "-4", "10.244.4.0/24");
            assertThat(ip.get("scope").asText()).isEqualTo("link");
            assertThat(ip.has("gateway")).isFalse();
            assertThat(ip.get("dev").asText()).isEqualTo("shunt-r0");

            ns.netlink().routes().delete(route);
            assertThat(witness(ns, "-4", "10.244.4.0/24")).isEmpty();
        }
    }

    @Test
    void routeInTable100WithMetricStaysOutOfTheMainTable() {
        try (ScratchNamespace ns = ScratchNamespace.create("table")) {
            int dev = underlay(ns);
            Routes routes = ns.netlink().routes();
            Route route = Route.to(IpPrefix.parse("10.244.5.0/24")).via(GW1).dev(dev).table(100).metric(50)
                    .protocol(Route.PROTOCOL_SHUNT);
            Route sameInMain = route.table(RT_TABLE_MAIN).metric(0);

            routes.add(route);
            routes.add(sameInMain);

            assertThat(routesTo(routes.list(Sockets.AF_INET, 100), "10.244.5.0/24")).containsExactly(route);
            assertThat(routesTo(routes.list(Sockets.AF_INET, RT_TABLE_MAIN), "10.244.5.0/24")).containsExactly(sameInMain);
            assertThat(routesTo(routes.list(Sockets.AF_INET, 0), "10.244.5.0/24"))
                    .containsExactlyInAnyOrder(route, sameInMain);
            List<JsonNode> ip = witness(ns, "-4", "10.244.5.0/24");
            assertThat(ip).extracting(r -> r.get("table").asText()).containsExactlyInAnyOrder("100", "main");
            JsonNode in100 = ip.stream().filter(r -> r.get("table").asText().equals("100")).findFirst().orElseThrow();
            assertThat(in100.get("metric").asInt()).isEqualTo(50);
            assertThat(in100.get("protocol").asText()).isEqualTo("83");
            assertThat(in100.get("gateway").asText()).isEqualTo("198.18.1.2");

            routes.delete(route);

            assertThat(routesTo(routes.list(Sockets.AF_INET, 0), "10.244.5.0/24")).containsExactly(sameInMain);
            assertThat(witness(ns, "-4", "10.244.5.0/24")).extracting(r -> r.get("table").asText()).containsExactly("main");
        }
    }

    @Test
    void tableAbove255TravelsInRtaTableOnly() {
        // rtm_table is 8 bits: the kernel reports such routes with rtm_table 252 (RT_TABLE_COMPAT)
        // and the real table in RTA_TABLE.
        try (ScratchNamespace ns = ScratchNamespace.create("table1000")) {
            int dev = underlay(ns);
            Routes routes = ns.netlink().routes();
            Route route = Route.to(IpPrefix.parse("10.244.8.0/24")).via(GW1).dev(dev).table(1000);

            routes.add(route);

            assertThat(routesTo(routes.list(Sockets.AF_INET, 1000), "10.244.8.0/24")).containsExactly(route);
            assertThat(routesTo(routes.list(Sockets.AF_INET, 252), "10.244.8.0/24")).isEmpty();
            assertThat(singleWitness(ns, "-4", "10.244.8.0/24").get("table").asText()).isEqualTo("1000");

            routes.delete(route);
            assertThat(witness(ns, "-4", "10.244.8.0/24")).isEmpty();
        }
    }

    @Test
    void ipv6RouteViaGatewayIsAddedReplacedAndDeleted() {
        try (ScratchNamespace ns = ScratchNamespace.create("route6")) {
            int dev = underlay(ns);
            Routes routes = ns.netlink().routes();
            Route route = Route.to(IpPrefix.parse("fd00:10:244:2::/64")).via(GW6A).dev(dev).protocol(Route.PROTOCOL_SHUNT);

            routes.add(route);

            // The kernel gives an IPv6 route without a metric the default metric 1024.
            assertThat(routesTo(routes.list(Sockets.AF_INET6, RT_TABLE_MAIN), "fd00:10:244:2::/64"))
                    .containsExactly(route.metric(1024));
            JsonNode ip = singleWitness(ns, "-6", "fd00:10:244:2::/64");
            assertThat(ip.get("gateway").asText()).isEqualTo("fd00:18::2");
            assertThat(ip.get("dev").asText()).isEqualTo("shunt-r0");
            assertThat(ip.get("protocol").asText()).isEqualTo("83");
            assertThat(ip.get("metric").asInt()).isEqualTo(1024);

            routes.replace(route.via(GW6B));

            assertThat(routesTo(routes.list(Sockets.AF_INET6, RT_TABLE_MAIN), "fd00:10:244:2::/64"))
                    .containsExactly(route.via(GW6B).metric(1024));
            assertThat(singleWitness(ns, "-6", "fd00:10:244:2::/64").get("gateway").asText()).isEqualTo("fd00:18::3");

            routes.delete(route.via(GW6B));

            assertThat(routesTo(routes.list(Sockets.AF_INET6, 0), "fd00:10:244:2::/64")).isEmpty();
            assertThat(witness(ns, "-6", "fd00:10:244:2::/64")).isEmpty();
        }
    }

    @Test
    void ipv6RouteInTable100WithMetric() {
        try (ScratchNamespace ns = ScratchNamespace.create("table6")) {
            int dev = underlay(ns);
            Routes routes = ns.netlink().routes();
            Route route = Route.to(IpPrefix.parse("fd00:10:244:5::/64")).via(GW6A).dev(dev).table(100).metric(50)
                    .protocol(Route.PROTOCOL_SHUNT);

            routes.add(route);

            assertThat(routesTo(routes.list(Sockets.AF_INET6, 100), "fd00:10:244:5::/64")).containsExactly(route);
            assertThat(routesTo(routes.list(Sockets.AF_INET6, RT_TABLE_MAIN), "fd00:10:244:5::/64")).isEmpty();
            JsonNode ip = singleWitness(ns, "-6", "fd00:10:244:5::/64");
            assertThat(ip.get("table").asText()).isEqualTo("100");
            assertThat(ip.get("metric").asInt()).isEqualTo(50);
            assertThat(ip.get("gateway").asText()).isEqualTo("fd00:18::2");

            routes.delete(route);
            assertThat(witness(ns, "-6", "fd00:10:244:5::/64")).isEmpty();
        }
    }

    @Test
    void duplicateAndMissingRoutesAreRefused() {
        try (ScratchNamespace ns = ScratchNamespace.create("routedup")) {
            int dev = underlay(ns);
            Routes routes = ns.netlink().routes();
            Route route = Route.to(IpPrefix.parse("10.244.6.0/24")).via(GW1).dev(dev);
            routes.add(route);

            NetlinkException dup = catchThrowableOfType(NetlinkException.class, () -> routes.add(route.via(GW2)));
            NetlinkException missing = catchThrowableOfType(NetlinkException.class,
                    () -> routes.delete(Route.to(IpPrefix.parse("10.244.7.0/24")).via(GW1).dev(dev)));

            assertThat(dup.errnoName()).isEqualTo("EEXIST");
            assertThat(dup.getMessage()).startsWith("ip route add 10.244.6.0/24 via 198.18.1.3 dev #" + dev + ": EEXIST");
            assertThat(missing.errnoName()).isEqualTo("ESRCH");
            assertThat(missing.getMessage()).startsWith("ip route del 10.244.7.0/24 via 198.18.1.2 dev #" + dev + ": ESRCH");
            assertThat(singleWitness(ns, "-4", "10.244.6.0/24").get("gateway").asText())
                    .as("the failed add left the first route alone").isEqualTo("198.18.1.2");
        }
    }

    private static List<Route> routesTo(List<Route> routes, String destination) {
        IpPrefix dst = IpPrefix.parse(destination);
        return routes.stream().filter(r -> r.destination().equals(dst)).toList();
    }

    /** The routes to {@code dst} in {@code ip -j -4|-6 route show table all}. */
    private static List<JsonNode> witness(ScratchNamespace ns, String family, String dst) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode r : Witness.ip(ns.name(), family, "route", "show", "table", "all")) {
            if (r.get("dst").asText().equals(dst)) {
                out.add(r);
            }
        }
        return out;
    }

    private static JsonNode singleWitness(ScratchNamespace ns, String family, String dst) {
        List<JsonNode> found = witness(ns, family, dst);
        assertThat(found).as("ip route show table all: " + dst).hasSize(1);
        return found.get(0);
    }
}
