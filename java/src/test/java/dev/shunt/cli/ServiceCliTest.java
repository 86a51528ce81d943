package dev.shunt.cli;

import org.junit.jupiter.api.Test;

import static dev.shunt.cli.CliTest.shunt;
import static org.assertj.core.api.Assertions.assertThat;

/** Bad arguments of the Service, flow and capture commands exit 2 before any agent is asked. */
class ServiceCliTest {
    private static final String NO_AGENT = "/nonexistent/shunt-test.sock";

    private static void usage(String expectedFirstLine, String... args) {
        String[] full = new String[args.length + 2];
        System.arraycopy(args, 0, full, 0, args.length);
        full[args.length] = "--socket";
        full[args.length + 1] = NO_AGENT;
        CliTest.Result r = shunt(full);
        assertThat(r.exit()).as(String.join(" ", args) + ": " + r.err()).isEqualTo(Main.EXIT_USAGE);
        assertThat(r.out()).isEmpty();
        assertThat(r.err().lines().findFirst().orElseThrow()).isEqualTo(expectedFirstLine);
        assertThat(r.err()).contains("Usage: shunt");
    }

    @Test
    void serviceAddRefusesMalformedArgumentsWithExitTwo() {
        usage("shunt: --port '80/tcp:' is not [NAME=]PORT/PROTO[:TARGETPORT], e.g. 80/tcp:8080",
                "service", "add", "web", "--port", "80/tcp:", "--selector", "app=web");
        usage("shunt: --port '70000/tcp': ports are 1-65535", "service", "add", "web", "--port", "70000/tcp", "--selector", "app=web");
        usage("shunt: --port '80/sctp': the protocol is tcp or udp", "service", "add", "web", "--port", "80/sctp", "--selector", "app=web");
        usage("shunt: --type 'LoadBalancer' is not one of ClusterIP, NodePort",
                "service", "add", "web", "--port", "80", "--selector", "app=web", "--type", "LoadBalancer");
        usage("shunt: --node-port needs --type NodePort",
                "service", "add", "web", "--port", "80", "--selector", "app=web", "--node-port", "30000");
        usage("shunt: 2 --node-port values for 1 --port values", "service", "add", "web", "--port", "80", "--selector", "app=web",
                "--type", "NodePort", "--node-port", "30000", "--node-port", "30001");
        usage("shunt: --external-traffic-policy Local needs --type NodePort",
                "service", "add", "web", "--port", "80", "--selector", "app=web", "--external-traffic-policy", "local");
        usage("shunt: --cluster-ip '10.96.0.300' is not an IPv4 address",
                "service", "add", "web", "--port", "80", "--selector", "app=web", "--cluster-ip", "10.96.0.300");
        usage("shunt: --affinity 'sticky' is not client-ip[:SECONDS] or none",
                "service", "add", "web", "--port", "80", "--selector", "app=web", "--affinity", "sticky");
        usage("shunt: --affinity timeout 0 s is outside 1-86400",
                "service", "add", "web", "--port", "80", "--selector", "app=web", "--affinity", "client-ip:0");
        usage("shunt: Missing required option: '--selector=KEY=VALUE'", "service", "add", "web", "--port", "80");
        usage("shunt: Missing required option: '--port=[NAME=]PORT/PROTO[:TARGETPORT]'", "service", "add", "web", "--selector", "a=b");
    }

    @Test
    void otherCommandsRefuseMalformedArgumentsWithExitTwo() {
        usage("shunt: -c 0 is outside 1-1000000", "capture", "--port", "web-1", "-c", "0", "-w", "/tmp/x.pcap");
        usage("shunt: --grace -1 is outside 0-86400", "pod", "del", "web-1", "--grace", "-1");
        usage("shunt: Unknown option: '--colour'", "flows", "--colour");
    }

    @Test
    void wellFormedCommandsReachForTheAgent() {
        CliTest.Result r = shunt("service", "add", "web", "--port", "dns=53/udp", "--port", "80/tcp:8080", "--selector", "app=web",
                "--type", "nodeport", "--node-port", "30053", "--affinity", "client-ip:60", "--socket", NO_AGENT);
        assertThat(r.exit()).isEqualTo(Main.EXIT_FAILURE);
        assertThat(r.err()).startsWith("shunt: error: no agent socket at " + NO_AGENT);
    }
}
