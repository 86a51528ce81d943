package dev.shunt.cli;

import dev.shunt.agent.AgentConfig;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The {@code --socket} option of every command that talks to the agent. */
final class AgentSocket {
    @Option(names = "--socket", paramLabel = "PATH", description = "The agent's API socket (default: ${DEFAULT-VALUE}).")
    Path socket = AgentConfig.DEFAULT_SOCKET;

    AgentClient client() {
        return new AgentClient(socket);
    }
}
