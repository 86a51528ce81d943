package dev.shunt.cni;

import java.util.regex.Pattern;

/** Kubernetes label syntax, checked where labels enter through CNI (the configuration's args, CNI_ARGS). */
final class Labels {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?");
    private static final Pattern PREFIX = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");

    private Labels() {}

    /** {@code [prefix/]name} and a value that is empty or a name; else a CNI error with {@code code}. */
    static void check(String key, String value, int code, String where) {
        int slash = key.indexOf('/');
        String name = slash < 0 ? key : key.substring(slash + 1);
        boolean keyOk = NAME.matcher(name).matches() && (slash < 0 || PREFIX.matcher(key.substring(0, slash)).matches());
        if (!keyOk) {
            throw new CniError(code, code == CniError.INVALID_CONFIG ? "invalid network configuration" : "invalid environment",
                    where + ": label key '" + CniVersion.abbreviate(key) + "' is not [prefix/]name (letters, digits, '-', '_', '.', at most 63)");
        }
        if (!value.isEmpty() && !NAME.matcher(value).matches()) {
            throw new CniError(code, code == CniError.INVALID_CONFIG ? "invalid network configuration" : "invalid environment",
                    where + ": label value '" + CniVersion.abbreviate(value) + "' of '" + key
                            + "' is not empty or letters, digits, '-', '_', '.' (at most 63)");
        }
    }
}
