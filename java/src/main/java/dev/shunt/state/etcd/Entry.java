package dev.shunt.state.etcd;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One key as etcd holds it: its value and revisions. {@code modRevision} is what compare-and-set
 * operations ({@link EtcdStore#putIfRevision}) compare against; {@code leaseId} is 0 for a key on
 * no lease.
 */
public record Entry(String key, byte[] value, long createRevision, long modRevision, long version, long leaseId) {
    public Entry {
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
        return o instanceof Entry e && e.key.equals(key) && Arrays.equals(e.value, value) && e.createRevision == createRevision
                && e.modRevision == modRevision && e.version == version && e.leaseId == leaseId;
    }

    @Override
    public int hashCode() {
        return key.hashCode() * 31 + Long.hashCode(modRevision);
    }

    @Override
    public String toString() {
        return key + "@" + modRevision + "=" + valueText() + (leaseId != 0 ? " (lease " + Long.toHexString(leaseId) + ")" : "");
    }
}
