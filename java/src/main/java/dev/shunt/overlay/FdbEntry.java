package dev.shunt.overlay;

import dev.shunt.netlink.IpPrefix;
import dev.shunt.netlink.MacAddress;

import java.net.InetAddress;

/** A permanent FDB entry on the VXLAN device: frames for {@code vtepMac} go to {@code underlayIp}. */
public record FdbEntry(MacAddress vtepMac, InetAddress underlayIp) {
    /** As {@code bridge fdb show} prints it. */
    @Override
    public String toString() {
        return vtepMac + " dst " + IpPrefix.format(underlayIp);
    }
}
