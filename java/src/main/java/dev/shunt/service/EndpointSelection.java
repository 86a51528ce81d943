package dev.shunt.service;

import java.util.ArrayList;
import java.util.List;

/**
 * Which endpoints may take NEW flows, as kube-proxy decides (KEP-1669): the ready ones; if none is
 * ready, the ones that are serving while terminating (so a rolling update with all pods
 * terminating does not black-hole traffic); otherwise none, and the client is refused at once.
 * With a Local traffic policy only this node's endpoints count. Existing flows are not decided
 * here: conntrack keeps them on their backend until it is removed.
 */
public final class EndpointSelection {
    private EndpointSelection() {}

    public static List<Endpoint> forNewFlows(List<Endpoint> endpoints, boolean localOnly, String localNode) {
        List<Endpoint> ready = new ArrayList<>();
        List<Endpoint> servingTerminating = new ArrayList<>();
        for (Endpoint e : endpoints) {
            if (localOnly && !e.nodeName().equals(localNode)) {
                continue;
            }
            if (e.ready()) {
                ready.add(e);
            } else if (e.serving() && e.terminating()) {
                servingTerminating.add(e);
            }
        }
        return !ready.isEmpty() ? ready : servingTerminating;
    }
}
