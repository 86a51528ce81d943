package dev.shunt.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.shunt.netlink.Address;
import dev.shunt.netlink.Link;
import dev.shunt.netlink.NetlinkHandle;
import dev.shunt.netns.NetworkNamespace;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** {@code shunt link list}: links of a namespace with their addresses, read over rtnetlink. */
@Command(name = "link", mixinStandardHelpOptions = true, description = "Inspect network links.")
final class LinkCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing subcommand: list");
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List links: name, kind, state, MTU, MAC and addresses.")
    void list(@Option(names = "--netns", paramLabel = "NAME", description = "Namespace to look in (default: this process's).") String netns,
              @Option(names = "--json", description = "Print JSON instead of a table.") boolean json) throws Exception {
        List<LinkRow> rows;
        try (NetlinkHandle nl = netns == null ? NetlinkHandle.open() : NetworkNamespace.named(netns).call(NetlinkHandle::open)) {
            List<Address> addresses = nl.addresses().list();
            rows = new ArrayList<>();
            for (Link link : nl.links().list()) {
                List<String> own = addresses.stream().filter(a -> a.index() == link.index())
                        .map(a -> a.prefix().toString()).toList();
                rows.add(new LinkRow(link.index(), link.name(), link.kind() == null ? "" : link.kind(), link.operState(),
                        link.isUp(), link.mtu(), link.mac() == null ? "" : link.mac().toString(), own));
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(rows));
        } else {
            printTable(out, rows);
        }
        out.flush();
    }

    private static void printTable(PrintWriter out, List<LinkRow> rows) {
        String format = "%-5s %-15s %-7s %-14s %-6s %-17s %s%n";
        out.printf(format, "INDEX", "NAME", "KIND", "STATE", "MTU", "MAC", "ADDRESSES");
        for (LinkRow r : rows) {
            out.printf(format, r.index(), r.name(), r.kind().isEmpty() ? "-" : r.kind(),
                    r.state(), r.mtu(), r.mac().isEmpty() ? "-" : r.mac(),
                    String.join(" ", r.addresses()));
        }
    }

    /** One line of output; also the JSON object shape. */
    record LinkRow(int index, String name, String kind, String state, boolean adminUp, int mtu, String mac,
                   List<String> addresses) {
    }
}
