/**
 * Owns address value types shared by every layer: literal IP parsing and canonical text.
 * JDK only, no I/O, no kernel: {@code ipam}, {@code netlink} and later {@code packet} may all use it.
 */
package dev.shunt.inet;
