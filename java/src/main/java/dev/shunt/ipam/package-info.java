/**
 * Owns pod IP address management: CIDR math, per-pool allocation policy, ownership by
 * (container id, interface), and the durable, multi-process store. JDK only; knows nothing of
 * the kernel, netlink or CNI (the CNI layer maps {@link dev.shunt.ipam.IpamException#cniCode()}).
 *
 * <h2>On-disk format (version 1)</h2>
 * A store is a directory with:
 * <ul>
 *   <li>{@code lock}: empty; processes take an fcntl write lock on it around every operation.</li>
 *   <li>{@code state} (absent until the first compaction): a snapshot of generation G, text lines:
 *       {@code shunt-ipam-state v1 gen=G}, then {@code pool CIDR reserve=R,R|-} lines, then
 *       {@code alloc CIDR ADDRESS CONTAINER IFNAME} and {@code cursor CIDR ADDRESS} lines, and
 *       last {@code end records=N} (N = lines before it). Written to {@code state.tmp}, fsynced,
 *       renamed over {@code state}, then the directory is fsynced: it is whole or absent.</li>
 *   <li>{@code log.G}: the changes since {@code state} of generation G (G = 0 without a state):
 *       {@code shunt-ipam-log v1 gen=G}, then {@code pool}, {@code alloc} and
 *       {@code release CIDR ADDRESS CONTAINER IFNAME} lines in the order they happened. Each
 *       change is appended and fdatasynced before the caller hears of it (one fdatasync per
 *       allocate, release, gc or pool definition; compaction adds five syncs once per 4096 records).</li>
 * </ul>
 * Every line is {@code TEXT<TAB>CRC} where CRC is the CRC-32C of TEXT's bytes in 8 hex digits,
 * then a newline. On open the state is loaded, its log replayed; a last log line that lacks its
 * newline or fails its checksum is a write cut short by a crash (never acknowledged) and is cut
 * off; a log that holds nothing but part of its header line (a crash while it was created) is
 * rewritten with its header; any other bad line is corruption (CNI code 102) and nothing is changed. Logs of other
 * generations are left-overs of an interrupted compaction and are removed.
 */
package dev.shunt.ipam;
