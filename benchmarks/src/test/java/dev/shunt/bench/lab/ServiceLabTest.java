package dev.shunt.bench.lab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.netns.NetworkNamespace;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The benchmark lab, without running a benchmark: kube-proxy's rulesets for three Services are
 * loaded into a lab node namespace and read back with the tools' own dumps ({@code
 * iptables-save}, {@code nft -j list ruleset}), and real TCP connections and UDP requests from the
 * client pod reach both servers through the VIP. For every data plane (Shunt's agent too) the
 * paths ThroughputBench and RuleUpdateBench's endpoint change take are run once: bulk transfers
 * through the VIP, confirmed by the sinks, and endpoint withdrawals, checked in the data plane's
 * own state and by real traffic that no longer reaches the withdrawn server. Everything lives in
 * {@code shunt-bench-*} namespaces that the lab removes, also when an assertion fails.
 */
class ServiceLabTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void iptablesRulesetHasKubeProxysChainsWithTheMeasuredServiceLast() throws Exception {
        try (ServiceLab lab = ServiceLab.start(ServiceLab.Dataplane.IPTABLES, 3)) {
            String saved = Commands.run(Commands.in(lab.nodeNamespace(), ServiceLab.iptablesTool("save"), "-t", "nat"));
            List<String> services = saved.lines().filter(l -> l.startsWith("-A KUBE-SERVICES ")).toList();
            // 2 other Services, the measured one's bulk, TCP and UDP ports, then the NodePorts rule that kube-proxy keeps last.
            assertThat(services).hasSize(6);
            assertThat(services.get(5)).contains("-j KUBE-NODEPORTS");
            assertThat(services.get(2)).contains("-d " + ServiceLab.VIP + "/32").contains("--dport 5201").contains("-p tcp");
            assertThat(services.get(3)).contains("-d " + ServiceLab.VIP + "/32").contains("--dport 80").contains("-p tcp");
            assertThat(services.get(4)).contains("-d " + ServiceLab.VIP + "/32").contains("-p udp");
            assertThat(services.get(0)).contains("bench/svc-000000:http cluster IP");
            long svcChains = saved.lines().filter(l -> l.startsWith(":KUBE-SVC-")).count();
            long sepChains = saved.lines().filter(l -> l.startsWith(":KUBE-SEP-")).count();
            assertThat(svcChains).isEqualTo(5);
            assertThat(sepChains).isEqualTo(10);
            assertThat(saved).contains("-m statistic --mode random --probability 0.50000000000")
                    .contains("-j KUBE-MARK-MASQ").contains(":KUBE-POSTROUTING")
                    .contains("-j DNAT --to-destination 10.244.1.1:8080");
            String filter = Commands.run(Commands.in(lab.nodeNamespace(), ServiceLab.iptablesTool("save"), "-t", "filter"));
            assertThat(filter).contains(":KUBE-FORWARD").contains("--ctstate INVALID -j DROP");
            assertBothServersAnswer(lab);
        }
    }

    @Test
    void nftablesRulesetHasTheServiceIpsVerdictMapAndPerServiceChains() throws Exception {
        try (ServiceLab lab = ServiceLab.start(ServiceLab.Dataplane.NFTABLES, 3)) {
            JsonNode items = JSON.readTree(Commands.run(Commands.in(lab.nodeNamespace(), "nft", "-j", "list", "ruleset")))
                    .path("nftables");
            JsonNode serviceIps = null;
            Set<String> chains = new HashSet<>();
            List<String> numgenChains = new ArrayList<>();
            for (JsonNode item : items) {
                if (item.has("map") && item.get("map").path("name").asText().equals("service-ips")) {
                    serviceIps = item.get("map");
                }
                if (item.has("chain")) {
                    chains.add(item.get("chain").path("name").asText());
                }
                if (item.has("rule") && item.get("rule").toString().contains("\"numgen\"")) {
                    numgenChains.add(item.get("rule").path("chain").asText());
                }
            }
            assertThat(serviceIps).as("map service-ips").isNotNull();
            assertThat(serviceIps.path("type").toString()).contains("ipv4_addr").contains("inet_proto").contains("inet_service");
            assertThat(serviceIps.path("map").asText()).isEqualTo("verdict");
            assertThat(serviceIps.path("elem").size()).isEqualTo(5);
            assertThat(serviceIps.path("elem").toString()).contains(ServiceLab.VIP);
            assertThat(chains).contains("services", "nat-prerouting", "mark-for-masquerade", "masquerading",
                    KubeProxyRulesets.nftServiceChain(ServiceLab.kubeServices(3, lab.serverIps()).get(2)));
            assertThat(chains.stream().filter(c -> c.startsWith("endpoint-")).count()).isEqualTo(10);
            assertThat(numgenChains).hasSize(5).allMatch(c -> c.startsWith("service-"));
            assertBothServersAnswer(lab);
        }
    }

    @ParameterizedTest
    @EnumSource(ServiceLab.Dataplane.class)
    void bulkTransfersAndEndpointWithdrawalsWorkThroughTheVip(ServiceLab.Dataplane dataplane) throws Exception {
        try (ServiceLab lab = ServiceLab.start(dataplane, 3)) {
            NetworkNamespace client = NetworkNamespace.named(lab.clientNamespace());
            ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 16);
            long bytes = 8L << 20;
            Set<Integer> sinks = new HashSet<>();
            for (int i = 0; i < 40 && sinks.size() < 2; i++) {
                LabClient.Transfer t = client.call(() -> LabClient.bulkTransfer(chunk, bytes, 10_000));
                assertThat(t.delivered()).isEqualTo(bytes);
                assertThat(t.cutShort()).isFalse();
                sinks.add(t.server());
            }
            assertThat(sinks).containsExactlyInAnyOrder((int) '1', (int) '2');

            // RuleUpdateBench's step: a spare endpoint made ready, then withdrawn.
            String spare = lab.addSpareEndpoint(0);
            assertThat(endpointState(lab, spare)).isEqualTo("ready");
            lab.prepareWithdrawal(spare).get();
            assertThat(endpointState(lab, spare)).isEqualTo(dataplane == ServiceLab.Dataplane.SHUNT ? "terminating" : "absent");
            // A second round from the state the first left (stale nftables chains deleted on the way).
            String second = lab.addSpareEndpoint(1);
            assertThat(endpointState(lab, second)).isEqualTo("ready");
            lab.prepareWithdrawal(second).get();
            assertThat(endpointState(lab, second)).isEqualTo(dataplane == ServiceLab.Dataplane.SHUNT ? "terminating" : "absent");

            // The same step for a real server: new flows of every port go to the other one only.
            String withdrawn = lab.serverIps().get(1);
            lab.prepareWithdrawal(withdrawn).get();
            assertThat(endpointState(lab, withdrawn)).isEqualTo(dataplane == ServiceLab.Dataplane.SHUNT ? "terminating" : "absent");
            for (int i = 0; i < 30; i++) {
                assertThat(client.call(() -> LabClient.tcpRequest(2000))).isEqualTo((int) '1');
                assertThat(client.call(() -> LabClient.udpRequest(2000))).isEqualTo((int) '1');
            }
            for (int i = 0; i < 4; i++) {
                assertThat(client.call(() -> LabClient.bulkTransfer(chunk, 1 << 20, 10_000)).server()).isEqualTo((int) '1');
            }
        }
    }

    /**
     * How the data plane itself holds endpoint {@code ip} of the measured Service: "ready",
     * "terminating" (Shunt: still listed, no new flows) or "absent" (the kernel rulesets: no DNAT
     * to it is left in any chain, on any of the three ports).
     */
    private static String endpointState(ServiceLab lab, String ip) throws Exception {
        return switch (lab.dataplane()) {
            case SHUNT -> {
                for (JsonNode service : lab.agentApi().call("GET", "/v1/services", null)) {
                    if (!service.path("name").asText().equals("measured")) {
                        continue;
                    }
                    for (JsonNode e : service.path("endpoints")) {
                        if (e.path("ip").asText().equals(ip)) {
                            yield e.path("ready").asBoolean() ? "ready" : e.path("terminating").asBoolean() ? "terminating" : "not ready";
                        }
                    }
                }
                yield "absent";
            }
            case IPTABLES -> {
                String nat = Commands.run(Commands.in(lab.nodeNamespace(), ServiceLab.iptablesTool("save"), "-t", "nat"));
                long dnats = nat.lines().filter(l -> l.contains("--to-destination " + ip + ":")).count();
                // Its KUBE-SEP chains must be deleted, not left empty: every declared one still has rules.
                Set<String> declared = new HashSet<>();
                Set<String> filled = new HashSet<>();
                nat.lines().filter(l -> l.startsWith(":KUBE-SEP-")).forEach(l -> declared.add(l.substring(1, l.indexOf(' '))));
                nat.lines().filter(l -> l.startsWith("-A KUBE-SEP-")).forEach(l -> filled.add(l.split(" ")[1]));
                yield dnats == 3 ? "ready" : dnats == 0 && declared.equals(filled) ? "absent"
                        : dnats + " DNAT rules to it, empty KUBE-SEP chains left: " + (declared.size() - filled.size());
            }
            case NFTABLES -> {
                String ruleset = Commands.run(Commands.in(lab.nodeNamespace(), "nft", "list", "ruleset"));
                long dnats = ruleset.lines().filter(l -> l.contains("dnat to " + ip + ":")).count();
                long numgen3 = ruleset.lines().filter(l -> l.contains("numgen random mod 3")).count();
                yield dnats == 3 && numgen3 == 3 ? "ready" : dnats == 0 && numgen3 == 0 ? "absent"
                        : dnats + " DNAT rules to it, " + numgen3 + " service chains over 3 endpoints";
            }
        };
    }

    @Test
    void iptablesChainHashesMatchKubeProxys() {
        // Known pairs from kube-proxy's own tests (ns1/svc1:p80 with endpoint 10.180.0.1:80).
        LabService s = new LabService("ns1", "svc1", "p80", "tcp", "172.30.0.41", 80, List.of("10.180.0.1"), 80);
        assertThat(KubeProxyRulesets.serviceChain(s)).isEqualTo("KUBE-SVC-XPGD46QRK7WJZT7O");
        assertThat(KubeProxyRulesets.endpointChain(s, 0)).isEqualTo("KUBE-SEP-SXIVWICOYRO3J4NJ");
        assertThat(KubeProxyRulesets.nftServiceChain(s)).isEqualTo("service-ULMVA6XW-ns1/svc1/tcp/p80");
        assertThat(KubeProxyRulesets.nftEndpointChain(s, 0)).isEqualTo("endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80");
    }

    /** TCP and UDP from the client pod's namespace to the VIP, until both servers have answered (bounded). */
    private static void assertBothServersAnswer(ServiceLab lab) {
        NetworkNamespace client = NetworkNamespace.named(lab.clientNamespace());
        Set<Integer> tcp = new HashSet<>();
        Set<Integer> udp = new HashSet<>();
        for (int i = 0; i < 200 && (tcp.size() < 2 || udp.size() < 2); i++) {
            tcp.add(client.call(() -> LabClient.tcpRequest(2000)));
            udp.add(client.call(() -> LabClient.udpRequest(2000)));
        }
        assertThat(tcp).containsExactlyInAnyOrder((int) '1', (int) '2');
        assertThat(udp).containsExactlyInAnyOrder((int) '1', (int) '2');
    }
}
