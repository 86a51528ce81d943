package dev.shunt.service;

import java.util.Arrays;

/**
 * An open-addressing map from long keys to int values, filled once and then only read: the
 * lookup structure of an immutable snapshot. Linear probing at a load factor of at most 1/2;
 * no boxing, no allocation on {@link #get}. Keys must not be {@link Long#MIN_VALUE} (the empty mark).
 */
final class LongIntMap {
    private static final long EMPTY = Long.MIN_VALUE;

    private final long[] keys;
    private final int[] values;
    private final int mask;
    private int size;

    LongIntMap(int expected) {
        int capacity = Integer.highestOneBit(Math.max(4, expected * 2 - 1)) << 1;
        keys = new long[capacity];
        values = new int[capacity];
        Arrays.fill(keys, EMPTY);
        mask = capacity - 1;
    }

    /** Stores {@code value} under {@code key}; returns the previous value or -1. */
    int put(long key, int value) {
        if (key == EMPTY) {
            throw new IllegalArgumentException("key Long.MIN_VALUE is reserved");
        }
        if ((size + 1) * 2 > keys.length) {
            throw new IllegalStateException("LongIntMap sized for " + keys.length / 2 + " keys is full");
        }
        int slot = (int) Hashing.mix(key) & mask;
        while (keys[slot] != EMPTY) {
            if (keys[slot] == key) {
                int previous = values[slot];
                values[slot] = value;
                return previous;
            }
            slot = (slot + 1) & mask;
        }
        keys[slot] = key;
        values[slot] = value;
        size++;
        return -1;
    }

    /** The value for {@code key}, or -1. */
    int get(long key) {
        int slot = (int) Hashing.mix(key) & mask;
        long k;
        while ((k = keys[slot]) != EMPTY) {
            if (k == key) {
                return values[slot];
            }
            slot = (slot + 1) & mask;
        }
        return -1;
    }

    int size() {
        return size;
    }
}
