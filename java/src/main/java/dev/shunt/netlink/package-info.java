/**
 * Owns the rtnetlink and ethtool generic-netlink clients: a wire layer (NetlinkSocket,
 * NetlinkRequest, NetlinkAttributes, the *Descriptor constants) and plain-data objects (Link,
 * Address, Route, Neighbour, TcFilter). Uses {@code sys} (and {@code inet} for address text) only;
 * never shells out to ip, tc or ethtool.
 */
package dev.shunt.netlink;
