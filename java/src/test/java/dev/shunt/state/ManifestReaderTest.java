package dev.shunt.state;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ManifestReaderTest {
    static final String WEB = """
            apiVersion: v1
            kind: Service
            metadata:
              name: web
              namespace: default
              labels: {app: web}
            spec:
              type: NodePort
              clusterIP: 10.96.0.20
              selector:
                app: web
                tier: front
              ports:
                - name: http
                  port: 80
                  targetPort: 8080
                  nodePort: 30080
                - name: dns
                  protocol: UDP
                  port: 53
              sessionAffinity: ClientIP
              sessionAffinityConfig:
                clientIP:
                  timeoutSeconds: 600
              externalTrafficPolicy: Local
              internalTrafficPolicy: Cluster
            """;

    static final Service WEB_SERVICE = new Service("web", "NodePort", "10.96.0.20",
            List.of(new Service.Port("http", "TCP", 80, 8080, 30080), new Service.Port("dns", "UDP", 53, 53, 0)),
            Map.of("app", "web", "tier", "front"), 600, "Local", "Cluster");

    @Test
    void aServiceAsUsersWriteItWithEveryFieldShuntActsOn() {
        Manifest m = ManifestReader.read(WEB);
        assertThat(m.objects()).containsExactly(WEB_SERVICE);
        assertThat(m.warnings()).isEmpty();
    }

    @Test
    void leftOutFieldsTakeKubernetesDefaults() {
        Manifest m = ManifestReader.read("""
                apiVersion: v1
                kind: Service
                metadata: {name: db}
                spec:
                  selector: {app: db}
                  ports: [{port: 5432}]
                  sessionAffinity: ClientIP
                """);
        assertThat(m.objects()).containsExactly(new Service("db", "ClusterIP", "", List.of(new Service.Port("", "TCP", 5432, 5432, 0)),
                Map.of("app", "db"), Service.DEFAULT_AFFINITY_SECONDS, "Cluster", "Cluster"));
    }

    @Test
    void jsonIndentedWithTabsAndSeveralObjectsOneAfterTheOther() {
        String json = "{\n\t\"apiVersion\": \"v1\", \"kind\": \"Service\",\n\t\"metadata\": {\"name\": \"a\"},\n"
                + "\t\"spec\": {\"selector\": {\"app\": \"a\"}, \"ports\": [{\"port\": 80, \"targetPort\": 8080}]}\n}\n"
                + "{\"apiVersion\": \"shunt.dev/v1\", \"kind\": \"Node\", \"metadata\": {\"name\": \"n2\"},"
                + " \"spec\": {\"podCIDR\": \"10.244.2.0/24\", \"underlayIP\": \"198.18.0.2\", \"vtepMAC\": \"02:5E:00:00:00:02\"}}";
        Manifest m = ManifestReader.read(json);
        assertThat(m.objects()).containsExactly(
                new Service("a", "ClusterIP", "", List.of(new Service.Port("", "TCP", 80, 8080, 0)), Map.of("app", "a"), 0, "Cluster", "Cluster"),
                new Node("n2", "10.244.2.0/24", "198.18.0.2", "02:5e:00:00:00:02"));
    }

    @Test
    void multiDocumentYamlWithEmptyDocumentsAndAListOfItems() {
        Manifest m = ManifestReader.read("""
                # a comment before the first document
                ---
                ---
                apiVersion: shunt.dev/v1
                kind: Pod
                metadata:
                  name: web-1
                  labels: {app: web, app.kubernetes.io/part-of: shop, empty: ""}
                spec:
                  node: n1
                  ip: 10.244.1.5
                ---
                # only a comment
                ---
                apiVersion: v1
                kind: List
                metadata: {resourceVersion: ""}
                items:
                - apiVersion: shunt.dev/v1
                  kind: Pod
                  metadata: {name: web-2}
                - apiVersion: shunt.dev/v1
                  kind: Node
                  metadata: {name: n1}
                  spec: {podCIDR: 10.244.1.0/24, underlayIP: 198.18.0.1}
                """);
        assertThat(m.objects()).containsExactly(
                new Pod("web-1", "n1", Map.of("app", "web", "app.kubernetes.io/part-of", "shop", "empty", ""), "10.244.1.5", false),
                new Pod("web-2", "", Map.of(), "", false),
                new Node("n1", "10.244.1.0/24", "198.18.0.1", ""));
        assertThat(m.warnings()).isEmpty();
    }

    @Test
    void unknownAndUnsupportedFieldsAreIgnoredWithAWarningNamingThem() {
        Manifest m = ManifestReader.read("""
                apiVersion: v1
                kind: Service
                metadata:
                  name: web
                  namespace: shop
                  uid: 1234
                  colour: blue
                spec:
                  selector: {app: web}
                  externalIPs: [198.18.0.9]
                  prots: oops
                  ports:
                  - port: 80
                    appProtocol: http
                    weight: 3
                  sessionAffinity: ClientIP
                  sessionAffinityConfig: {clientIP: {timeoutSeconds: 30, jitter: 1}}
                status:
                  loadBalancer: {}
                """);
        assertThat(m.objects()).hasSize(1);
        assertThat(m.warnings()).containsExactlyInAnyOrder(
                "services/web: metadata.namespace: \"shop\" ignored: Shunt keeps every object in one namespace",
                "services/web: metadata.colour: unknown field, ignored",
                "services/web: spec.externalIPs: not supported by Shunt, ignored",
                "services/web: spec.prots: unknown field, ignored",
                "services/web: spec.ports[0].weight: unknown field, ignored",
                "services/web: spec.sessionAffinityConfig.clientIP.jitter: unknown field, ignored");
    }

    @Test
    void anInvalidFieldIsRefusedWithItsPathAndNothingOfTheFileIsTaken() {
        String text = WEB + """
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: web2}
                spec:
                  selector: {app: web}
                  ports:
                  - port: 80
                  - port: 70000
                """;
        assertThatThrownBy(() -> ManifestReader.read(text)).isInstanceOf(ManifestException.class)
                .hasMessage("services/web2: spec.ports[1].port: 70000 is not a port number (1-65535)")
                .satisfies(e -> assertThat(((ManifestException) e).problems()).hasSize(1));
    }

    @Test
    void everyProblemOfTheFileIsListed() {
        ManifestException e = refused("""
                apiVersion: v1
                kind: Service
                metadata: {name: lb}
                spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80, nodePort: 30002}]}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: web}
                spec:
                  clusterIP: None
                  selector: {app: web, version: 2}
                  ports:
                  - {name: http, port: "80", protocol: SCTP}
                  - {name: http, port: 81, targetPort: http, nodePort: 30001}
                  - {port: 81}
                  - {port: 82, targetPort: "8080"}
                  - {port: 83, targetPort: 0}
                  sessionAffinity: Sticky
                  externalTrafficPolicy: Local
                  internalTrafficPolicy: local
                ---
                apiVersion: shunt.dev/v1
                kind: Node
                metadata: {name: n2}
                spec: {podCIDR: 10.244.2.1/24, underlayIP: 224.0.0.1, vtepMAC: "01:00:5e:00:00:01"}
                ---
                apiVersion: shunt.dev/v1
                kind: Pod
                metadata: {name: Web_1}
                ---
                apiVersion: shunt.dev/v1
                kind: Pod
                metadata: {name: p, labels: {"-bad": x}}
                spec: {node: Node-1, ip: 10.244.01.5}
                """);
        assertThat(e.problems()).containsExactly(
                "services/lb: spec.type: \"LoadBalancer\" is not supported: ClusterIP or NodePort (a NodePort Service behind a load balancer of your own does the same)",
                "services/web: spec.clusterIP: None (a headless Service) is not supported: a headless Service has no virtual IP to balance, only DNS records, and Shunt serves no DNS",
                "services/web: spec.selector.version: expected a string, not the number 2 (quote it: \"2\")",
                "services/web: spec.ports[0].protocol: \"SCTP\" is not supported: TCP or UDP",
                "services/web: spec.ports[0].port: expected a whole number, not \"80\" (write it without quotes)",
                "services/web: spec.ports[1].name: \"http\" is the name of ports[0] too",
                "services/web: spec.ports[1].targetPort: \"http\" is a named port; Shunt takes target ports as numbers only (its pods declare no ports to look names up in)",
                "services/web: spec.ports[1].nodePort: a node port needs type NodePort (this Service is ClusterIP)",
                "services/web: spec.ports[2].port: 81/TCP is the port of ports[1] too",
                "services/web: spec.ports[3].targetPort: \"8080\" is a named port; Shunt takes target ports as numbers only (its pods declare no ports to look names up in): write it without quotes",
                "services/web: spec.ports[4].targetPort: 0 is not a port number (1-65535)",
                "services/web: spec.sessionAffinity: \"Sticky\" is not one of None, ClientIP",
                "services/web: spec.externalTrafficPolicy: Local applies to NodePort Services (this one is ClusterIP)",
                "services/web: spec.internalTrafficPolicy: \"local\" is not one of Cluster, Local",
                "nodes/n2: spec.podCIDR: 10.244.2.1/24 has host bits set; the network is 10.244.2.0/24",
                "nodes/n2: spec.underlayIP: 224.0.0.1 cannot be a node's address (unspecified, loopback, multicast or broadcast)",
                "nodes/n2: spec.vtepMAC: 01:00:5e:00:00:01 is not a unicast MAC address",
                "document 4: metadata.name: \"Web_1\" is not a valid Pod name: 1-53 lower-case letters, digits and '-', starting and ending with a letter or digit",
                "pods/p: metadata.labels: \"-bad\" is not a valid label key: [PREFIX/]NAME, NAME 1-63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
                "pods/p: spec.node: \"Node-1\" is not a valid node name: 1-16 lower-case letters, digits and '-', starting and ending with a letter or digit",
                "pods/p: spec.ip: \"10.244.01.5\" is not written as an IPv4 address usually is (10.244.1.5?)");
        assertThat(e.getMessage()).startsWith(e.problems().size() + " problems:\n  services/lb: spec.type:");
    }

    @Test
    void kindsAndVersionsShuntDoesNotTakeAreRefused() {
        assertThat(refused("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n").problems()).containsExactly(
                "document 1: kind: \"Deployment\" is not a kind Shunt takes: v1 Service, v1 List, shunt.dev/v1 Node and shunt.dev/v1 Pod");
        assertThat(refused("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n").problems()).containsExactly(
                "document 1: apiVersion: v1 is Kubernetes' Pod, which Shunt does not take; Shunt's own Pod kind has apiVersion shunt.dev/v1");
        assertThat(refused("apiVersion: shunt.dev/v1\nkind: Service\nmetadata: {name: web}\n").problems()).containsExactly(
                "document 1: apiVersion: \"shunt.dev/v1\" is not the apiVersion of a Service (v1)");
        assertThat(refused("kind: Service\nmetadata: {name: web}\n---\n- a\n- b\n---\n42\n").problems()).containsExactly(
                "document 1: apiVersion: missing",
                "document 2: expected a manifest (a mapping with apiVersion, kind, metadata ...), not a list",
                "document 3: expected a manifest (a mapping with apiVersion, kind, metadata ...), not the number 42");
        assertThat(refused("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: List, items: []}\n- {apiVersion: v1, kind: Service}\n")
                .problems()).containsExactly("document 1 items[0]: kind: a List inside a List is not supported",
                "document 1 items[1]: metadata: missing");
    }

    @Test
    void theSameObjectTwiceIsRefused() {
        String pod = "apiVersion: shunt.dev/v1\nkind: Pod\nmetadata: {name: a}\n";
        assertThat(refused(pod + "---\n" + pod).problems()).containsExactly("pods/a: given twice (also in document 1)");
    }

    @Test
    void malformedTextIsRefusedWithLineAndColumn() {
        assertThat(refused("apiVersion: v1\nkind: Service\nmetadata: {name: web\n").problems()).singleElement().asString()
                .startsWith("line 4, column 1: not valid YAML: ");
        assertThat(refused("apiVersion: v1\nkind: Service\nkind: Pod\n").problems())
                .containsExactly("line 3, column 1: field \"kind\" is given twice");
        assertThat(refused("{\"apiVersion\": \"v1\", \"apiVersion\": \"v1\"}").problems())
                .containsExactly("line 1, column 22: field \"apiVersion\" is given twice");
        assertThat(refused("{\"apiVersion\": \"v1\",\n\t\"kind\": }").problems()).singleElement().asString()
                .startsWith("line 2, column 10: not valid JSON: ");
        assertThat(refused("a: &x {b: 1}\nc: *x\n").problems())
                .containsExactly("line 2, column 4: YAML aliases (*x) are not supported: write the value out");
        assertThat(refused("a: " + "[".repeat(200) + "]".repeat(200) + "\n").problems()).singleElement().asString()
                .contains("nested more than 64 levels deep");
    }

    @Test
    void aYamlFlowMappingThatIsNotJsonStillReads() {
        Manifest m = ManifestReader.read("{apiVersion: shunt.dev/v1, kind: Pod, metadata: {name: a}}");
        assertThat(m.objects()).containsExactly(new Pod("a", "", Map.of(), "", false));
    }

    @Test
    void referencesNeedOnlyKindAndName() {
        List<ObjectRef> refs = ManifestReader.readReferences(WEB.replace("port: 80", "port: 80000") + """
                ---
                apiVersion: shunt.dev/v1
                kind: Node
                metadata: {name: n2}
                """);
        assertThat(refs).containsExactly(new ObjectRef(Kind.SERVICE, "web"), new ObjectRef(Kind.NODE, "n2"));
        assertThatThrownBy(() -> ManifestReader.readReferences("apiVersion: v1\nkind: Service\nmetadata: {name: Web}\n"))
                .isInstanceOf(ManifestException.class).hasMessageStartingWith("document 1: metadata.name: \"Web\" is not a valid Service name");
    }

    @Test
    void whatTheWriterWritesReadsBackTheSame() {
        List<StateObject> objects = List.of(WEB_SERVICE, new Node("n1", "10.244.1.0/24", "198.18.0.1", "02:5e:00:00:00:01"),
                new Pod("web-1", "n1", Map.of("app", "web"), "10.244.1.5", true),
                new Service("db", "ClusterIP", "", List.of(new Service.Port("", "UDP", 53, 5353, 0)), Map.of("app", "db"), 0, "Cluster", "Local"));
        String json = ManifestWriter.list(objects, Map.of("web", List.of(new Endpoint("web-1", "n1", "10.244.1.5", false, true, true))))
                .toPrettyString();
        Manifest back = ManifestReader.read(json);
        assertThat(back.warnings()).isEmpty();
        // A pod's terminating condition is the agent's, never read from a manifest.
        assertThat(back.objects()).containsExactly(objects.get(0), objects.get(1),
                new Pod("web-1", "n1", Map.of("app", "web"), "10.244.1.5", false), objects.get(3));
        assertThat(json).contains("\"terminating\" : true", "\"pod\" : \"web-1\"");
    }

    @Test
    void theExampleInTheReadmeReadsWithoutAWarning() throws java.io.IOException {
        Manifest m = ManifestReader.read(java.nio.file.Files.readString(java.nio.file.Path.of("../netns-scripts/examples/web.yaml")));
        assertThat(m.warnings()).isEmpty();
        assertThat(m.objects()).extracting(StateObject::path)
                .containsExactly("pods/web-1", "pods/web-2", "pods/web-3", "pods/client", "services/web", "services/shop");
    }

    private static ManifestException refused(String text) {
        try {
            ManifestReader.read(text);
        } catch (ManifestException e) {
            return e;
        }
        throw new AssertionError("accepted: " + text);
    }
}
