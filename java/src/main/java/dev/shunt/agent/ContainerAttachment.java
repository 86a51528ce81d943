package dev.shunt.agent;

/**
 * How a pod made through CNI came to be: which network, container and interface (the attachment),
 * and whose IPAM gave its address. A pod made by {@code shunt pod add} has none.
 *
 * @param ipam "shunt" (Shunt's IPAM, the address held by {@code containerId/ifname}) or the type of
 *             the delegated IPAM plugin that holds it
 */
public record ContainerAttachment(String network, String containerId, String ifname, String ipam) {
    public static final String SHUNT_IPAM = "shunt";

    boolean usesShuntIpam() {
        return SHUNT_IPAM.equals(ipam);
    }
}
