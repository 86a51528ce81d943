/**
 * Owns the node's VXLAN overlay in the kernel: the {@code shunt.vx} device and, per remote node, its
 * permanent FDB entry and VTEP neighbour entry on that device. Must not touch any other device, any
 * entry it did not make, routes, or the fast path; uses {@code netlink} only.
 */
package dev.shunt.overlay;
