package dev.shunt.netlink;

import java.nio.charset.StandardCharsets;

/** Interface-name rules of the kernel's dev_valid_name(), checked before any syscall. */
public final class InterfaceNames {
    /** IFNAMSIZ - 1: the kernel's buffer is 16 bytes with the terminating NUL. */
    public static final int MAX_LENGTH = 15;

    private InterfaceNames() {}

    /** Returns {@code name} if the kernel would accept it; throws with the reason otherwise. */
    public static String validate(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("interface name is empty");
        }
        int bytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_LENGTH) {
            throw new IllegalArgumentException("interface name '" + name + "' is " + bytes
                    + " bytes; Linux allows at most " + MAX_LENGTH + " (IFNAMSIZ - 1)");
        }
        if (name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("interface name '" + name + "' is reserved");
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '/' || c == ':' || Character.isWhitespace(c)) {
                throw new IllegalArgumentException("interface name '" + name + "' contains '" + c
                        + "'; Linux forbids '/', ':' and white space in interface names");
            }
        }
        return name;
    }
}
