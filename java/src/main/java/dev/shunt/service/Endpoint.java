package dev.shunt.service;

import java.net.Inet4Address;

/**
 * A backend of a Service (an EndpointSlice endpoint): its pod IP, the node it runs on, and its
 * conditions. {@code ready}: serving and not terminating. {@code serving}: passes readiness, even
 * while terminating. {@code terminating}: being deleted (its existing flows drain).
 */
public record Endpoint(Inet4Address address, String nodeName, boolean ready, boolean serving, boolean terminating) {
    public Endpoint {
        if (address == null) {
            throw new IllegalArgumentException("endpoint address is missing");
        }
        if (nodeName == null) {
            nodeName = "";
        }
    }

    /** A ready endpoint on {@code node}. */
    public static Endpoint ready(Inet4Address address, String node) {
        return new Endpoint(address, node, true, true, false);
    }

    /** The same endpoint, terminating but still serving (e.g. in its grace period). */
    public Endpoint terminatingServing() {
        return new Endpoint(address, nodeName, false, true, true);
    }
}
