package dev.shunt.service;

/**
 * One port of a Service (Kubernetes ServicePort): clients connect to {@code port} on the ClusterIP
 * (and to {@code nodePort} on every node for a NodePort Service, 0 otherwise); backends listen on
 * {@code targetPort}.
 */
public record ServicePort(String name, Protocol protocol, int port, int targetPort, int nodePort) {
    public static final int NODE_PORT_MIN = 30000;
    public static final int NODE_PORT_MAX = 32767;

    public ServicePort {
        if (name == null) {
            name = "";
        }
        checkPort("port", port);
        checkPort("targetPort", targetPort);
        if (nodePort != 0 && (nodePort < NODE_PORT_MIN || nodePort > NODE_PORT_MAX)) {
            throw new IllegalArgumentException("nodePort " + nodePort + " is outside " + NODE_PORT_MIN + "-" + NODE_PORT_MAX);
        }
    }

    public static ServicePort of(Protocol protocol, int port, int targetPort) {
        return new ServicePort("", protocol, port, targetPort, 0);
    }

    public ServicePort withNodePort(int newNodePort) {
        return new ServicePort(name, protocol, port, targetPort, newNodePort);
    }

    private static void checkPort(String what, int value) {
        if (value < 1 || value > 65535) {
            throw new IllegalArgumentException(what + " " + value + " is outside 1-65535");
        }
    }

    @Override
    public String toString() {
        return port + "/" + protocol.name().toLowerCase() + (targetPort != port ? ":" + targetPort : "")
                + (nodePort != 0 ? " nodePort " + nodePort : "");
    }
}
