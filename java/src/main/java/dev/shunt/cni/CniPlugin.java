package dev.shunt.cni;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shunt.ipam.IpamException;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The CNI verbs as Shunt answers them (spec 1.1.0): one call in, what the plugin prints and whether
 * it succeeded out. Never throws: every failure is an error result (an unexpected one is 999).
 * <ul>
 *   <li>ADD: the interface must not exist yet; with a delegated IPAM the plugin's ADD comes first and
 *       its DEL undoes it if the attachment then fails, so a failed ADD leaves nothing behind.</li>
 *   <li>DEL: idempotent; removes what is there and always runs the delegated IPAM's DEL.</li>
 *   <li>CHECK: needs the prevResult; the node's view, the namespace's view and the delegated
 *       IPAM's CHECK must all agree with it.</li>
 *   <li>STATUS: error 50 when an ADD could not succeed now; asks a delegated IPAM that speaks 1.1.0.</li>
 *   <li>GC: removes what no valid attachment holds; a delegated IPAM that speaks 1.1.0 gets the GC,
 *       one that does not gets a DEL per removed attachment (in the newest version it speaks). Errors
 *       do not stop it; all are reported.</li>
 *   <li>VERSION: the versions Shunt speaks (the shim answers it too, without the agent).</li>
 * </ul>
 */
public final class CniPlugin {
    /**
     * What the plugin prints and how it ends.
     *
     * @param code 0 on success, else the CNI error code
     * @param stdout the result (may be empty) or the error result
     */
    public record Reply(int code, String stdout) {
        public boolean ok() {
            return code == 0;
        }
    }

    private final Attachments attachments;

    public CniPlugin(Attachments attachments) {
        this.attachments = attachments;
    }

    public Reply handle(Map<String, String> env, byte[] stdin) {
        try {
            CniRequest request = CniRequest.parse(env, stdin);
            return switch (request.command()) {
                case ADD -> new Reply(0, add(request));
                case DEL -> done(() -> delete(request));
                case CHECK -> done(() -> check(request));
                case STATUS -> done(() -> status(request));
                case GC -> done(() -> gc(request));
                case VERSION -> new Reply(0, version(stdin));
            };
        } catch (CniError e) {
            return error(e, stdin);
        } catch (IpamException e) {
            return error(CniError.of(e), stdin);
        } catch (RuntimeException e) {
            return error(internal(e), stdin);
        }
    }

    /** Error 999 with the exception and its causes, which say what went wrong. */
    private static CniError internal(RuntimeException e) {
        StringBuilder details = new StringBuilder(e.toString());
        for (Throwable cause = e.getCause(); cause != null && details.length() < 2000; cause = cause.getCause()) {
            details.append("; caused by ").append(cause);
        }
        return new CniError(CniError.INTERNAL, "internal error", details.toString());
    }

    private static Reply done(Runnable verb) {
        verb.run();
        return new Reply(0, "");
    }

    private static Reply error(CniError e, byte[] stdin) {
        return new Reply(e.code(), e.toJson(NetworkConfig.replyVersion(stdin)));
    }

    static String version(byte[] stdin) {
        String asked = CniVersion.LATEST.toString();
        try {
            JsonNode root = stdin == null || stdin.length == 0 ? null : NetworkConfig.JSON.readTree(stdin);
            if (root != null && root.path("cniVersion").isTextual()) {
                asked = root.get("cniVersion").asText();
            }
        } catch (java.io.IOException | RuntimeException e) {
            // VERSION ignores a configuration it cannot read, as the reference plugins do
        }
        ObjectNode out = NetworkConfig.JSON.createObjectNode().put("cniVersion", CniVersion.abbreviate(asked));
        CniVersion.SUPPORTED.forEach(v -> out.withArray("supportedVersions").add(v.toString()));
        return out.toString();
    }

    private String add(CniRequest request) {
        NetworkConfig config = request.config();
        CniResult previous = config.prevResult() == null ? null : CniResult.parse(config.prevResult(), "prevResult");
        ContainerNamespace.requireFreeInterface(request.netns(), request.ifname());
        DelegatedPlugin ipam = null;
        InetAddress address = null;
        ObjectNode dns = config.dns();
        if (config.delegatesIpam()) {
            ipam = DelegatedPlugin.find(config.ipamType(), request.cniPath());
            JsonNode answer = ipam.run("ADD", request.env(), Map.of(), config.bytes());
            try {
                CniResult allocated = CniResult.parse(answer, "the answer of " + ipam.type());
                address = firstIpv4(allocated, ipam.type());
                if (allocated.dns() != null && !allocated.dns().isEmpty()) {
                    dns = allocated.dns();
                }
            } catch (CniError e) {
                throw undone(e, ipam, request);
            }
        }
        Attachments.Made made;
        try {
            made = attachments.add(new Attachments.Request(request.key(), config.name(), request.podName(), request.labels(),
                    request.netns(), address, config.ipamType()));
        } catch (CniError e) {
            throw ipam == null ? e : undone(e, ipam, request);
        } catch (IpamException e) {
            throw ipam == null ? CniError.of(e) : undone(CniError.of(e), ipam, request);
        } catch (RuntimeException e) {
            CniError error = internal(e);
            throw ipam == null ? error : undone(error, ipam, request);
        }
        CniResult result = new CniResult(
                List.of(new CniResult.Interface(made.hostInterface(), made.hostMac(), made.mtu(), null),
                        new CniResult.Interface(request.ifname(), made.podMac(), made.mtu(), request.netns().toString())),
                List.of(new CniResult.IpConfig(made.address(), made.gateway(), 1)),
                List.of(new CniResult.RouteEntry(made.gateway() + "/32", null, 253),
                        new CniResult.RouteEntry("0.0.0.0/0", made.gateway(), -1)),
                dns);
        return (previous == null ? result : result.after(previous)).toJson(config.cniVersion());
    }

    /** The delegated IPAM's DEL after a failed ADD (spec section 4); its own failure joins the details. */
    private static CniError undone(CniError cause, DelegatedPlugin ipam, CniRequest request) {
        try {
            ipam.run("DEL", request.env(), Map.of(), request.config().bytes());
            return cause;
        } catch (CniError e) {
            return new CniError(cause.code(), cause.msg(), cause.details() + "; and undoing " + ipam.type() + "'s ADD failed: " + e);
        }
    }

    private static InetAddress firstIpv4(CniResult allocated, String type) {
        for (CniResult.IpConfig ip : allocated.ips()) {
            String text = ip.address().contains("/") ? ip.address().substring(0, ip.address().indexOf('/')) : ip.address();
            if (!ip.isIpv6() && text.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}")) {
                try {
                    return (Inet4Address) InetAddress.getByName(text);
                } catch (UnknownHostException | ClassCastException e) {
                    break;
                }
            }
        }
        throw NetworkConfig.invalid(type + " gave no IPv4 address (Shunt's pods are IPv4): "
                + CniVersion.abbreviate(allocated.ips().toString()));
    }

    private void delete(CniRequest request) {
        attachments.delete(request.key(), request.podName());
        NetworkConfig config = request.config();
        if (config.delegatesIpam()) {
            DelegatedPlugin.find(config.ipamType(), request.cniPath()).run("DEL", request.env(), Map.of(), config.bytes());
        }
    }

    private void check(CniRequest request) {
        NetworkConfig config = request.config();
        if (config.prevResult() == null) {
            throw NetworkConfig.invalid("CHECK needs the prevResult of the attachment's ADD");
        }
        CniResult previous = CniResult.parse(config.prevResult(), "prevResult");
        Attachments.Made made = attachments.check(request.key(), request.netns());
        String sandbox = request.netns().toString();
        int index = -1;
        for (int i = 0; i < previous.interfaces().size(); i++) {
            CniResult.Interface iface = previous.interfaces().get(i);
            if (iface.name().equals(request.ifname()) && sandbox.equals(iface.sandbox())) {
                index = i;
                if (iface.mac() != null && !iface.mac().equalsIgnoreCase(made.podMac())) {
                    throw broken("prevResult gives " + request.ifname() + " MAC " + iface.mac() + ", the pod has " + made.podMac());
                }
            }
        }
        if (index < 0) {
            throw broken("prevResult lists no interface " + request.ifname() + " in " + sandbox);
        }
        boolean listed = false;
        for (CniResult.IpConfig ip : previous.ips()) {
            listed |= ip.interfaceIndex() == index && ip.address().equals(made.address());
        }
        if (!listed) {
            throw broken("prevResult does not give " + request.ifname() + " the pod's address " + made.address());
        }
        ContainerNamespace.verify(request.netns(), request.ifname(), made.podMac(), made.address(), made.gateway());
        if (config.delegatesIpam()) {
            DelegatedPlugin.find(config.ipamType(), request.cniPath()).run("CHECK", request.env(), Map.of(), config.bytes());
        }
    }

    /** The configuration as a DEL in {@code version} gets it: that cniVersion, without GC's cni.dev/ keys. */
    private static byte[] configFor(NetworkConfig config, CniVersion version) {
        ObjectNode root = (ObjectNode) NetworkConfig.decode(config.bytes());
        root.put("cniVersion", version.toString());
        root.properties().removeIf(e -> e.getKey().startsWith("cni.dev/"));
        return root.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    private static CniError broken(String details) {
        return new CniError(CniError.ATTACHMENT_BROKEN, "attachment not as added", details);
    }

    private void status(CniRequest request) {
        Optional<String> why = attachments.unavailable();
        if (why.isPresent()) {
            throw new CniError(CniError.NOT_AVAILABLE, "cannot add pods now", why.get());
        }
        NetworkConfig config = request.config();
        if (config.delegatesIpam()) {
            DelegatedPlugin ipam = DelegatedPlugin.find(config.ipamType(), request.cniPath());
            if (ipam.speaks(CniVersion.V1_1_0, request.env())) {
                ipam.run("STATUS", request.env(), Map.of(), config.bytes());
            }
        }
    }

    private void gc(CniRequest request) {
        NetworkConfig config = request.config();
        List<CniError> errors = new ArrayList<>();
        List<Attachments.Removed> removed = List.of();
        try {
            removed = attachments.collect(config.name(), new HashSet<>(config.validAttachments()));
        } catch (CniError e) {
            errors.add(e);
        } catch (IpamException e) {
            errors.add(CniError.of(e));
        } catch (RuntimeException e) {
            errors.add(internal(e));
        }
        if (config.delegatesIpam()) {
            try {
                DelegatedPlugin ipam = DelegatedPlugin.find(config.ipamType(), request.cniPath());
                if (ipam.speaks(CniVersion.V1_1_0, request.env())) {
                    ipam.run("GC", request.env(), Map.of(), config.bytes());
                } else if (removed.stream().anyMatch(r -> r.ipam().equals(config.ipamType()))) {
                    // It knows no GC: a DEL per attachment removed here, as runtimes did before GC, in
                    // the newest version it speaks (GC's configuration is 1.1.0, which it refuses).
                    CniVersion version = ipam.newestUpTo(config.cniVersion(), request.env()).orElseThrow(() -> new CniError(
                            CniError.INCOMPATIBLE_VERSION, "incompatible CNI version",
                            ipam.type() + " speaks none of " + CniVersion.supportedList() + ": its addresses of removed attachments stay"));
                    byte[] delConfig = configFor(config, version);
                    Set<AttachmentKey> done = new HashSet<>();
                    for (Attachments.Removed r : removed) {
                        if (r.ipam().equals(config.ipamType()) && done.add(r.key())) {
                            Map<String, String> overrides = new HashMap<>();
                            overrides.put("CNI_CONTAINERID", r.key().containerId());
                            overrides.put("CNI_IFNAME", r.key().ifname());
                            overrides.put("CNI_NETNS", null);
                            try {
                                ipam.run("DEL", request.env(), overrides, delConfig);
                            } catch (CniError e) {
                                errors.add(e);
                            }
                        }
                    }
                }
            } catch (CniError e) {
                errors.add(e);
            }
        }
        if (!errors.isEmpty()) {
            CniError first = errors.getFirst();
            throw new CniError(first.code(), errors.size() == 1 ? first.msg() : "GC failed " + errors.size() + " times",
                    String.join("; ", errors.stream().map(CniError::toString).toList()));
        }
    }
}
