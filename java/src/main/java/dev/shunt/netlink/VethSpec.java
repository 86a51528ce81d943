package dev.shunt.netlink;

import dev.shunt.sys.Fd;

/**
 * A veth pair to create: {@code name} in the handle's namespace, {@code peerName} in
 * {@code peerNamespace} (or the same namespace when that is {@code null}). MTU 0 keeps the
 * kernel's default.
 */
public record VethSpec(String name, String peerName, Fd peerNamespace, int mtu) {
    public VethSpec {
        InterfaceNames.validate(name);
        InterfaceNames.validate(peerName);
        if (mtu < 0) {
            throw new IllegalArgumentException("MTU must not be negative: " + mtu);
        }
    }

    public static VethSpec of(String name, String peerName) {
        return new VethSpec(name, peerName, null, 0);
    }

    public VethSpec withPeerNamespace(Fd namespace) {
        return new VethSpec(name, peerName, namespace, mtu);
    }

    public VethSpec withMtu(int newMtu) {
        return new VethSpec(name, peerName, peerNamespace, newMtu);
    }
}
