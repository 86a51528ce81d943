package dev.shunt.ipam;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * One line of the store's text format (see {@code package-info}): the record, a tab, and the
 * CRC-32C of the record's bytes in hex. Every field is free of white space by construction
 * (addresses, CIDRs, and owner ids restricted by {@link Owner}), so fields are space-separated.
 */
sealed interface StoreRecord {
    String LOG_MAGIC = "shunt-ipam-log";
    String STATE_MAGIC = "shunt-ipam-state";
    String VERSION = "v1";

    /** {@code shunt-ipam-log v1 gen=N} or {@code shunt-ipam-state v1 gen=N}. */
    record Header(String magic, long generation) implements StoreRecord {}

    /** {@code pool CIDR reserve=RANGE,RANGE} ({@code reserve=-} for none). */
    record Pool(Cidr cidr, List<AddressRange> reserved) implements StoreRecord {}

    /** {@code alloc CIDR ADDRESS CONTAINER IFNAME}. */
    record Alloc(Allocation allocation) implements StoreRecord {}

    /** {@code release CIDR ADDRESS CONTAINER IFNAME}. */
    record Release(Allocation allocation) implements StoreRecord {}

    /** {@code cursor CIDR ADDRESS}: where the next search starts (state files only). */
    record Cursor(Cidr cidr, InetAddress address) implements StoreRecord {}

    /** {@code end records=N}: the last line of a state file, N counting the lines before it. */
    record End(long records) implements StoreRecord {}

    static String text(StoreRecord record) {
        return switch (record) {
            case Header h -> h.magic() + " " + VERSION + " gen=" + h.generation();
            case Pool p -> "pool " + p.cidr() + " reserve=" + (p.reserved().isEmpty() ? "-"
                    : String.join(",", p.reserved().stream().map(AddressRange::toString).toList()));
            case Alloc a -> "alloc " + fields(a.allocation());
            case Release r -> "release " + fields(r.allocation());
            case Cursor c -> "cursor " + c.cidr() + " " + Cidr.Addresses.format(c.address());
            case End e -> "end records=" + e.records();
        };
    }

    /** The record as a line: text, tab, CRC-32C, newline. */
    static byte[] line(StoreRecord record) {
        String text = text(record);
        return (text + "\t" + crc(text) + "\n").getBytes(StandardCharsets.US_ASCII);
    }

    private static String fields(Allocation a) {
        return a.pool() + " " + Cidr.Addresses.format(a.address()) + " " + a.owner().containerId() + " " + a.owner().ifname();
    }

    static String crc(String text) {
        CRC32C crc = new CRC32C();
        crc.update(text.getBytes(StandardCharsets.US_ASCII));
        return HexFormat.of().toHexDigits((int) crc.getValue());
    }

    /**
     * Parses one line without its newline.
     *
     * @throws IpamException STORE_CORRUPT with the reason when the checksum or the syntax is wrong
     */
    static StoreRecord parse(String line) {
        int tab = line.lastIndexOf('\t');
        if (tab < 0) {
            throw corrupt("no checksum", line);
        }
        String text = line.substring(0, tab);
        if (!crc(text).equals(line.substring(tab + 1))) {
            throw corrupt("checksum mismatch", line);
        }
        String[] f = text.split(" ");
        try {
            return switch (f[0]) {
                case LOG_MAGIC, STATE_MAGIC -> {
                    if (f.length != 3 || !f[1].equals(VERSION) || !f[2].startsWith("gen=")) {
                        throw corrupt("bad header", line);
                    }
                    yield new Header(f[0], Long.parseLong(f[2].substring(4)));
                }
                case "pool" -> {
                    if (f.length != 3 || !f[2].startsWith("reserve=")) {
                        throw corrupt("bad pool record", line);
                    }
                    String ranges = f[2].substring("reserve=".length());
                    List<AddressRange> reserved = new ArrayList<>();
                    if (!ranges.equals("-")) {
                        for (String r : ranges.split(",")) {
                            reserved.add(AddressRange.parse(r));
                        }
                    }
                    yield new Pool(Cidr.parse(f[1]), List.copyOf(reserved));
                }
                case "alloc", "release" -> {
                    if (f.length != 5) {
                        throw corrupt("bad " + f[0] + " record", line);
                    }
                    Allocation a = new Allocation(Cidr.parse(f[1]), Cidr.Addresses.parse(f[2]), new Owner(f[3], f[4]));
                    yield f[0].equals("alloc") ? new Alloc(a) : new Release(a);
                }
                case "cursor" -> {
                    if (f.length != 3) {
                        throw corrupt("bad cursor record", line);
                    }
                    yield new Cursor(Cidr.parse(f[1]), Cidr.Addresses.parse(f[2]));
                }
                case "end" -> {
                    if (f.length != 2 || !f[1].startsWith("records=")) {
                        throw corrupt("bad end record", line);
                    }
                    yield new End(Long.parseLong(f[1].substring("records=".length())));
                }
                default -> throw corrupt("unknown record type", line);
            };
        } catch (NumberFormatException e) {
            throw corrupt("bad number", line);
        } catch (IpamException e) {
            if (e.code() == IpamException.Code.STORE_CORRUPT) {
                throw e;
            }
            throw corrupt(e.getMessage(), line);
        }
    }

    private static IpamException corrupt(String why, String line) {
        return new IpamException(IpamException.Code.STORE_CORRUPT, why + ": '" + line.replace("\t", "\\t") + "'");
    }
}
