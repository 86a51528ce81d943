package dev.shunt.bench.lab;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The rulesets kube-proxy writes for a list of Service ports, in its iptables mode (an
 * {@code iptables-restore} file: filter and nat tables) and in its nftables mode (an {@code nft -f}
 * file: table {@code ip kube-proxy}). The layout follows kube-proxy's proxiers as of Kubernetes
 * 1.31 ({@code pkg/proxy/iptables/proxier.go}, {@code pkg/proxy/nftables/proxier.go}): the same
 * chains, the same order, the same matches and comments, and chain names hashed the same way
 * (SHA-256, base32, truncated). Only ClusterIP Services, without session affinity and with every
 * endpoint ready, are rendered: that is what the benchmarks need.
 *
 * <p>In iptables mode a new connection walks KUBE-SERVICES rule by rule until its ClusterIP and
 * port match, so the position of the measured Service matters: callers put it last, the worst case
 * and the average case of a large cluster differ only by a factor of two.
 */
public final class KubeProxyRulesets {
    /** The bit kube-proxy's KUBE-MARK-MASQ sets (its default --iptables-masquerade-bit 14). */
    static final String MASQ_MARK = "0x4000";

    private KubeProxyRulesets() {
    }

    // ------------------------------------------------------------------ iptables mode

    /** KUBE-SVC-XXXXXXXXXXXXXXXX: the hash of the service port name and protocol. */
    public static String serviceChain(LabService s) {
        return "KUBE-SVC-" + hash(s.servicePortName() + s.protocol(), 16);
    }

    /** KUBE-SEP-XXXXXXXXXXXXXXXX: the hash of the service port name, protocol and endpoint. */
    public static String endpointChain(LabService s, int endpoint) {
        return "KUBE-SEP-" + hash(s.servicePortName() + s.protocol() + s.endpoint(endpoint), 16);
    }

    /**
     * The complete {@code iptables-restore} input: filter and nat tables with kube-proxy's base-chain
     * jumps, KUBE-SERVICES with one rule per Service port in list order (then the KUBE-NODEPORTS
     * rule, which kube-proxy always keeps last), and a KUBE-SVC and KUBE-SEP chains per Service port.
     *
     * @param clusterCidr kube-proxy's --cluster-cidr: traffic from outside it is masqueraded
     */
    public static String iptables(List<LabService> services, String clusterCidr) {
        return iptables(services, clusterCidr, List.of());
    }

    /**
     * The complete {@code iptables-restore} input as {@link #iptables(List, String)}, deleting
     * {@code staleChains} (nat chains of endpoints that are gone) as kube-proxy's full sync does:
     * a chain line, which flushes the chain, then {@code -X}.
     */
    public static String iptables(List<LabService> services, String clusterCidr, List<String> staleChains) {
        StringBuilder out = new StringBuilder(services.size() * 1200 + 4096);
        out.append("*filter\n");
        out.append(":INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n");
        for (String chain : List.of("KUBE-EXTERNAL-SERVICES", "KUBE-FIREWALL", "KUBE-FORWARD", "KUBE-NODEPORTS",
                "KUBE-PROXY-FIREWALL", "KUBE-SERVICES")) {
            out.append(':').append(chain).append(" - [0:0]\n");
        }
        out.append("-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n");
        out.append("-A INPUT -m comment --comment \"kubernetes health check service ports\" -j KUBE-NODEPORTS\n");
        out.append("-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES\n");
        out.append("-A INPUT -j KUBE-FIREWALL\n");
        out.append("-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n");
        out.append("-A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD\n");
        out.append("-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n");
        out.append("-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES\n");
        out.append("-A OUTPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n");
        out.append("-A OUTPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n");
        out.append("-A OUTPUT -j KUBE-FIREWALL\n");
        out.append("-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment \"block incoming localnet connections\""
                + " -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP\n");
        out.append("-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP\n");
        out.append("-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark " + MASQ_MARK + "/" + MASQ_MARK
                + " -j ACCEPT\n");
        out.append("-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED"
                + " -j ACCEPT\n");
        out.append("COMMIT\n");

        out.append("*nat\n");
        out.append(":PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n");
        for (String chain : List.of("KUBE-MARK-MASQ", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-SERVICES")) {
            out.append(':').append(chain).append(" - [0:0]\n");
        }
        for (LabService s : services) {
            out.append(':').append(serviceChain(s)).append(" - [0:0]\n");
            for (int e = 0; e < s.endpointIps().size(); e++) {
                out.append(':').append(endpointChain(s, e)).append(" - [0:0]\n");
            }
        }
        out.append("-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n");
        out.append("-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n");
        out.append("-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING\n");
        out.append("-A KUBE-POSTROUTING -m mark ! --mark " + MASQ_MARK + "/" + MASQ_MARK + " -j RETURN\n");
        out.append("-A KUBE-POSTROUTING -j MARK --xor-mark " + MASQ_MARK + "\n");
        out.append("-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully\n");
        out.append("-A KUBE-MARK-MASQ -j MARK --or-mark " + MASQ_MARK + "\n");
        for (LabService s : services) {
            out.append("-A KUBE-SERVICES -m comment --comment \"").append(s.servicePortName()).append(" cluster IP\" -m ")
                    .append(s.protocol()).append(" -p ").append(s.protocol()).append(" -d ").append(s.clusterIp())
                    .append(" --dport ").append(s.port()).append(" -j ").append(serviceChain(s)).append('\n');
        }
        out.append("-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\""
                + " -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n");
        for (LabService s : services) {
            appendServiceChain(out, s, clusterCidr);
        }
        appendDeletions(out, staleChains);
        out.append("COMMIT\n");
        return out.toString();
    }

    /**
     * Only the nat chains of {@code changed} (KUBE-SVC and KUBE-SEP), rewritten, and
     * {@code staleChains} deleted, with {@code --noflush} leaving every other chain as it is. Not
     * a kube-proxy sync (kube-proxy's partial sync also rewrites KUBE-SERVICES and the other
     * top-level chains in full): the lab's cheap way to reach the state a full sync would leave,
     * for set-up steps that are not measured.
     */
    public static String iptablesChains(List<LabService> changed, String clusterCidr, List<String> staleChains) {
        StringBuilder out = new StringBuilder(changed.size() * 1200 + 256);
        out.append("*nat\n");
        for (LabService s : changed) {
            out.append(':').append(serviceChain(s)).append(" - [0:0]\n");
            for (int e = 0; e < s.endpointIps().size(); e++) {
                out.append(':').append(endpointChain(s, e)).append(" - [0:0]\n");
            }
        }
        for (LabService s : changed) {
            appendServiceChain(out, s, clusterCidr);
        }
        appendDeletions(out, staleChains);
        out.append("COMMIT\n");
        return out.toString();
    }

    /** The KUBE-SEP chains of {@code before}'s endpoints that {@code after} no longer has. */
    public static List<String> goneEndpointChains(LabService before, LabService after) {
        List<String> gone = new ArrayList<>();
        for (int e = 0; e < before.endpointIps().size(); e++) {
            if (!after.endpointIps().contains(before.endpointIps().get(e))) {
                gone.add(endpointChain(before, e));
            }
        }
        return gone;
    }

    private static void appendDeletions(StringBuilder out, List<String> staleChains) {
        // A chain line flushes the chain (so nothing in it still jumps elsewhere); -X then deletes it.
        for (String chain : staleChains) {
            out.append(':').append(chain).append(" - [0:0]\n");
        }
        for (String chain : staleChains) {
            out.append("-X ").append(chain).append('\n');
        }
    }

    private static void appendServiceChain(StringBuilder out, LabService s, String clusterCidr) {
        String svc = serviceChain(s);
        out.append("-A ").append(svc).append(" -m comment --comment \"").append(s.servicePortName()).append(" cluster IP\" -m ")
                .append(s.protocol()).append(" -p ").append(s.protocol()).append(" -d ").append(s.clusterIp())
                .append(" --dport ").append(s.port()).append(" ! -s ").append(clusterCidr).append(" -j KUBE-MARK-MASQ\n");
        int n = s.endpointIps().size();
        for (int e = 0; e < n; e++) {
            out.append("-A ").append(svc).append(" -m comment --comment \"").append(s.servicePortName()).append(" -> ")
                    .append(s.endpoint(e)).append('"');
            if (e < n - 1) {
                // kube-proxy's probability for endpoint i of n: 1/(n-i), printed with 10 decimals.
                out.append(" -m statistic --mode random --probability ")
                        .append(String.format(Locale.ROOT, "%.10f", 1.0 / (n - e)));
            }
            out.append(" -j ").append(endpointChain(s, e)).append('\n');
        }
        for (int e = 0; e < n; e++) {
            String sep = endpointChain(s, e);
            out.append("-A ").append(sep).append(" -m comment --comment ").append(s.servicePortName()).append(" -s ")
                    .append(s.endpointIps().get(e)).append(" -j KUBE-MARK-MASQ\n");
            out.append("-A ").append(sep).append(" -m comment --comment ").append(s.servicePortName()).append(" -m ")
                    .append(s.protocol()).append(" -p ").append(s.protocol()).append(" -j DNAT --to-destination ")
                    .append(s.endpoint(e)).append('\n');
        }
    }

    // ------------------------------------------------------------------ nftables mode

    /** {@code service-XXXXXXXX-ns/name/proto/port}, as kube-proxy's nftables mode names a Service port's chain. */
    public static String nftServiceChain(LabService s) {
        return "service-" + nftBase(s);
    }

    /** {@code endpoint-XXXXXXXX-ns/name/proto/port__ip/port}. */
    public static String nftEndpointChain(LabService s, int endpoint) {
        return "endpoint-" + hashed(nftName(s) + "__" + s.endpointIps().get(endpoint) + "/" + s.targetPort());
    }

    private static String nftBase(LabService s) {
        return hashed(nftName(s));
    }

    /** {@code ns/name/proto/port}: the readable part of kube-proxy's nftables chain names. */
    private static String nftName(LabService s) {
        return s.namespace() + "/" + s.name() + "/" + s.protocol() + "/" + s.portName();
    }

    /** kube-proxy's nftables names carry a hash of their own readable part in front of it, so a truncated name stays unique. */
    private static String hashed(String name) {
        return hash(name, 8) + "-" + name;
    }

    /**
     * The complete {@code nft -f} input: kube-proxy's base chains, sets and verdict maps in table
     * {@code ip kube-proxy}, then per Service port its service chain ({@code numgen random mod N
     * vmap} over the endpoint chains), its endpoint chains (masquerade hairpin, DNAT) and its
     * elements in {@code cluster-ips} and {@code service-ips}.
     *
     * @param serviceCidr the Service CIDR (traffic to unallocated ClusterIPs in it is dropped)
     */
    public static String nftables(List<LabService> services, String clusterCidr, String serviceCidr) {
        StringBuilder out = new StringBuilder(services.size() * 1100 + 8192);
        String t = "ip kube-proxy";
        out.append("add table ").append(t).append(" { comment \"rules for kube-proxy\" ; }\n");
        out.append("add set ").append(t).append(" cluster-ips { type ipv4_addr ; comment \"Active ClusterIPs\" ; }\n");
        out.append("add set ").append(t).append(" nodeport-ips { type ipv4_addr ; comment \"IPs that accept NodePort traffic\" ; }\n");
        out.append("add map ").append(t).append(" firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ;"
                + " comment \"destinations that are subject to LoadBalancerSourceRanges\" ; }\n");
        out.append("add map ").append(t).append(" no-endpoint-nodeports { type inet_proto . inet_service : verdict ;"
                + " comment \"vmap to drop or reject packets to service nodeports with no endpoints\" ; }\n");
        out.append("add map ").append(t).append(" no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ;"
                + " comment \"vmap to drop or reject packets to services with no endpoints\" ; }\n");
        out.append("add map ").append(t).append(" service-ips { type ipv4_addr . inet_proto . inet_service : verdict ;"
                + " comment \"ClusterIP, ExternalIP and LoadBalancer IP traffic\" ; }\n");
        out.append("add map ").append(t).append(" service-nodeports { type inet_proto . inet_service : verdict ;"
                + " comment \"NodePort traffic\" ; }\n");
        out.append("add chain ").append(t).append(" cluster-ips-check\n");
        out.append("add chain ").append(t).append(" filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }\n");
        out.append("add chain ").append(t).append(" filter-output-pre-dnat { type filter hook output priority -110 ; }\n");
        out.append("add chain ").append(t).append(" filter-forward { type filter hook forward priority 0 ; }\n");
        out.append("add chain ").append(t).append(" filter-input { type filter hook input priority 0 ; }\n");
        out.append("add chain ").append(t).append(" filter-output { type filter hook output priority 0 ; }\n");
        out.append("add chain ").append(t).append(" firewall-check\n");
        out.append("add chain ").append(t).append(" mark-for-masquerade\n");
        out.append("add chain ").append(t).append(" masquerading\n");
        out.append("add chain ").append(t).append(" nat-output { type nat hook output priority -100 ; }\n");
        out.append("add chain ").append(t).append(" nat-postrouting { type nat hook postrouting priority 100 ; }\n");
        out.append("add chain ").append(t).append(" nat-prerouting { type nat hook prerouting priority -100 ; }\n");
        out.append("add chain ").append(t).append(" nodeport-endpoints-check\n");
        out.append("add chain ").append(t).append(" reject-chain { comment \"helper for @no-endpoint-services / @no-endpoint-nodeports\" ; }\n");
        out.append("add chain ").append(t).append(" services\n");
        out.append("add chain ").append(t).append(" service-endpoints-check\n");
        out.append("add rule ").append(t).append(" cluster-ips-check ip daddr @cluster-ips reject comment \"Reject traffic to invalid ports of ClusterIPs\"\n");
        out.append("add rule ").append(t).append(" cluster-ips-check ip daddr { ").append(serviceCidr)
                .append(" } drop comment \"Drop traffic to unallocated ClusterIPs\"\n");
        out.append("add rule ").append(t).append(" filter-prerouting-pre-dnat ct state new jump firewall-check\n");
        out.append("add rule ").append(t).append(" filter-forward ct state new jump service-endpoints-check\n");
        out.append("add rule ").append(t).append(" filter-forward ct state new jump cluster-ips-check\n");
        out.append("add rule ").append(t).append(" filter-input ct state new jump nodeport-endpoints-check\n");
        out.append("add rule ").append(t).append(" filter-input ct state new jump service-endpoints-check\n");
        out.append("add rule ").append(t).append(" filter-output ct state new jump service-endpoints-check\n");
        out.append("add rule ").append(t).append(" filter-output-pre-dnat ct state new jump firewall-check\n");
        out.append("add rule ").append(t).append(" filter-output ct state new jump cluster-ips-check\n");
        out.append("add rule ").append(t).append(" firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips\n");
        out.append("add rule ").append(t).append(" mark-for-masquerade mark set mark or " + MASQ_MARK + "\n");
        out.append("add rule ").append(t).append(" masquerading mark and " + MASQ_MARK + " == 0 return\n");
        out.append("add rule ").append(t).append(" masquerading mark set mark xor " + MASQ_MARK + "\n");
        out.append("add rule ").append(t).append(" masquerading masquerade fully-random\n");
        out.append("add rule ").append(t).append(" nat-output jump services\n");
        out.append("add rule ").append(t).append(" nat-postrouting jump masquerading\n");
        out.append("add rule ").append(t).append(" nat-prerouting jump services\n");
        out.append("add rule ").append(t).append(" nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports\n");
        out.append("add rule ").append(t).append(" reject-chain reject\n");
        out.append("add rule ").append(t).append(" services ip daddr . meta l4proto . th dport vmap @service-ips\n");
        out.append("add rule ").append(t).append(" services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports\n");
        out.append("add rule ").append(t).append(" service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services\n");
        for (LabService s : services) {
            appendNftService(out, s, clusterCidr);
        }
        return out.toString();
    }

    /** One Service port's chains, rules and map elements, as kube-proxy adds them in a partial sync. */
    public static String nftService(LabService s, String clusterCidr) {
        StringBuilder out = new StringBuilder(1200);
        appendNftService(out, s, clusterCidr);
        return out.toString();
    }

    /**
     * kube-proxy's partial sync after the endpoints of {@code changed} (Service ports, with their
     * new endpoints) changed, as one {@code nft -f} transaction: each changed port's service chain
     * and the chains of its current endpoints are added and flushed (knftables' add + flush, so
     * they exist and are empty), their rules written again; the chains of endpoints that are gone
     * ({@code staleChains}) are flushed, to be deleted by a later transaction, as kube-proxy
     * leaves them for at least a second (a map element may still point at them on older kernels).
     * The Service's map elements ({@code cluster-ips}, {@code service-ips}) do not change, so
     * kube-proxy writes none.
     */
    public static String nftEndpointsChanged(List<LabService> changed, String clusterCidr, List<String> staleChains) {
        String t = "ip kube-proxy";
        StringBuilder out = new StringBuilder(changed.size() * 1500 + 256);
        for (LabService s : changed) {
            List<String> chains = new ArrayList<>();
            for (int e = 0; e < s.endpointIps().size(); e++) {
                chains.add(nftEndpointChain(s, e));
            }
            chains.add(nftServiceChain(s));
            for (String chain : chains) {
                out.append("add chain ").append(t).append(' ').append(chain).append('\n');
                out.append("flush chain ").append(t).append(' ').append(chain).append('\n');
            }
            appendNftRules(out, s, clusterCidr);
        }
        for (String chain : staleChains) {
            out.append("flush chain ").append(t).append(' ').append(chain).append('\n');
        }
        return out.toString();
    }

    /** The nftables endpoint chains of {@code before}'s endpoints that {@code after} no longer has. */
    public static List<String> goneNftEndpointChains(LabService before, LabService after) {
        List<String> gone = new ArrayList<>();
        for (int e = 0; e < before.endpointIps().size(); e++) {
            if (!after.endpointIps().contains(before.endpointIps().get(e))) {
                gone.add(nftEndpointChain(before, e));
            }
        }
        return gone;
    }

    private static void appendNftService(StringBuilder out, LabService s, String clusterCidr) {
        String t = "ip kube-proxy";
        String svc = nftServiceChain(s);
        int n = s.endpointIps().size();
        // Chains first: a rule may only name a chain that exists (kube-proxy's transactions do the same).
        out.append("add chain ").append(t).append(' ').append(svc).append('\n');
        for (int e = 0; e < n; e++) {
            out.append("add chain ").append(t).append(' ').append(nftEndpointChain(s, e)).append('\n');
        }
        appendNftRules(out, s, clusterCidr);
        out.append("add element ").append(t).append(" cluster-ips { ").append(s.clusterIp()).append(" }\n");
        out.append("add element ").append(t).append(" service-ips { ").append(s.clusterIp()).append(" . ").append(s.protocol())
                .append(" . ").append(s.port()).append(" : goto ").append(svc).append(" }\n");
    }

    /** The rules of a Service port's service chain and endpoint chains (the chains must exist). */
    private static void appendNftRules(StringBuilder out, LabService s, String clusterCidr) {
        String t = "ip kube-proxy";
        String svc = nftServiceChain(s);
        int n = s.endpointIps().size();
        out.append("add rule ").append(t).append(' ').append(svc).append(" ip daddr ").append(s.clusterIp())
                .append(" ip saddr != ").append(clusterCidr).append(" jump mark-for-masquerade\n");
        out.append("add rule ").append(t).append(' ').append(svc).append(" numgen random mod ").append(n).append(" vmap { ");
        for (int e = 0; e < n; e++) {
            out.append(e == 0 ? "" : " , ").append(e).append(" : goto ").append(nftEndpointChain(s, e));
        }
        out.append(" }\n");
        for (int e = 0; e < n; e++) {
            String ep = nftEndpointChain(s, e);
            out.append("add rule ").append(t).append(' ').append(ep).append(" ip saddr ").append(s.endpointIps().get(e))
                    .append(" jump mark-for-masquerade\n");
            out.append("add rule ").append(t).append(' ').append(ep).append(" meta l4proto ").append(s.protocol())
                    .append(" dnat to ").append(s.endpoint(e)).append('\n');
        }
    }

    // ------------------------------------------------------------------ hashing

    /** kube-proxy's chain-name hash: SHA-256 of the text, base32 (RFC 4648), the first {@code length} characters. */
    static String hash(String text, int length) {
        byte[] digest;
        try {
            digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
        return base32(digest).substring(0, length);
    }

    private static String base32(byte[] data) {
        final String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        StringBuilder out = new StringBuilder((data.length * 8 + 4) / 5);
        int buffer = 0;
        int bits = 0;
        for (byte b : data) {
            buffer = (buffer << 8) | (b & 0xff);
            bits += 8;
            while (bits >= 5) {
                out.append(alphabet.charAt((buffer >>> (bits - 5)) & 31));
                bits -= 5;
            }
        }
        if (bits > 0) {
            out.append(alphabet.charAt((buffer << (5 - bits)) & 31));
        }
        return out.toString();
    }
}
