/**
 * Owns Shunt's cluster state in etcd: the key layout, subnet claims held by leases, lists and resumable
 * watches of key prefixes, and the connection status. Values are opaque bytes (JSON); knows nothing of the
 * desired-state model, the kernel or the data plane. See docs/etcd.md.
 */
package dev.shunt.state.etcd;
