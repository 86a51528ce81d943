package dev.shunt.overlay;

/**
 * What one {@link OverlayPeers#reconcile} changed. An entry overwritten in place (a node whose
 * underlay IP or MAC changed) is in both: the old one in {@code removed}, the new one in {@code added}.
 */
public record PeerChanges(OverlayEntries added, OverlayEntries removed) {
    public boolean isEmpty() {
        return added.isEmpty() && removed.isEmpty();
    }

    @Override
    public String toString() {
        return isEmpty() ? "no change" : "added " + added + "; removed " + removed;
    }
}
