/**
 * Owns the node agent: wiring of IPAM, pod plumbing, the fast path and the API server on a Unix
 * socket, Services (allocation, persistence, endpoints from pod labels), manifests applied to the
 * node ({@code StateApi}), and the state that lets a restarted agent adopt its pods and Services.
 * The only package that wires others together; nothing depends on it but {@code cli}'s agent command.
 */
package dev.shunt.agent;
