package dev.shunt.state.etcd;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A compare-and-set over several keys, committed by {@link EtcdStore#commit} as one etcd
 * transaction: if every {@link Expect} holds, every {@link Write} is done at one new revision;
 * otherwise nothing is written. This is how a record and the claims that guard what it allocates
 * (e.g. a Service and its ClusterIP) are created, changed or deleted together.
 */
public record Transaction(List<Expect> expects, List<Write> writes) {
    public Transaction {
        expects = List.copyOf(expects);
        writes = List.copyOf(writes);
    }

    /** {@code key}'s modification revision must be {@code modRevision}; 0: the key must not exist. */
    public record Expect(String key, long modRevision) {
        public Expect {
            if (modRevision < 0) {
                throw new IllegalArgumentException("a revision is never negative: " + modRevision);
            }
        }

        public static Expect absent(String key) {
            return new Expect(key, 0);
        }
    }

    /** A put of {@code value} at {@code key}, or (value null) a delete of {@code key}. */
    public record Write(String key, byte[] value) {
        public Write {
            value = value == null ? null : value.clone();
        }

        public static Write put(String key, byte[] value) {
            return new Write(key, java.util.Objects.requireNonNull(value, "value"));
        }

        public static Write put(String key, String value) {
            return put(key, value.getBytes(StandardCharsets.UTF_8));
        }

        public static Write delete(String key) {
            return new Write(key, null);
        }

        public boolean isDelete() {
            return value == null;
        }

        @Override
        public byte[] value() {
            return value == null ? null : value.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Write w && w.key.equals(key) && java.util.Arrays.equals(w.value, value);
        }

        @Override
        public int hashCode() {
            return key.hashCode() * 31 + java.util.Arrays.hashCode(value);
        }

        @Override
        public String toString() {
            return value == null ? "delete " + key : "put " + key + "=" + new String(value, StandardCharsets.UTF_8);
        }
    }
}
