package dev.shunt.state.etcd;

import java.net.URI;
import java.time.Duration;
import java.util.List;

/**
 * How to reach etcd and how patiently.
 *
 * @param endpoints        client URLs, {@code http://HOST:PORT} (TLS is not supported yet)
 * @param prefix           where Shunt's keys live, see {@link KeyLayout}
 * @param requestTimeout   how long one request may take before it counts as a failure
 * @param retryMin         first delay of the background retry loops (watches, lease keep-alive, reconnect)
 * @param retryMax         their longest delay
 * @param keepaliveTime    HTTP/2 ping interval, so a silently dead connection is noticed (etcd refuses
 *                         pings more often than its --grpc-keepalive-min-time, 5 s by default)
 * @param keepaliveTimeout how long a ping may stay unanswered before the connection counts as dead
 */
public record EtcdConfig(List<URI> endpoints, String prefix, Duration requestTimeout, Duration retryMin, Duration retryMax,
                         Duration keepaliveTime, Duration keepaliveTimeout) {
    public EtcdConfig {
        endpoints = List.copyOf(endpoints);
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException("no etcd endpoint given (e.g. http://198.18.0.1:2379)");
        }
        for (URI e : endpoints) {
            if (!"http".equals(e.getScheme()) || e.getHost() == null || e.getPort() <= 0
                    || !(e.getPath() == null || e.getPath().isEmpty() || e.getPath().equals("/")) || e.getQuery() != null) {
                throw new IllegalArgumentException("invalid etcd endpoint '" + e + "': expected http://HOST:PORT, e.g. http://198.18.0.1:2379"
                        + ("https".equals(e.getScheme()) ? " (TLS is not supported yet)" : ""));
            }
        }
        new KeyLayout(prefix);
        positive("request timeout", requestTimeout);
        positive("minimum retry delay", retryMin);
        positive("maximum retry delay", retryMax);
        positive("keepalive time", keepaliveTime);
        positive("keepalive timeout", keepaliveTimeout);
        if (retryMax.compareTo(retryMin) < 0) {
            throw new IllegalArgumentException("maximum retry delay " + retryMax + " is shorter than the minimum " + retryMin);
        }
    }

    /** Defaults: prefix /shunt/, 5 s per request, retries from 100 ms to 5 s, pings every 10 s with a 5 s timeout. */
    public static EtcdConfig of(String... endpoints) {
        return new EtcdConfig(List.of(endpoints).stream().map(EtcdConfig::uri).toList(), KeyLayout.DEFAULT_PREFIX,
                Duration.ofSeconds(5), Duration.ofMillis(100), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(5));
    }

    public EtcdConfig withPrefix(String prefix) {
        return new EtcdConfig(endpoints, prefix, requestTimeout, retryMin, retryMax, keepaliveTime, keepaliveTimeout);
    }

    public EtcdConfig withRequestTimeout(Duration requestTimeout) {
        return new EtcdConfig(endpoints, prefix, requestTimeout, retryMin, retryMax, keepaliveTime, keepaliveTimeout);
    }

    public EtcdConfig withRetry(Duration min, Duration max) {
        return new EtcdConfig(endpoints, prefix, requestTimeout, min, max, keepaliveTime, keepaliveTimeout);
    }

    public EtcdConfig withKeepalive(Duration time, Duration timeout) {
        return new EtcdConfig(endpoints, prefix, requestTimeout, retryMin, retryMax, time, timeout);
    }

    /** The endpoints as one comma-separated string, for messages. */
    public String endpointList() {
        return String.join(",", endpoints.stream().map(URI::toString).toList());
    }

    private static URI uri(String text) {
        try {
            return URI.create(text.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid etcd endpoint '" + text + "': " + e.getMessage());
        }
    }

    private static void positive(String what, Duration d) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(what + " must be positive, not " + d);
        }
    }
}
