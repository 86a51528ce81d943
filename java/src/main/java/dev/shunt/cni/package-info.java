/**
 * Owns the CNI 1.1.0 protocol as a plugin speaks it: the verbs, the configuration and result JSON
 * of versions 0.4.0, 1.0.0 and 1.1.0, error codes, delegated IPAM plugins; uses ipam, netlink, netns.
 * Pods themselves are made by whoever implements {@link dev.shunt.cni.Attachments} (the agent).
 */
package dev.shunt.cni;
