package dev.shunt.cli;

import dev.shunt.netns.NetworkNamespace;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code shunt netns add|del|list}: the same namespaces {@code ip netns} sees. */
@Command(name = "netns", mixinStandardHelpOptions = true, description = "Manage named network namespaces (as ip netns does).")
final class NetnsCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing subcommand: add, del or list");
    }

    @Command(name = "add", mixinStandardHelpOptions = true, description = "Create a network namespace NAME.")
    void add(@Parameters(paramLabel = "NAME") String name) {
        NetworkNamespace.create(name);
    }

    @Command(name = "del", aliases = "delete", mixinStandardHelpOptions = true, description = "Delete the network namespace NAME.")
    void del(@Parameters(paramLabel = "NAME") String name) {
        NetworkNamespace.named(name).delete();
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List named network namespaces.")
    void list() {
        NetworkNamespace.list().forEach(spec.commandLine().getOut()::println);
    }
}
