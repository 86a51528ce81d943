package dev.shunt.netlink;

import dev.shunt.lab.ScratchNamespace;
import dev.shunt.sys.Fd;

import java.net.InetAddress;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two scratch namespaces joined by a veth: {@code aDev} in A with 198.18.N.1/24, {@code bDev} in B
 * with 198.18.N.2/24, both up (and waited for until the kernel reports operstate UP).
 */
record VethLink(String aDev, String bDev, InetAddress aAddress, InetAddress bAddress) {
    static VethLink connect(ScratchNamespace a, ScratchNamespace b, String aDev, String bDev, int subnet) {
        if (subnet < 0 || subnet > 255) {
            throw new IllegalArgumentException("subnet " + subnet);
        }
        InetAddress aAddress = IpPrefix.parseAddress("198.18." + subnet + ".1");
        InetAddress bAddress = IpPrefix.parseAddress("198.18." + subnet + ".2");
        try (Fd bFd = b.namespace().openFd()) {
            a.netlink().links().add(VethSpec.of(aDev, bDev).withPeerNamespace(bFd));
        }
        a.netlink().addresses().add(aDev, new IpPrefix(aAddress, 24));
        b.netlink().addresses().add(bDev, new IpPrefix(bAddress, 24));
        a.netlink().links().setUp(aDev);
        b.netlink().links().setUp(bDev);
        Eventually.within(Duration.ofSeconds(5), () -> {
            assertThat(a.netlink().links().get(aDev).operState()).isEqualTo("UP");
            assertThat(b.netlink().links().get(bDev).operState()).isEqualTo("UP");
        });
        return new VethLink(aDev, bDev, aAddress, bAddress);
    }
}
