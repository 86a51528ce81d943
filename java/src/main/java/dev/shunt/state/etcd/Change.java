package dev.shunt.state.etcd;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One change seen by a watch: a key was put (with its new value) or deleted (empty value; a lease
 * that expired deletes its keys too). {@code modRevision} is the store revision of the change;
 * several changes made by one transaction share it.
 */
public record Change(Type type, String key, byte[] value, long modRevision) {
    public enum Type { PUT, DELETE }

    public Change {
        value = value.clone();
    }

    @Override
    public byte[] value() {
        return value.clone();
    }

    public String valueText() {
        return new String(value, StandardCharsets.UTF_8);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Change c && c.type == type && c.key.equals(key) && Arrays.equals(c.value, value)
                && c.modRevision == modRevision;
    }

    @Override
    public int hashCode() {
        return key.hashCode() * 31 + Long.hashCode(modRevision);
    }

    @Override
    public String toString() {
        return type + " " + key + "@" + modRevision + (type == Type.PUT ? "=" + valueText() : "");
    }
}
