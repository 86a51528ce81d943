package dev.shunt.state;

/**
 * A node of the cluster: where its pods' addresses come from and how the overlay reaches it.
 * Values are canonical text (as {@link ManifestReader} leaves them), so two equal nodes are equal
 * records.
 *
 * @param podCidr    the node's pod CIDR, e.g. {@code 10.244.2.0/24}: traffic for it goes to this node
 * @param underlayIp the node's address on the network between nodes (the VXLAN tunnel's endpoint)
 * @param vtepMac    the MAC of the node's VXLAN device, lower-case {@code 02:00:..}; empty while
 *                   not known (the overlay cannot reach the node until it is)
 */
public record Node(String name, String podCidr, String underlayIp, String vtepMac) implements StateObject {
    public Node {
        vtepMac = vtepMac == null ? "" : vtepMac;
    }

    @Override
    public Kind kind() {
        return Kind.NODE;
    }
}
