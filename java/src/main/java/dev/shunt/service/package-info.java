/**
 * Owns the Service model (Services, ports, endpoints and their conditions), endpoint selection
 * and Maglev tables. JDK only: no kernel, no packets, no I/O; the data path reads its immutable
 * snapshots.
 */
package dev.shunt.service;
