package dev.shunt.netlink;

/**
 * A tc filter (RTM_NEWTFILTER) as {@code tc -j filter show} lists it.
 *
 * @param kind         classifier kind, e.g. "bpf"
 * @param priority     filter priority (the pref in tc's output)
 * @param protocol     EtherType in host order (0x0003 = all)
 * @param handle       filter handle
 * @param bpfName      for cls_bpf: the program's name as attached, else {@code null}
 * @param bpfProgramId for cls_bpf: the program id, else 0
 * @param directAction for cls_bpf: attached in direct-action mode
 */
public record TcFilter(String kind, int priority, int protocol, int handle, String bpfName, int bpfProgramId,
                       boolean directAction) {}
