package dev.shunt.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.cni.AttachmentKey;
import dev.shunt.cni.Attachments;
import dev.shunt.cni.CniError;
import dev.shunt.cni.CniPlugin;
import dev.shunt.cni.CniVersion;
import dev.shunt.ipam.Allocation;
import dev.shunt.ipam.IpamStore;
import dev.shunt.ipam.Owner;
import dev.shunt.netlink.Link;
import dev.shunt.netns.NetworkNamespace;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The agent's CNI API, {@code POST /v1/cni}, which native/shunt-cni relays every call to. The body
 * is {@code {"env": {"CNI_COMMAND": ..., ...}, "config": STDIN}}, each string carrying raw bytes one
 * character per byte (the shim writes every byte outside printable ASCII as a six-character JSON escape; a config given
 * as a JSON object is taken as it is, for callers such as curl). The answer is what the plugin
 * prints: HTTP 200 with the result (or nothing) on success, the CNI error result otherwise (docs/cni.md).
 *
 * <p>Pods made here go through {@link Agent#admit} like any other: same plumbing, fast path, record
 * and Services. Everything runs on the API thread under the agent's lock.
 */
final class CniEndpoint implements Attachments {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern POD_VETH = Pattern.compile("shp[0-9a-f]{8}");

    private final Agent agent;
    private final CniPlugin plugin = new CniPlugin(this);

    CniEndpoint(Agent agent) {
        this.agent = agent;
    }

    ApiServer.Response handle(byte[] body) {
        Map<String, String> env = new LinkedHashMap<>();
        byte[] config;
        try {
            JsonNode request = JSON.readTree(body);
            if (request == null || !request.path("env").isObject() || !request.has("config")) {
                throw new IOException("the body must be {\"env\": {...}, \"config\": ...}");
            }
            for (var e : request.get("env").properties()) {
                if (!e.getValue().isTextual()) {
                    throw new IOException("env values must be strings: " + e.getKey());
                }
                env.put(e.getKey(), new String(bytes(e.getValue().asText()), StandardCharsets.UTF_8));
            }
            JsonNode c = request.get("config");
            config = c.isTextual() ? bytes(c.asText()) : JSON.writeValueAsBytes(c);
        } catch (IOException e) {
            CniError error = new CniError(CniError.DECODING_FAILURE, "cannot decode the request to the agent", e.getMessage());
            return new ApiServer.Response(400, error.toJson(CniVersion.LATEST));
        }
        CniPlugin.Reply reply = plugin.handle(env, config);
        return new ApiServer.Response(status(reply.code()), reply.stdout());
    }

    /** One char per byte when every char fits in a byte (the shim's encoding), else UTF-8. */
    private static byte[] bytes(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) > 0xff) {
                return text.getBytes(StandardCharsets.UTF_8);
            }
        }
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static int status(int code) {
        return switch (code) {
            case 0 -> 200;
            case CniError.UNKNOWN_CONTAINER -> 404;
            case CniError.TRY_AGAIN_LATER, CniError.NOT_AVAILABLE -> 503;
            case CniError.ATTACHMENT_EXISTS -> 409;
            case CniError.INTERNAL, CniError.IO_FAILURE -> 500;
            default -> 400;
        };
    }

    @Override
    public Made add(Request request) {
        synchronized (agent) {
            AttachmentKey key = request.key();
            Optional<PodRecord> attached = find(key);
            if (attached.isPresent()) {
                throw exists(key + " is attached already, as pod " + attached.get().name());
            }
            Map<String, PodRecord> pods = agent.pods();
            if (pods.containsKey(request.podName())) {
                throw exists("pod name " + request.podName() + " is taken by another pod (it comes from K8S_POD_NAME, "
                        + "else from the container id)");
            }
            if (request.address() != null) {
                String ip = request.address().getHostAddress();
                for (PodRecord pod : pods.values()) {
                    if (pod.ip().equals(ip)) {
                        throw exists(request.ipam() + " gave " + ip + ", the address of pod " + pod.name()
                                + " (give it a range Shunt's IPAM does not serve)");
                    }
                }
            }
            PodNetwork.validateName(request.podName());
            NetworkNamespace netns = NetworkNamespace.at(request.netns());
            ContainerAttachment attachment = new ContainerAttachment(request.network(), key.containerId(), key.ifname(), request.ipam());
            PodRecord pod = agent.admit(request.podName(),
                    () -> agent.podNetwork().attach(request.podName(), request.labels(), netns, attachment, request.address()));
            return made(pod);
        }
    }

    private static CniError exists(String details) {
        return new CniError(CniError.ATTACHMENT_EXISTS, "attachment exists", details);
    }

    private Made made(PodRecord pod) {
        String hostMac = agent.netlink().links().find(pod.hostVeth()).map(l -> l.mac().toString()).orElse(null);
        return new Made(pod.name(), pod.hostVeth(), hostMac, pod.podMac(), pod.ip() + "/32", PodNetwork.GATEWAY, agent.config().mtu());
    }

    private Optional<PodRecord> find(AttachmentKey key) {
        for (PodRecord pod : agent.pods().values()) {
            ContainerAttachment a = pod.attachment();
            if (a != null && a.containerId().equals(key.containerId()) && a.ifname().equals(key.ifname())) {
                return Optional.of(pod);
            }
        }
        return Optional.empty();
    }

    @Override
    public void delete(AttachmentKey key, String podName) {
        synchronized (agent) {
            Optional<PodRecord> pod = find(key);
            if (pod.isPresent()) {
                agent.deletePod(pod.get().name());
                return;
            }
            // No pod: an ADD cut short by a killed agent may have left its veth and address.
            ContainerAttachment leftover = new ContainerAttachment(null, key.containerId(), key.ifname(), ContainerAttachment.SHUNT_IPAM);
            String veth = agent.podNetwork().hostVethOf(podName);
            boolean someonesVeth = agent.pods().values().stream().anyMatch(p -> p.name().equals(podName) || p.hostVeth().equals(veth));
            if (!someonesVeth) {
                agent.podNetwork().detach(veth, leftover);
            } else {
                agent.ipam().release(new Owner(key.containerId(), key.ifname()));
            }
        }
    }

    @Override
    public Made check(AttachmentKey key, Path netns) {
        synchronized (agent) {
            PodRecord pod = find(key).orElseThrow(() -> broken("no attachment " + key + " on node " + agent.config().node()));
            List<String> wrong = new ArrayList<>();
            if (!pod.netns().equals(netns.toString())) {
                wrong.add("it was added in " + pod.netns() + ", not " + netns);
            }
            if (pod.terminating()) {
                wrong.add("pod " + pod.name() + " is terminating");
            }
            Optional<Link> veth = agent.netlink().links().find(pod.hostVeth());
            if (veth.isEmpty() || !veth.get().isUp()) {
                wrong.add("its veth " + pod.hostVeth() + (veth.isEmpty() ? " is gone" : " is down"));
            }
            if (agent.fastPath().portIdOf(pod.name()) < 0) {
                wrong.add("pod " + pod.name() + " is not on the fast path");
            }
            if (pod.attachment().usesShuntIpam()) {
                boolean held = false;
                for (Allocation a : agent.ipam().allocationsOf(new Owner(key.containerId(), key.ifname()))) {
                    held |= a.address().getHostAddress().equals(pod.ip());
                }
                if (!held) {
                    wrong.add("Shunt's IPAM does not hold " + pod.ip() + " for " + key);
                }
            }
            if (!wrong.isEmpty()) {
                throw broken(String.join("; ", wrong));
            }
            return made(pod);
        }
    }

    private static CniError broken(String details) {
        return new CniError(CniError.ATTACHMENT_BROKEN, "attachment not as added", details);
    }

    @Override
    public List<Removed> collect(String network, Set<AttachmentKey> valid) {
        synchronized (agent) {
            List<Removed> removed = new ArrayList<>();
            for (PodRecord pod : agent.pods().values()) {
                ContainerAttachment a = pod.attachment();
                if (a != null && network.equals(a.network()) && !valid.contains(new AttachmentKey(a.containerId(), a.ifname()))) {
                    agent.deletePod(pod.name());
                    removed.add(new Removed(new AttachmentKey(a.containerId(), a.ifname()), a.ipam()));
                }
            }
            Map<String, PodRecord> pods = agent.pods();
            Set<String> veths = new HashSet<>();
            Set<String> owners = new HashSet<>();
            for (AttachmentKey key : valid) {
                owners.add(key.toString());
            }
            for (PodRecord pod : pods.values()) {
                veths.add(pod.hostVeth());
                ContainerAttachment a = pod.attachment();
                owners.add(a == null ? pod.name() + "/" + PodNetwork.POD_IFNAME : a.containerId() + "/" + a.ifname());
            }
            // Pod veths no pod holds (an ADD cut short by a killed agent): Shunt's by their name.
            for (Link link : agent.netlink().links().list()) {
                if (POD_VETH.matcher(link.name()).matches() && !veths.contains(link.name())) {
                    agent.netlink().links().delete(link.name());
                }
            }
            for (IpamStore.PoolUsage pool : agent.ipam().usage()) {
                if (!pool.cidr().equals(agent.config().podCidr())) {
                    continue;
                }
                for (Allocation a : pool.allocations()) {
                    if (!owners.contains(a.owner().toString())) {
                        agent.ipam().release(a.owner());
                    }
                }
            }
            return removed;
        }
    }

    @Override
    public Optional<String> unavailable() {
        for (IpamStore.PoolUsage pool : agent.ipam().usage()) {
            if (pool.cidr().equals(agent.config().podCidr()) && pool.free().signum() <= 0) {
                return Optional.of("the pod CIDR " + pool.cidr() + " is full (" + pool.used() + " addresses held)");
            }
        }
        return Optional.empty();
    }
}
