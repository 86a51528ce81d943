package dev.shunt.state;

/**
 * One endpoint of a Service: a selected pod with an address, and its conditions (those of a
 * Kubernetes EndpointSlice, and of the data plane's {@link dev.shunt.service.Endpoint}). Endpoints
 * are not declared: they follow from a Service's selector and the pods of the moment.
 *
 * @param ready       serving and not terminating: new connections may go to it
 * @param serving     it answers (also while terminating)
 * @param terminating its pod is being deleted: established connections drain, new ones avoid it
 */
public record Endpoint(String pod, String node, String ip, boolean ready, boolean serving, boolean terminating) {}
