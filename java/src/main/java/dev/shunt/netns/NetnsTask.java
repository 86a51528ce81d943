package dev.shunt.netns;

/** Work to run inside a network namespace, with a result. */
@FunctionalInterface
public interface NetnsTask<T> {
    T call() throws Exception;
}
