/**
 * Owns packet I/O: the Port contract, receive batches, per-port counters, the in-memory port for
 * tests, and (later) AF_PACKET and AF_XDP ports. Uses {@code sys} and {@code packet}; knows
 * nothing of routing, Services or conntrack.
 */
package dev.shunt.port;
