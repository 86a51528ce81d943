package dev.shunt.netns;

/** Work to run inside a network namespace, without a result. */
@FunctionalInterface
public interface NetnsAction {
    void run() throws Exception;
}
