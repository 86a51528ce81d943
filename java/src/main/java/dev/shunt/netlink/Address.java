package dev.shunt.netlink;

/**
 * An interface address (RTM_NEWADDR) as {@code ip -j addr} shows it.
 *
 * @param index  the interface's index
 * @param prefix the local address with its prefix length
 * @param scope  RT_SCOPE_* (0 global, 253 link, 254 host)
 * @param flags  IFA_F_* flags
 */
public record Address(int index, IpPrefix prefix, int scope, int flags) {}
