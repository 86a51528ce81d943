package dev.shunt.lab;

import dev.shunt.netlink.NetlinkHandle;
import dev.shunt.netns.NetworkNamespace;

import java.util.concurrent.ThreadLocalRandom;

/**
 * A throwaway network namespace for one test, named {@code shunt-t-PURPOSE-NNNNNN} so a leftover
 * is recognisably Shunt's. Closing deletes it (and with it every link inside), also when the test
 * failed; the handle opened inside it is closed first.
 */
public final class ScratchNamespace implements AutoCloseable {
    private final NetworkNamespace namespace;
    private NetlinkHandle netlink;

    private ScratchNamespace(NetworkNamespace namespace) {
        this.namespace = namespace;
    }

    public static ScratchNamespace create(String purpose) {
        String name = "shunt-t-" + purpose + "-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 24), 36);
        return new ScratchNamespace(NetworkNamespace.create(name));
    }

    public NetworkNamespace namespace() {
        return namespace;
    }

    public String name() {
        return namespace.name();
    }

    /** A netlink handle bound inside this namespace (opened on first use, closed with the namespace). */
    public synchronized NetlinkHandle netlink() {
        if (netlink == null) {
            netlink = namespace.call(NetlinkHandle::open);
        }
        return netlink;
    }

    @Override
    public synchronized void close() {
        try {
            if (netlink != null) {
                netlink.close();
            }
        } finally {
            if (NetworkNamespace.exists(namespace.name())) {
                namespace.delete();
            }
        }
    }
}
