package dev.shunt.cli;

import dev.shunt.ipam.IpamException;
import picocli.CommandLine;

import java.io.PrintWriter;

/** Entry point of the {@code shunt} command. */
public final class Main {
    /** Exit code for a command that ran and failed (bad arguments exit 2, picocli's usage code). */
    public static final int EXIT_FAILURE = 1;
    public static final int EXIT_USAGE = 2;

    private Main() {}

    /** Netty reports recoverable start-up conditions through java.util.logging; keep the CLI's output ours. */
    private static final java.util.logging.Logger NETTY_LOG = java.util.logging.Logger.getLogger("io.netty");

    public static void main(String[] args) {
        NETTY_LOG.setLevel(java.util.logging.Level.SEVERE);
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs one command line with the given output streams and returns its exit code. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new ShuntCommand());
        cli.setOut(out);
        cli.setErr(err);
        cli.setParameterExceptionHandler(Main::badArguments);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            String cni = e instanceof IpamException ipam ? " (CNI error code " + ipam.cniCode() + ")" : "";
            commandLine.getErr().println("shunt: error: " + describe(e) + cni);
            return EXIT_FAILURE;
        });
        return cli.execute(args);
    }

    /** One line saying what is wrong, then the usage of the (sub)command, as the issue asks. */
    private static int badArguments(CommandLine.ParameterException e, String[] args) {
        CommandLine cmd = e.getCommandLine();
        PrintWriter err = cmd.getErr();
        err.println("shunt: " + e.getMessage());
        cmd.usage(err);
        return EXIT_USAGE;
    }

    private static String describe(Throwable e) {
        String message = e.getMessage();
        return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
    }
}
