/**
 * Owns packet I/O: the Port contract, receive batches, per-port counters, the in-memory port for
 * tests, the AF_PACKET port on TPACKET_V2 rings, or V3 ({@link dev.shunt.port.AfPacketPort}, its RX walks
 * {@code V2RxRing}/{@code V3RxRing}), and (later)
 * AF_XDP ports. Uses {@code sys} and {@code packet}; knows
 * nothing of routing, Services or conntrack.
 */
package dev.shunt.port;
