package dev.shunt.service;

/** L4 protocols a Service port can carry, with their IP protocol numbers. */
public enum Protocol {
    TCP(6),
    UDP(17),
    SCTP(132);

    private final int number;

    Protocol(int number) {
        this.number = number;
    }

    /** The IPv4 protocol / IPv6 next-header number. */
    public int number() {
        return number;
    }

    /** Parses "tcp", "UDP", ... with a clear error. */
    public static Protocol parse(String text) {
        for (Protocol p : values()) {
            if (p.name().equalsIgnoreCase(text.trim())) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown protocol '" + text + "': expected tcp, udp or sctp");
    }
}
