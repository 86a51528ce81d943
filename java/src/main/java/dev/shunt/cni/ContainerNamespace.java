package dev.shunt.cni;

import dev.shunt.netlink.Address;
import dev.shunt.netlink.IpPrefix;
import dev.shunt.netlink.Link;
import dev.shunt.netlink.NetlinkHandle;
import dev.shunt.netlink.Route;
import dev.shunt.netns.NetnsException;
import dev.shunt.netns.NetworkNamespace;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/** A container's network namespace (CNI_NETNS) as CNI checks it, from inside, with Shunt's netlink client. */
final class ContainerNamespace {
    private ContainerNamespace() {}

    /**
     * Before an ADD makes anything: CNI_NETNS must be a network namespace other than the one the
     * plugin runs in (error 4), and hold no interface named CNI_IFNAME (error 110, as the spec asks).
     */
    static void requireFreeInterface(Path netns, String ifname) {
        // The plugin's own namespaces (the thread's: the node's; the process's first one) and
        // init's are never a container's: the host's network is never plumbed as a pod.
        for (String own : List.of("/proc/thread-self/ns/net", "/proc/self/ns/net", "/proc/1/ns/net")) {
            if (sameNamespace(netns, Path.of(own))) {
                throw new CniError(CniError.INVALID_ENVIRONMENT, "invalid environment",
                        "CNI_NETNS " + netns + " is " + own + ", not a container's namespace");
            }
        }
        if (inside(netns, h -> h.links().find(ifname)).isPresent()) {
            throw new CniError(CniError.ATTACHMENT_EXISTS, "interface exists",
                    "an interface named " + ifname + " exists already in " + netns);
        }
    }

    /**
     * CHECK from inside: the interface exists, is up, has {@code mac} and {@code address}, and its
     * default route goes through {@code gateway}. Error 111 naming every difference.
     */
    static void verify(Path netns, String ifname, String mac, String address, String gateway) {
        List<String> wrong = inside(netns, h -> {
            List<String> out = new ArrayList<>();
            Optional<Link> link = h.links().find(ifname);
            if (link.isEmpty()) {
                out.add("no interface " + ifname);
                return out;
            }
            Link l = link.get();
            if (!l.isUp()) {
                out.add(ifname + " is down");
            }
            if (mac != null && !l.mac().toString().equalsIgnoreCase(mac)) {
                out.add(ifname + " has MAC " + l.mac() + ", not " + mac);
            }
            IpPrefix want = IpPrefix.parse(address);
            boolean hasAddress = false;
            for (Address a : h.addresses().list(ifname)) {
                hasAddress |= a.prefix().equals(want);
            }
            if (!hasAddress) {
                out.add(ifname + " lacks " + address);
            }
            InetAddress gw = IpPrefix.parseAddress(gateway);
            boolean hasGatewayRoute = false;
            boolean hasDefault = false;
            for (Route r : h.routes().listIpv4()) {
                hasGatewayRoute |= r.destination().equals(new IpPrefix(gw, 32)) && r.gateway() == null && r.outputIndex() == l.index();
                hasDefault |= r.destination().length() == 0 && gw.equals(r.gateway()) && r.outputIndex() == l.index();
            }
            if (!hasGatewayRoute) {
                out.add("no route to " + gateway + " on " + ifname);
            }
            if (!hasDefault) {
                out.add("no default route via " + gateway + " on " + ifname);
            }
            return out;
        });
        if (!wrong.isEmpty()) {
            throw new CniError(CniError.ATTACHMENT_BROKEN, "attachment not as added", netns + ": " + String.join("; ", wrong));
        }
    }

    private interface Look<T> {
        T in(NetlinkHandle handle);
    }

    /** Runs {@code look} inside the namespace; a path that is no network namespace is error 4. */
    private static <T> T inside(Path netns, Look<T> look) {
        NetworkNamespace ns;
        try {
            ns = NetworkNamespace.at(netns);
        } catch (NetnsException e) {
            throw notANamespace(netns, e.getMessage());
        }
        AtomicBoolean entered = new AtomicBoolean();
        try {
            return ns.call(() -> {
                entered.set(true);
                try (NetlinkHandle h = NetlinkHandle.open()) {
                    return look.in(h);
                }
            });
        } catch (RuntimeException e) {
            if (!entered.get()) {
                throw notANamespace(netns, e.getMessage());
            }
            throw e;
        }
    }

    private static CniError notANamespace(Path netns, String why) {
        return new CniError(CniError.INVALID_ENVIRONMENT, "invalid environment",
                "CNI_NETNS " + netns + " is not a network namespace Shunt can enter: " + why);
    }

    private static boolean sameNamespace(Path a, Path b) {
        try {
            return Files.getAttribute(a, "unix:ino").equals(Files.getAttribute(b, "unix:ino"))
                    && Files.getAttribute(a, "unix:dev").equals(Files.getAttribute(b, "unix:dev"));
        } catch (IOException | UnsupportedOperationException e) {
            return false; // an unreadable path fails on entering it, with its own message
        }
    }
}
