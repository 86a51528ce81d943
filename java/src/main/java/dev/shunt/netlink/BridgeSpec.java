package dev.shunt.netlink;

/** A Linux bridge to create; MTU 0 keeps the kernel's default. */
public record BridgeSpec(String name, int mtu) {
    public BridgeSpec {
        InterfaceNames.validate(name);
    }

    public static BridgeSpec of(String name) {
        return new BridgeSpec(name, 0);
    }
}
