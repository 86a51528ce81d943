package dev.shunt.cni;

/**
 * What identifies an attachment (spec 1.1.0, section 3): the container and the interface name
 * inside it. GC's list of still-valid attachments is a list of these.
 */
public record AttachmentKey(String containerId, String ifname) {
    public AttachmentKey {
        if (containerId == null || ifname == null) {
            throw new IllegalArgumentException("an attachment needs a container id and an interface name");
        }
    }

    @Override
    public String toString() {
        return containerId + "/" + ifname;
    }
}
