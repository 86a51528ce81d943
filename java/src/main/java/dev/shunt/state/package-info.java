/**
 * Owns the cluster's desired state as data (nodes, pods, Services, endpoints), the manifests users write it in, and its sources.
 * Must not touch the kernel, the fast path, the agent or its files: JDK, Jackson and {@code inet} only; no I/O but the text it is handed.
 */
package dev.shunt.state;
