package dev.shunt.netlink;

import dev.shunt.sys.Errno;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;

import static dev.shunt.netlink.EthtoolDescriptor.*;
import static dev.shunt.netlink.GenericNetlinkDescriptor.CTRL_ATTR_FAMILY_ID;
import static dev.shunt.netlink.GenericNetlinkDescriptor.CTRL_ATTR_FAMILY_NAME;
import static dev.shunt.netlink.GenericNetlinkDescriptor.CTRL_CMD_GETFAMILY;
import static dev.shunt.netlink.GenericNetlinkDescriptor.CTRL_VERSION;
import static dev.shunt.netlink.GenericNetlinkDescriptor.GENLMSGHDR_SIZE;
import static dev.shunt.netlink.GenericNetlinkDescriptor.GENL_CMD_OFFSET;
import static dev.shunt.netlink.GenericNetlinkDescriptor.GENL_ID_CTRL;
import static dev.shunt.netlink.GenericNetlinkDescriptor.genlmsghdr;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_ACK;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_REQUEST;

/**
 * Offload features (what {@code ethtool -k/-K} shows and changes) over the "ethtool" generic
 * netlink family, on one namespace's NETLINK_GENERIC socket. Features are named as the kernel
 * names them ({@code tx-checksum-ip-generic}, {@code tx-tcp-segmentation}, {@code rx-gro}, ...);
 * the convenience methods map ethtool's short names (tx, tso, gso, gro, rx) onto them.
 *
 * <p>Bitsets are requested verbose (by name), never compact: bit numbers of netdev features are
 * not ABI and have moved between kernel versions, names have not.
 */
public final class Ethtool {
    private final NetlinkSocket socket;
    /** The family's message type, assigned by the kernel at registration; 0 until resolved. */
    private volatile int familyId;
    /** Every feature name the kernel knows, by bit index; global, not per device. */
    private volatile List<String> featureNames;

    Ethtool(NetlinkSocket socket) {
        this.socket = socket;
    }

    /**
     * The ethtool family's id, asked of the generic-netlink controller on first use and then kept.
     * Equivalent to: {@code genl ctrl get name ethtool}.
     */
    public int familyId() {
        int id = familyId;
        if (id == 0) {
            NetlinkRequest req = new NetlinkRequest(GENL_ID_CTRL, NLM_F_REQUEST, "genl ctrl get name " + ETHTOOL_GENL_NAME);
            genlmsghdr(req, CTRL_CMD_GETFAMILY, CTRL_VERSION);
            req.attrString(CTRL_ATTR_FAMILY_NAME, ETHTOOL_GENL_NAME);
            NetlinkMessage reply;
            try {
                reply = socket.query(req);
            } catch (NetlinkException e) {
                if (e.errno() == Errno.ENOENT) {
                    throw new NetlinkException(req.description() + " (no ethtool netlink family: kernel built without CONFIG_ETHTOOL_NETLINK?)",
                            e.errno(), e.kernelMessage());
                }
                throw e;
            }
            id = reply.attributes(GENLMSGHDR_SIZE).u16(CTRL_ATTR_FAMILY_ID, 0);
            if (id == 0) {
                throw new IllegalStateException(req.description() + ": the controller's answer has no CTRL_ATTR_FAMILY_ID");
            }
            familyId = id;
        }
        return id;
    }

    /**
     * The device's features: active, changeable and requested. Equivalent to: {@code ethtool -k DEV}.
     *
     * @throws NetlinkException with ENODEV if there is no such device
     */
    public Features features(String dev) {
        InterfaceNames.validate(dev);
        NetlinkRequest req = request(ETHTOOL_MSG_FEATURES_GET, NLM_F_REQUEST, "ethtool -k " + dev);
        header(req, ETHTOOL_A_FEATURES_HEADER, dev, 0);
        NetlinkMessage reply = socket.query(req);
        if (reply.u8(GENL_CMD_OFFSET) != ETHTOOL_MSG_FEATURES_GET_REPLY) {
            throw new IllegalStateException(req.description() + ": unexpected answer, command " + reply.u8(GENL_CMD_OFFSET));
        }
        NetlinkAttributes a = reply.attributes(GENLMSGHDR_SIZE);
        Set<String> hw = bitsetOn(a.nested(ETHTOOL_A_FEATURES_HW));
        Set<String> wanted = bitsetOn(a.nested(ETHTOOL_A_FEATURES_WANTED));
        Set<String> active = bitsetOn(a.nested(ETHTOOL_A_FEATURES_ACTIVE));
        Set<String> noChange = bitsetOn(a.nested(ETHTOOL_A_FEATURES_NOCHANGE));

        Map<String, Boolean> activeByName = new LinkedHashMap<>();
        for (String name : featureNames()) {
            activeByName.put(name, active.contains(name));
        }
        for (String name : active) { // a bit the string set did not name (cannot happen; keep it visible anyway)
            activeByName.putIfAbsent(name, true);
        }
        Set<String> changeable = new LinkedHashSet<>();
        for (String name : activeByName.keySet()) {
            if (hw.contains(name) && !noChange.contains(name)) {
                changeable.add(name);
            }
        }
        return new Features(dev, activeByName, changeable, wanted);
    }

    /**
     * Turns features on ({@code true}) or off ({@code false}) by kernel name, all in one request.
     * Equivalent to: {@code ethtool -K DEV NAME on|off [NAME on|off ...]}.
     *
     * <p>Unlike the kernel, which silently ignores a change to a fixed feature, this throws
     * {@link FixedFeatureException} naming it (a fixed feature already in the requested state is
     * fine: nothing has to change). It also throws {@link IllegalStateException} when a feature
     * did not end up as requested because it depends on one that is off (e.g. TSO on while tx
     * checksumming is off): the kernel keeps such a request and applies it once the feature it
     * depends on comes on, but until then the device does not do what was asked.
     *
     * @throws IllegalArgumentException for a name the kernel does not know
     * @throws NetlinkException         with ENODEV if there is no such device
     */
    public void setFeatures(String dev, Map<String, Boolean> wanted) {
        StringBuilder command = new StringBuilder("ethtool -K ").append(dev);
        wanted.forEach((name, on) -> command.append(' ').append(name).append(on ? " on" : " off"));
        setFeatures(dev, wanted, command.toString());
    }

    /** Equivalent to: {@code ethtool -K DEV rx on|off} (the kernel's rx-checksum). */
    public void rxChecksum(String dev, boolean on) {
        setFeatures(dev, Map.of("rx-checksum", on), "ethtool -K " + dev + " rx " + onOff(on));
    }

    /**
     * Every tx-checksum-* feature the device lets change (the others are left alone, as ethtool
     * does). Equivalent to: {@code ethtool -K DEV tx on|off}. Turning it off also turns off, in
     * effect though not as a request, the segmentation offloads that need checksumming (TSO).
     */
    public void txChecksum(String dev, boolean on) {
        setGroup(dev, name -> name.startsWith("tx-checksum-"), on, "tx");
    }

    /**
     * Every TCP segmentation offload the device lets change: tx-tcp-segmentation,
     * tx-tcp-ecn-segmentation, tx-tcp-mangleid-segmentation, tx-tcp6-segmentation and any newer
     * tx-tcp*-segmentation (tx-tcp-accecn-segmentation since 6.18), the same pattern ethtool
     * matches. Equivalent to: {@code ethtool -K DEV tso on|off}.
     */
    public void tso(String dev, boolean on) {
        setGroup(dev, name -> name.startsWith("tx-tcp") && name.endsWith("-segmentation"), on, "tso");
    }

    /** Equivalent to: {@code ethtool -K DEV gso on|off} (the kernel's tx-generic-segmentation). */
    public void gso(String dev, boolean on) {
        setFeatures(dev, Map.of("tx-generic-segmentation", on), "ethtool -K " + dev + " gso " + onOff(on));
    }

    /** Equivalent to: {@code ethtool -K DEV gro on|off} (the kernel's rx-gro). */
    public void gro(String dev, boolean on) {
        setFeatures(dev, Map.of("rx-gro", on), "ethtool -K " + dev + " gro " + onOff(on));
    }

    private void setGroup(String dev, Predicate<String> member, boolean on, String shortName) {
        String command = "ethtool -K " + dev + " " + shortName + " " + onOff(on);
        Features current = features(dev);
        Map<String, Boolean> change = new LinkedHashMap<>();
        List<String> fixedButWrong = new ArrayList<>();
        for (Map.Entry<String, Boolean> feature : current.active().entrySet()) {
            if (!member.test(feature.getKey())) {
                continue;
            }
            if (current.changeable().contains(feature.getKey())) {
                change.put(feature.getKey(), on);
            } else if (feature.getValue() != on) {
                fixedButWrong.add(feature.getKey());
            }
        }
        if (change.isEmpty() && !fixedButWrong.isEmpty()) {
            throw new FixedFeatureException(command, dev, fixedButWrong);
        }
        if (!change.isEmpty()) {
            setFeatures(dev, change, command, current);
        }
    }

    private void setFeatures(String dev, Map<String, Boolean> wanted, String command) {
        setFeatures(dev, wanted, command, features(dev));
    }

    private void setFeatures(String dev, Map<String, Boolean> wanted, String command, Features current) {
        List<String> unknown = new ArrayList<>();
        List<String> fixed = new ArrayList<>();
        Map<String, Boolean> change = new LinkedHashMap<>();
        for (Map.Entry<String, Boolean> feature : wanted.entrySet()) {
            String name = feature.getKey();
            boolean on = feature.getValue();
            if (!current.active().containsKey(name)) {
                unknown.add(name);
            } else if (current.changeable().contains(name)) {
                change.put(name, on);
            } else if (current.active().get(name) != on) { // unboxed: Boolean vs boolean
                fixed.add(name);
            }
        }
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(command + ": the kernel has no feature named " + String.join(", ", unknown)
                    + " (ethtool -k " + dev + " lists the known ones)");
        }
        if (!fixed.isEmpty()) {
            throw new FixedFeatureException(command, dev, fixed);
        }
        if (change.isEmpty()) {
            return;
        }

        // OMIT_REPLY: the SET_REPLY would only list what changed; the features are read back below instead.
        NetlinkRequest req = request(ETHTOOL_MSG_FEATURES_SET, NLM_F_REQUEST | NLM_F_ACK, command);
        header(req, ETHTOOL_A_FEATURES_HEADER, dev, ETHTOOL_FLAG_OMIT_REPLY);
        // A verbose bitset with a mask: each listed bit is changed, to on if it carries BIT_VALUE.
        int bitset = req.beginNested(ETHTOOL_A_FEATURES_WANTED);
        int bits = req.beginNested(ETHTOOL_A_BITSET_BITS);
        for (Map.Entry<String, Boolean> feature : change.entrySet()) {
            int bit = req.beginNested(ETHTOOL_A_BITSET_BITS_BIT);
            req.attrString(ETHTOOL_A_BITSET_BIT_NAME, feature.getKey());
            if (feature.getValue()) {
                req.attr(ETHTOOL_A_BITSET_BIT_VALUE, new byte[0]);
            }
            req.endNested(bit);
        }
        req.endNested(bits);
        req.endNested(bitset);
        socket.execute(req);

        Features after = features(dev);
        List<String> heldBack = new ArrayList<>(); // requested and recorded, not in effect
        List<String> notTaken = new ArrayList<>(); // the request itself did not stick
        for (Map.Entry<String, Boolean> feature : change.entrySet()) {
            String name = feature.getKey();
            boolean on = feature.getValue();
            if (after.active().get(name) == on) { // unboxed: Boolean vs boolean
                continue;
            }
            if (on == after.requested().contains(name)) {
                heldBack.add(name + " stays " + onOff(!on));
            } else {
                notTaken.add(name + " stays " + onOff(!on));
            }
        }
        List<String> problems = new ArrayList<>();
        if (!heldBack.isEmpty()) {
            problems.add(String.join(", ", heldBack) + " although requested: held back by a feature"
                    + (heldBack.size() == 1 ? " it depends" : " they depend") + " on (e.g. TSO needs tx checksumming);"
                    + " the kernel keeps the request and applies it once that feature is on");
        }
        if (!notTaken.isEmpty()) {
            problems.add(String.join(", ", notTaken) + ": the kernel did not take the request");
        }
        if (!problems.isEmpty()) {
            throw new IllegalStateException(command + ": " + String.join("; ", problems));
        }
    }

    /** The names of all netdev feature bits (string set ETH_SS_FEATURES), read once. */
    private List<String> featureNames() {
        List<String> names = featureNames;
        if (names == null) {
            NetlinkRequest req = request(ETHTOOL_MSG_STRSET_GET, NLM_F_REQUEST, "ethtool netlink STRSET_GET features");
            // An empty header: the feature names are global, so no device is needed (allow_nodev_do).
            req.endNested(req.beginNested(ETHTOOL_A_STRSET_HEADER));
            int sets = req.beginNested(ETHTOOL_A_STRSET_STRINGSETS);
            int set = req.beginNested(ETHTOOL_A_STRINGSETS_STRINGSET);
            req.attrU32(ETHTOOL_A_STRINGSET_ID, ETH_SS_FEATURES);
            req.endNested(set);
            req.endNested(sets);
            NetlinkMessage reply = socket.query(req);
            TreeMap<Integer, String> byIndex = new TreeMap<>();
            for (NetlinkAttributes s : reply.attributes(GENLMSGHDR_SIZE).nested(ETHTOOL_A_STRSET_STRINGSETS)
                    .nestedAll(ETHTOOL_A_STRINGSETS_STRINGSET)) {
                if (s.u32(ETHTOOL_A_STRINGSET_ID, -1) != ETH_SS_FEATURES) {
                    continue;
                }
                for (NetlinkAttributes string : s.nested(ETHTOOL_A_STRINGSET_STRINGS).nestedAll(ETHTOOL_A_STRINGS_STRING)) {
                    String value = string.string(ETHTOOL_A_STRING_VALUE);
                    if (value != null && !value.isEmpty()) {
                        byIndex.put(string.u32(ETHTOOL_A_STRING_INDEX, byIndex.size()), value);
                    }
                }
            }
            if (byIndex.isEmpty()) {
                throw new IllegalStateException(req.description() + ": the kernel sent no feature names");
            }
            names = List.copyOf(byIndex.values());
            featureNames = names;
        }
        return names;
    }

    /**
     * The names of the bits that are set in a verbose bitset. In a list (NOMASK) every listed bit
     * is set; otherwise a listed bit is set only if it carries ETHTOOL_A_BITSET_BIT_VALUE.
     */
    static Set<String> bitsetOn(NetlinkAttributes bitset) {
        if (bitset.has(ETHTOOL_A_BITSET_VALUE) && !bitset.has(ETHTOOL_A_BITSET_BITS)) {
            throw new IllegalStateException("compact bitset received although none was requested");
        }
        boolean list = bitset.has(ETHTOOL_A_BITSET_NOMASK);
        Set<String> on = new HashSet<>();
        for (NetlinkAttributes bit : bitset.nested(ETHTOOL_A_BITSET_BITS).nestedAll(ETHTOOL_A_BITSET_BITS_BIT)) {
            String name = bit.string(ETHTOOL_A_BITSET_BIT_NAME);
            if (name != null && (list || bit.has(ETHTOOL_A_BITSET_BIT_VALUE))) {
                on.add(name);
            }
        }
        return on;
    }

    private NetlinkRequest request(int cmd, int flags, String description) {
        NetlinkRequest req = new NetlinkRequest(familyId(), flags, description);
        genlmsghdr(req, cmd, ETHTOOL_GENL_VERSION);
        return req;
    }

    private static void header(NetlinkRequest req, int type, String dev, int flags) {
        int header = req.beginNested(type);
        req.attrString(ETHTOOL_A_HEADER_DEV_NAME, dev);
        if (flags != 0) {
            req.attrU32(ETHTOOL_A_HEADER_FLAGS, flags);
        }
        req.endNested(header);
    }

    private static String onOff(boolean on) {
        return on ? "on" : "off";
    }
}
