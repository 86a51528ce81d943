package dev.shunt.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

@Command(name = "shunt", mixinStandardHelpOptions = true, versionProvider = ShuntCommand.Version.class,
        description = "Shunt: a node networking agent and user-space packet data plane.",
        subcommands = {AgentCommand.class, StatusCommand.class, PodCommand.class, ServiceCommand.class, ApplyCommand.class, DeleteCommand.class,
                GetCommand.class, FlowsCommand.class, CaptureCommand.class, StatsCommand.class, NetnsCommand.class, LinkCommand.class, IpamCommand.class})
final class ShuntCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing command");
    }

    static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() throws IOException {
            Properties p = new Properties();
            try (InputStream in = ShuntCommand.class.getResourceAsStream("/shunt-version.properties")) {
                if (in != null) {
                    p.load(in);
                }
            }
            return new String[] {"shunt " + p.getProperty("version", "unknown")
                    + " (Java " + Runtime.version() + ", " + System.getProperty("os.name") + " "
                    + System.getProperty("os.version") + ")"};
        }
    }
}
