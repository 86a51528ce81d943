package dev.shunt.bench.lab;

import java.util.List;

/**
 * One Service port as kube-proxy sees it after reading a Service and its EndpointSlice: the
 * ClusterIP, the port, the protocol, and the endpoints' addresses with their target port. The lab
 * renders the same list as iptables rules, as nftables rules, and as Shunt API records, so every
 * data plane gets the same Services.
 *
 * @param namespace Kubernetes namespace of the Service (only in names and comments)
 * @param protocol  "tcp" or "udp", lower case as kube-proxy writes it
 * @param portName  the Service port's name ("" for an unnamed single port)
 */
public record LabService(String namespace, String name, String portName, String protocol, String clusterIp, int port,
                         List<String> endpointIps, int targetPort) {
    public LabService {
        if (!protocol.equals("tcp") && !protocol.equals("udp")) {
            throw new IllegalArgumentException("protocol must be tcp or udp, not " + protocol);
        }
        endpointIps = List.copyOf(endpointIps);
    }

    /** kube-proxy's ServicePortName.String(): {@code namespace/name:portName}. */
    public String servicePortName() {
        return namespace + "/" + name + ":" + portName;
    }

    /** The same Service port with other endpoints (as after an EndpointSlice update). */
    public LabService withEndpoints(List<String> ips) {
        return new LabService(namespace, name, portName, protocol, clusterIp, port, ips, targetPort);
    }

    /** An endpoint as kube-proxy spells it in chain hashes and comments: {@code ip:port}. */
    public String endpoint(int index) {
        return endpointIps.get(index) + ":" + targetPort;
    }
}
