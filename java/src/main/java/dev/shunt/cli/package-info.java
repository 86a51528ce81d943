/**
 * Owns the {@code shunt} command line (picocli): argument parsing, output formats, exit codes.
 * Kernel inspection commands (netns, link) call {@code netns}/{@code netlink} directly; anything
 * about pods, Services or the data plane goes through the agent's API, never to the fast path.
 */
package dev.shunt.cli;
