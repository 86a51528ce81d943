package dev.shunt.netlink;

/**
 * Commands and attribute numbers of the "ethtool" generic-netlink family
 * (linux/ethtool_netlink.h; ethtool_netlink_generated.h since 6.13) and the one string-set id of
 * linux/ethtool.h it needs. The enums are append-only, so these hold for every kernel since 5.6.
 */
public final class EthtoolDescriptor {
    public static final String ETHTOOL_GENL_NAME = "ethtool";
    public static final int ETHTOOL_GENL_VERSION = 1;

    // Userspace -> kernel commands (enum ETHTOOL_MSG_USER_*).
    public static final int ETHTOOL_MSG_STRSET_GET = 1;
    public static final int ETHTOOL_MSG_FEATURES_GET = 11;
    public static final int ETHTOOL_MSG_FEATURES_SET = 12;

    // Kernel -> userspace commands (enum ETHTOOL_MSG_KERNEL_*): a separate numbering.
    public static final int ETHTOOL_MSG_STRSET_GET_REPLY = 1;
    public static final int ETHTOOL_MSG_FEATURES_GET_REPLY = 11;
    public static final int ETHTOOL_MSG_FEATURES_SET_REPLY = 12;

    // Request header, nested in every message's *_HEADER attribute.
    public static final int ETHTOOL_A_HEADER_DEV_INDEX = 1; // u32
    public static final int ETHTOOL_A_HEADER_DEV_NAME = 2; // string
    public static final int ETHTOOL_A_HEADER_FLAGS = 3; // u32, ETHTOOL_FLAG_*

    public static final int ETHTOOL_FLAG_COMPACT_BITSETS = 1 << 0;
    /** On a SET: do not send the optional *_SET_REPLY before the acknowledgement. */
    public static final int ETHTOOL_FLAG_OMIT_REPLY = 1 << 1;
    public static final int ETHTOOL_FLAG_STATS = 1 << 2;

    // Bitsets: either compact (SIZE + VALUE/MASK words) or verbose (BITS listing each bit by index and name).
    public static final int ETHTOOL_A_BITSET_NOMASK = 1; // flag: a list, every listed bit is set
    public static final int ETHTOOL_A_BITSET_SIZE = 2; // u32
    public static final int ETHTOOL_A_BITSET_BITS = 3; // nest of ETHTOOL_A_BITSET_BITS_BIT
    public static final int ETHTOOL_A_BITSET_VALUE = 4; // binary
    public static final int ETHTOOL_A_BITSET_MASK = 5; // binary

    public static final int ETHTOOL_A_BITSET_BITS_BIT = 1; // nest of ETHTOOL_A_BITSET_BIT_*

    public static final int ETHTOOL_A_BITSET_BIT_INDEX = 1; // u32
    public static final int ETHTOOL_A_BITSET_BIT_NAME = 2; // string
    public static final int ETHTOOL_A_BITSET_BIT_VALUE = 3; // flag: the bit is set

    // FEATURES_GET / FEATURES_SET.
    public static final int ETHTOOL_A_FEATURES_HEADER = 1; // nest
    /** Features the driver lets user space change (dev->hw_features). */
    public static final int ETHTOOL_A_FEATURES_HW = 2; // bitset
    /** Features user space asked for (dev->wanted_features); in a SET, the change to make. */
    public static final int ETHTOOL_A_FEATURES_WANTED = 3; // bitset
    /** Features in effect (dev->features). */
    public static final int ETHTOOL_A_FEATURES_ACTIVE = 4; // bitset
    /** Features that can never change (NETIF_F_NEVER_CHANGE), whatever hw_features says. */
    public static final int ETHTOOL_A_FEATURES_NOCHANGE = 5; // bitset

    // STRSET_GET, used for the names of all feature bits.
    public static final int ETHTOOL_A_STRSET_HEADER = 1; // nest
    public static final int ETHTOOL_A_STRSET_STRINGSETS = 2; // nest of ETHTOOL_A_STRINGSETS_STRINGSET
    public static final int ETHTOOL_A_STRINGSETS_STRINGSET = 1; // nest of ETHTOOL_A_STRINGSET_*
    public static final int ETHTOOL_A_STRINGSET_ID = 1; // u32, ETH_SS_*
    public static final int ETHTOOL_A_STRINGSET_COUNT = 2; // u32
    public static final int ETHTOOL_A_STRINGSET_STRINGS = 3; // nest of ETHTOOL_A_STRINGS_STRING
    public static final int ETHTOOL_A_STRINGS_STRING = 1; // nest of ETHTOOL_A_STRING_*
    public static final int ETHTOOL_A_STRING_INDEX = 1; // u32
    public static final int ETHTOOL_A_STRING_VALUE = 2; // string

    /** enum ethtool_stringset: netdev feature names (netdev_features_strings). */
    public static final int ETH_SS_FEATURES = 4;

    private EthtoolDescriptor() {}
}
