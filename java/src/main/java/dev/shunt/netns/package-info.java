/**
 * Owns named network namespaces: create (as {@code ip netns add}), enter on a dedicated platform
 * thread, list, delete, and per-namespace sysctls. Uses {@code sys} only; knows nothing of links,
 * routes or packets.
 */
package dev.shunt.netns;
