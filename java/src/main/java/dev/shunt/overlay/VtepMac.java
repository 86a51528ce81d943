package dev.shunt.overlay;

import dev.shunt.netlink.MacAddress;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * The MAC address of a node's VXLAN device, derived from the node's name so that it is the same
 * after every restart and on every node that computes it: remote nodes' FDB and neighbour entries
 * point at it, and a new random MAC (the kernel's default) would strand them until each peer
 * re-learnt it.
 */
public final class VtepMac {
    /** Locally administered (bit 1), unicast (bit 0 clear): never an address a vendor assigned. */
    private static final byte FIRST_BYTE = 0x0e;

    private VtepMac() {}

    /**
     * {@code 0e:} followed by the first five bytes of SHA-256("shunt-vtep/" + name): 40 bits, so two
     * of 10,000 nodes share a MAC with a probability of about 5e-5, and a reconcile refuses the pair
     * with both names if they do.
     */
    public static MacAddress forNode(String nodeName) {
        if (nodeName == null || nodeName.isBlank()) {
            throw new IllegalArgumentException("node name is empty: the VTEP MAC is derived from it");
        }
        byte[] digest = sha256(("shunt-vtep/" + nodeName).getBytes(StandardCharsets.UTF_8));
        byte[] mac = Arrays.copyOf(digest, 6);
        System.arraycopy(digest, 0, mac, 1, 5);
        mac[0] = FIRST_BYTE;
        return new MacAddress(mac);
    }

    /** A MAC that can be a VTEP's: unicast and not all zeros (the FDB's flood entry). */
    static void checkUsable(MacAddress mac, String what) {
        if (mac == null) {
            throw new IllegalArgumentException(what + " is missing");
        }
        byte[] b = mac.bytes();
        if ((b[0] & 1) != 0) {
            throw new IllegalArgumentException(what + " " + mac + " is a multicast address; a VTEP MAC must be unicast");
        }
        if (Arrays.equals(b, new byte[6])) {
            throw new IllegalArgumentException(what + " " + mac + " is all zeros, the FDB's flood entry; a VTEP MAC must be a real address");
        }
    }

    private static byte[] sha256(byte[] input) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(input);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK always has SHA-256", e);
        }
    }
}
