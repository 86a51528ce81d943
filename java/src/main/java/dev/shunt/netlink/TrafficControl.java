package dev.shunt.netlink;

import dev.shunt.sys.BpfProgram;
import dev.shunt.sys.Sockets;

import java.util.ArrayList;
import java.util.List;

import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_ACK;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_CREATE;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_DUMP;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_EXCL;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_REQUEST;
import static dev.shunt.netlink.RtnetlinkDescriptor.*;

/**
 * Traffic control: the clsact qdisc and direct-action cls_bpf filters on it. These machines have
 * no matchall classifier and no gact action, so "drop at ingress" is an eBPF program
 * ({@link BpfProgram#tcDrop()}) attached here.
 */
public final class TrafficControl {
    private final NetlinkSocket socket;
    private final Links links;

    TrafficControl(NetlinkSocket socket, Links links) {
        this.socket = socket;
        this.links = links;
    }

    /** Equivalent to: {@code tc qdisc add dev DEV clsact}. */
    public void addClsact(String dev) {
        NetlinkRequest req = new NetlinkRequest(RTM_NEWQDISC, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
                "tc qdisc add dev " + dev + " clsact");
        tcmsg(req, links.get(dev).index(), TC_H_CLSACT_HANDLE, TC_H_CLSACT, 0);
        req.attrString(TCA_KIND, "clsact");
        socket.execute(req);
    }

    /** Removes clsact and every filter on it. Equivalent to: {@code tc qdisc del dev DEV clsact}. */
    public void deleteClsact(String dev) {
        NetlinkRequest req = new NetlinkRequest(RTM_DELQDISC, NLM_F_REQUEST | NLM_F_ACK, "tc qdisc del dev " + dev + " clsact");
        tcmsg(req, links.get(dev).index(), TC_H_CLSACT_HANDLE, TC_H_CLSACT, 0);
        req.attrString(TCA_KIND, "clsact");
        socket.execute(req);
    }

    /** Equivalent to: {@code tc qdisc show dev DEV}. */
    public List<Qdisc> listQdiscs(String dev) {
        int index = links.get(dev).index();
        NetlinkRequest req = new NetlinkRequest(RTM_GETQDISC, NLM_F_REQUEST | NLM_F_DUMP, "tc qdisc show dev " + dev);
        tcmsg(req, 0, 0, 0, 0);
        List<Qdisc> out = new ArrayList<>();
        for (NetlinkMessage m : socket.dump(req)) {
            if (m.type() == RTM_NEWQDISC && m.u32(TCM_IFINDEX_OFFSET) == index) {
                out.add(new Qdisc(index, m.attributes(TCMSG_SIZE).string(TCA_KIND), m.u32(TCM_HANDLE_OFFSET),
                        m.u32(TCM_PARENT_OFFSET)));
            }
        }
        return out;
    }

    /**
     * Attaches {@code program} as a direct-action cls_bpf filter on clsact ingress, matching every
     * protocol. Equivalent to: {@code tc filter add dev DEV ingress prio PRIO handle 1 bpf da fd N name NAME}.
     */
    public void attachBpfIngress(String dev, BpfProgram program, int priority) {
        attachBpf(dev, program, priority, TC_PARENT_INGRESS, "ingress");
    }

    /** As {@link #attachBpfIngress}, on clsact egress. */
    public void attachBpfEgress(String dev, BpfProgram program, int priority) {
        attachBpf(dev, program, priority, TC_PARENT_EGRESS, "egress");
    }

    /** Equivalent to: {@code tc filter show dev DEV ingress}. */
    public List<TcFilter> listIngressFilters(String dev) {
        return listFilters(dev, TC_PARENT_INGRESS, "ingress");
    }

    /** Equivalent to: {@code tc filter show dev DEV egress}. */
    public List<TcFilter> listEgressFilters(String dev) {
        return listFilters(dev, TC_PARENT_EGRESS, "egress");
    }

    /** Removes the ingress filters of one priority. Equivalent to: {@code tc filter del dev DEV ingress prio PRIO}. */
    public void deleteIngressFilters(String dev, int priority) {
        NetlinkRequest req = new NetlinkRequest(RTM_DELTFILTER, NLM_F_REQUEST | NLM_F_ACK,
                "tc filter del dev " + dev + " ingress prio " + priority);
        tcmsg(req, links.get(dev).index(), 0, TC_PARENT_INGRESS, (priority << 16) | htons(ETH_P_ALL));
        socket.execute(req);
    }

    private void attachBpf(String dev, BpfProgram program, int priority, int parent, String direction) {
        if (priority < 1 || priority > 0xFFFF) {
            throw new IllegalArgumentException("tc filter priority " + priority + " is outside 1..65535");
        }
        NetlinkRequest req = new NetlinkRequest(RTM_NEWTFILTER, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
                "tc filter add dev " + dev + " " + direction + " prio " + priority + " bpf da name " + program.name());
        tcmsg(req, links.get(dev).index(), 1, parent, (priority << 16) | htons(ETH_P_ALL));
        req.attrString(TCA_KIND, "bpf");
        int options = req.beginNested(TCA_OPTIONS);
        req.attrU32(TCA_BPF_FD, program.fd().value());
        req.attrString(TCA_BPF_NAME, program.name());
        req.attrU32(TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT);
        req.endNested(options);
        socket.execute(req);
    }

    private List<TcFilter> listFilters(String dev, int parent, String direction) {
        NetlinkRequest req = new NetlinkRequest(RTM_GETTFILTER, NLM_F_REQUEST | NLM_F_DUMP,
                "tc filter show dev " + dev + " " + direction);
        tcmsg(req, links.get(dev).index(), 0, parent, 0);
        List<TcFilter> out = new ArrayList<>();
        for (NetlinkMessage m : socket.dump(req)) {
            if (m.type() != RTM_NEWTFILTER) {
                continue;
            }
            NetlinkAttributes a = m.attributes(TCMSG_SIZE);
            int info = m.u32(TCM_INFO_OFFSET);
            int handle = m.u32(TCM_HANDLE_OFFSET);
            if (handle == 0) {
                continue; // the per-priority chain head, not a filter
            }
            String kind = a.string(TCA_KIND);
            NetlinkAttributes options = a.nested(TCA_OPTIONS);
            boolean bpf = "bpf".equals(kind);
            out.add(new TcFilter(kind, info >>> 16, htons(info & 0xFFFF), handle,
                    bpf ? options.string(TCA_BPF_NAME) : null, bpf ? options.u32(TCA_BPF_ID, 0) : 0,
                    bpf && (options.u32(TCA_BPF_FLAGS, 0) & TCA_BPF_FLAG_ACT_DIRECT) != 0));
        }
        return out;
    }

    private static int htons(int value) {
        return ((value & 0xFF) << 8) | ((value >>> 8) & 0xFF);
    }

    private static void tcmsg(NetlinkRequest req, int index, int handle, int parent, int info) {
        req.u8(Sockets.AF_UNSPEC).u8(0).u16(0).u32(index).u32(handle).u32(parent).u32(info);
    }
}
