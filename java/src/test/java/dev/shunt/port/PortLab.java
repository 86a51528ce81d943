package dev.shunt.port;

import dev.shunt.lab.ScratchNamespace;
import dev.shunt.lab.Witness;
import dev.shunt.netlink.IpPrefix;
import dev.shunt.netlink.Link;
import dev.shunt.netlink.MacAddress;
import dev.shunt.netlink.VethSpec;
import dev.shunt.sys.Fd;

import java.io.IOException;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Lab plumbing for port tests: veths between scratch namespaces on the lab underlay range
 * (198.18.0.0/15), MACs as the longs the packet views use, ping. Every wait is bounded.
 */
final class PortLab {
    private PortLab() {}

    /** One veth: {@code aDev} in namespace A, {@code bDev} in B, both up, with their indexes and MACs. */
    record Veth(String aDev, String bDev, int aIndex, int bIndex, long aMac, long bMac) {}

    /**
     * Creates a veth from A with its peer in B; {@code aCidr}/{@code bCidr} (e.g. "198.18.40.1/24")
     * are added when not null. Waits (5 s at most) until both ends are operationally UP.
     */
    static Veth veth(ScratchNamespace a, ScratchNamespace b, String aDev, String bDev, String aCidr, String bCidr) {
        try (Fd bFd = b.namespace().openFd()) {
            a.netlink().links().add(VethSpec.of(aDev, bDev).withPeerNamespace(bFd));
        }
        if (aCidr != null) {
            a.netlink().addresses().add(aDev, IpPrefix.parse(aCidr));
        }
        if (bCidr != null) {
            b.netlink().addresses().add(bDev, IpPrefix.parse(bCidr));
        }
        a.netlink().links().setUp(aDev);
        b.netlink().links().setUp(bDev);
        boolean up = waitUntil(5_000, () -> "UP".equals(a.netlink().links().get(aDev).operState())
                && "UP".equals(b.netlink().links().get(bDev).operState()));
        if (!up) {
            throw new AssertionError("veth " + aDev + "/" + bDev + " did not come up within 5 s");
        }
        Link la = a.netlink().links().get(aDev);
        Link lb = b.netlink().links().get(bDev);
        return new Veth(aDev, bDev, la.index(), lb.index(), mac(la.mac()), mac(lb.mac()));
    }

    /** IPv6 off for links created from now on in these namespaces (no ND/MLD frames in exact counts). */
    static void noIpv6(ScratchNamespace... namespaces) {
        for (ScratchNamespace ns : namespaces) {
            ns.namespace().setSysctl("net.ipv6.conf.default.disable_ipv6", "1");
            ns.namespace().setSysctl("net.ipv6.conf.all.disable_ipv6", "1");
        }
    }

    static long mac(MacAddress mac) {
        long v = 0;
        for (byte b : mac.bytes()) {
            v = (v << 8) | (b & 0xFF);
        }
        return v;
    }

    static String macText(long mac) {
        return String.format("%02x:%02x:%02x:%02x:%02x:%02x", (mac >>> 40) & 0xFF, (mac >>> 32) & 0xFF,
                (mac >>> 24) & 0xFF, (mac >>> 16) & 0xFF, (mac >>> 8) & 0xFF, mac & 0xFF);
    }

    static InetAddress ip(String text) {
        return IpPrefix.parseAddress(text);
    }

    /** Polls {@code condition} every 5 ms for at most {@code millis}. */
    static boolean waitUntil(long millis, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (true) {
            if (condition.getAsBoolean()) {
                return true;
            }
            if (System.nanoTime() - deadline >= 0) {
                return false;
            }
            sleep(5);
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** {@code ip netns exec NS ping -n -c COUNT -i 0.2 -W 1 ADDRESS}; true if every echo got a reply. */
    static boolean ping(ScratchNamespace from, String address, int count) {
        return exec(List.of("ip", "netns", "exec", from.name(), "ping", "-n", "-q", "-c", Integer.toString(count),
                "-i", "0.2", "-W", "1", address), 30) == 0;
    }

    /** Runs a command with a time limit, discarding its output; returns the exit code. */
    static int exec(List<String> cmd, int timeoutSeconds) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("timed out: " + cmd);
            }
            return p.exitValue();
        } catch (IOException e) {
            throw new AssertionError("cannot run " + cmd, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted: " + cmd, e);
        }
    }

    /** {@code ip -n NS ARGS...}, output returned; fails the test on a non-zero exit. */
    static String ipCommand(ScratchNamespace ns, String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "-n", ns.name()));
        cmd.addAll(List.of(args));
        return Witness.run(cmd);
    }
}
