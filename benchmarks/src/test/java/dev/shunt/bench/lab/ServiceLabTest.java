package dev.shunt.bench.lab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shunt.netns.NetworkNamespace;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The benchmark lab's kernel data planes, without running a benchmark: kube-proxy's rulesets for
 * three Services are loaded into a lab node namespace and read back with the tools' own dumps
 * ({@code iptables-save}, {@code nft -j list ruleset}), and real TCP connections and UDP requests
 * from the client pod reach both servers through the VIP. Everything lives in
 * {@code shunt-bench-*} namespaces that the lab removes, also when an assertion fails.
 */
class ServiceLabTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void iptablesRulesetHasKubeProxysChainsWithTheMeasuredServiceLast() throws Exception {
        try (ServiceLab lab = ServiceLab.start(ServiceLab.Dataplane.IPTABLES, 3)) {
            String saved = Commands.run(Commands.in(lab.nodeNamespace(), ServiceLab.iptablesTool("save"), "-t", "nat"));
            List<String> services = saved.lines().filter(l -> l.startsWith("-A KUBE-SERVICES ")).toList();
            // 2 other Services, the measured one's TCP and UDP ports, then the NodePorts rule that kube-proxy keeps last.
            assertThat(services).hasSize(5);
            assertThat(services.get(4)).contains("-j KUBE-NODEPORTS");
            assertThat(services.get(2)).contains("-d " + ServiceLab.VIP + "/32").contains("--dport 80").contains("-p tcp");
            assertThat(services.get(3)).contains("-d " + ServiceLab.VIP + "/32").contains("-p udp");
            assertThat(services.get(0)).contains("bench/svc-000000:http cluster IP");
            long svcChains = saved.lines().filter(l -> l.startsWith(":KUBE-SVC-")).count();
            long sepChains = saved.lines().filter(l -> l.startsWith(":KUBE-SEP-")).count();
            assertThat(svcChains).isEqualTo(4);
            assertThat(sepChains).isEqualTo(8);
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
            assertThat(serviceIps.path("elem").size()).isEqualTo(4);
            assertThat(serviceIps.path("elem").toString()).contains(ServiceLab.VIP);
            assertThat(chains).contains("services", "nat-prerouting", "mark-for-masquerade", "masquerading",
                    KubeProxyRulesets.nftServiceChain(ServiceLab.kubeServices(3, lab.serverIps()).get(2)));
            assertThat(chains.stream().filter(c -> c.startsWith("endpoint-")).count()).isEqualTo(8);
            assertThat(numgenChains).hasSize(4).allMatch(c -> c.startsWith("service-"));
            assertBothServersAnswer(lab);
        }
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
            tcp.add(client.call(() -> ServiceLab.tcpRequest(2000)));
            udp.add(client.call(() -> ServiceLab.udpRequest(2000)));
        }
        assertThat(tcp).containsExactlyInAnyOrder((int) '1', (int) '2');
        assertThat(udp).containsExactlyInAnyOrder((int) '1', (int) '2');
    }
}
