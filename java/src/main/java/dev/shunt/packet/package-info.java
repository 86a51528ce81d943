/**
 * Owns the zero-copy packet layer of the fast path: flyweight views over a MemorySegment, the
 * one-pass PacketParser with its DropReasons, checksums and NAT rewrites, and a (test-grade) builder.
 * Uses the JDK only, never another Shunt package; no I/O, no kernel, no allocation per packet.
 */
package dev.shunt.packet;
