package dev.shunt.cni;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A CNI spec version. Shunt speaks 0.4.0, 1.0.0 and 1.1.0: a call is answered in the version of its
 * configuration's {@code cniVersion} (the runtime has chosen it, section 1 "Version
 * considerations"), and a version Shunt does not speak, or none (which means 0.1.0), is error 1.
 * What differs between them in Shunt's answers is in {@link CniResult}.
 */
public record CniVersion(int major, int minor, int patch) implements Comparable<CniVersion> {
    public static final CniVersion V0_4_0 = new CniVersion(0, 4, 0);
    public static final CniVersion V1_0_0 = new CniVersion(1, 0, 0);
    public static final CniVersion V1_1_0 = new CniVersion(1, 1, 0);
    /** What VERSION reports, oldest first. */
    public static final List<CniVersion> SUPPORTED = List.of(V0_4_0, V1_0_0, V1_1_0);
    public static final CniVersion LATEST = V1_1_0;

    private static final Pattern SEMVER = Pattern.compile("(0|[1-9][0-9]{0,5})\\.(0|[1-9][0-9]{0,5})\\.(0|[1-9][0-9]{0,5})");

    /** A version Shunt speaks, or error 1 naming the ones it does. */
    public static CniVersion negotiate(String cniVersion) {
        if (cniVersion == null) {
            throw incompatible("the configuration has no cniVersion (that means 0.1.0)");
        }
        Matcher m = SEMVER.matcher(cniVersion);
        if (m.matches()) {
            CniVersion v = new CniVersion(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)));
            if (SUPPORTED.contains(v)) {
                return v;
            }
        }
        throw incompatible("cniVersion '" + abbreviate(cniVersion) + "' is not one Shunt speaks");
    }

    /** The given version if Shunt speaks it, else the latest: the version to write an error in. */
    public static CniVersion forReply(String cniVersion) {
        try {
            return negotiate(cniVersion);
        } catch (CniError e) {
            return LATEST;
        }
    }

    private static CniError incompatible(String why) {
        return new CniError(CniError.INCOMPATIBLE_VERSION, "incompatible CNI version", why + "; Shunt speaks " + supportedList());
    }

    static String supportedList() {
        return String.join(", ", SUPPORTED.stream().map(CniVersion::toString).toList());
    }

    static String abbreviate(String text) {
        return text.length() <= 64 ? text : text.substring(0, 64) + "...";
    }

    public boolean atLeast(CniVersion other) {
        return compareTo(other) >= 0;
    }

    @Override
    public int compareTo(CniVersion o) {
        int c = Integer.compare(major, o.major);
        if (c == 0) {
            c = Integer.compare(minor, o.minor);
        }
        return c != 0 ? c : Integer.compare(patch, o.patch);
    }

    @Override
    public String toString() {
        return major + "." + minor + "." + patch;
    }
}
