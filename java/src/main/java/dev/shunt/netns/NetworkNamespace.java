package dev.shunt.netns;

import dev.shunt.sys.Errno;
import dev.shunt.sys.Fd;
import dev.shunt.sys.Namespaces;
import dev.shunt.sys.SysException;
import dev.shunt.sys.Syscalls;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A named network namespace, pinned by a bind mount at {@code /run/netns/NAME} exactly as
 * {@code ip netns add} pins it, so {@code ip netns list} and {@code ip -n NAME} see Shunt's
 * namespaces and Shunt sees theirs. Code runs inside a namespace on a dedicated platform thread
 * (namespace membership is per thread; the thread ends with the task, so no pooled thread is ever
 * left in a foreign namespace).
 */
public final class NetworkNamespace {
    /** Where iproute2 keeps named namespaces. */
    public static final Path RUN_NETNS = Path.of("/run/netns");

    private static final Pattern VALID_NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");

    private final String name;
    private final Path path;

    private NetworkNamespace(String name) {
        this(name, RUN_NETNS.resolve(name));
    }

    private NetworkNamespace(String name, Path path) {
        this.name = name;
        this.path = path;
    }

    /**
     * Creates a new, empty network namespace named {@code name}. Equivalent to: {@code ip netns add NAME}.
     *
     * @throws NetnsException if the name is invalid or a namespace of that name exists
     */
    public static NetworkNamespace create(String name) {
        validate(name);
        NetworkNamespace ns = new NetworkNamespace(name);
        ensureSharedMountPoint();
        try {
            Files.createFile(ns.path, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("---------")));
        } catch (FileAlreadyExistsException e) {
            throw new NetnsException("network namespace '" + name + "' already exists (" + ns.path + ")");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + ns.path, e);
        }
        boolean pinned = false;
        try {
            onOwnThread("netns-add-" + name, () -> {
                Namespaces.unshareNetwork();
                Namespaces.bindMount("/proc/thread-self/ns/net", ns.path.toString());
                return null;
            });
            pinned = true;
        } finally {
            if (!pinned) {
                deleteQuietly(ns.path);
            }
        }
        return ns;
    }

    /**
     * An existing namespace.
     *
     * @throws NetnsException if no namespace of that name exists
     */
    public static NetworkNamespace named(String name) {
        validate(name);
        NetworkNamespace ns = new NetworkNamespace(name);
        if (!Files.exists(ns.path)) {
            throw new NetnsException("network namespace '" + name + "' does not exist (no " + ns.path
                    + "; create it with 'shunt netns add " + name + "' or 'ip netns add " + name + "')");
        }
        return ns;
    }

    /**
     * A namespace that something else made and pinned, named by its path: a container runtime's
     * {@code /run/netns/NAME}, {@code /var/run/netns/NAME} or {@code /proc/PID/ns/net} (CNI_NETNS).
     * Its name is the path. Shunt enters it but never deletes it ({@link #delete} refuses).
     *
     * @throws NetnsException if nothing is at that path (whether it is a network namespace shows on entering it)
     */
    public static NetworkNamespace at(Path path) {
        if (!path.isAbsolute()) {
            throw new NetnsException("network namespace path '" + path + "' is not absolute");
        }
        if (!Files.exists(path)) {
            throw new NetnsException("no network namespace at " + path + " (nothing there)");
        }
        return new NetworkNamespace(path.toString(), path);
    }

    public static boolean exists(String name) {
        return VALID_NAME.matcher(name).matches() && Files.exists(RUN_NETNS.resolve(name));
    }

    /** The names under /run/netns, sorted. Equivalent to: {@code ip netns list}. */
    public static List<String> list() {
        if (!Files.isDirectory(RUN_NETNS)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(RUN_NETNS)) {
            return entries.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + RUN_NETNS, e);
        }
    }

    public String name() {
        return name;
    }

    public Path path() {
        return path;
    }

    /** An fd on the namespace, e.g. for IFLA_NET_NS_FD when moving a link into it. The caller closes it. */
    public Fd openFd() {
        try {
            return Fd.openReadOnly(path.toString());
        } catch (SysException e) {
            if (e.errno() == Errno.ENOENT) {
                throw new NetnsException("network namespace '" + name + "' does not exist (no " + path + ")");
            }
            throw e;
        }
    }

    /**
     * Runs {@code task} on a new platform thread that has joined this namespace, and returns its
     * result. Sockets the task opens stay in this namespace for their whole life, whichever thread
     * uses them later. An exception thrown by the task is rethrown here (checked ones wrapped).
     */
    public <T> T call(NetnsTask<T> task) {
        try (Fd fd = openFd()) {
            return callIn(fd, "netns-" + name, task);
        }
    }

    /**
     * Runs {@code task} on a new platform thread inside the namespace {@code namespace} refers to
     * (e.g. one captured with {@link #openCurrent()} while the caller was inside it).
     */
    public static <T> T callIn(Fd namespace, String threadName, NetnsTask<T> task) {
        return onOwnThread(threadName, () -> {
            Namespaces.enterNetwork(namespace);
            return task.call();
        });
    }

    /** An fd on the calling thread's own network namespace, to come back to it from other threads. */
    public static Fd openCurrent() {
        return Fd.openReadOnly("/proc/thread-self/ns/net");
    }

    /** {@link #call} for a task without a result. */
    public void run(NetnsAction action) {
        call(() -> {
            action.run();
            return null;
        });
    }

    /**
     * Removes the namespace's pin; the kernel frees the namespace once no process, thread or socket
     * holds it any more. Equivalent to: {@code ip netns del NAME}.
     */
    public void delete() {
        if (name.contains("/")) { // made by at(): a runtime's namespace
            throw new NetnsException("the namespace at " + path + " is not Shunt's to delete");
        }
        if (!Files.exists(path)) {
            throw new NetnsException("network namespace '" + name + "' does not exist (no " + path + ")");
        }
        try {
            Namespaces.detachUnmount(path.toString());
        } catch (SysException e) {
            // EINVAL: not a mount point (a half-made namespace); the file still goes.
            if (e.errno() != Errno.EINVAL) {
                throw e;
            }
        }
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + path, e);
        }
    }

    /** Writes a sysctl inside this namespace, e.g. {@code net.ipv4.ip_forward = 1}. Equivalent to: {@code ip netns exec NAME sysctl -w KEY=VALUE}. */
    public void setSysctl(String key, String value) {
        run(() -> Sysctl.write(key, value));
    }

    /** Reads a sysctl inside this namespace. */
    public String getSysctl(String key) {
        return call(() -> Sysctl.read(key));
    }

    /** The kernel thread id of a thread inside this namespace: a cheap proof that entering works. */
    int threadIdInside() {
        return call(Syscalls::gettid);
    }

    @Override
    public String toString() {
        return "netns " + name;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NetworkNamespace other && other.name.equals(name);
    }

    @Override
    public int hashCode() {
        return name.hashCode();
    }

    static void validate(String name) {
        if (name == null || !VALID_NAME.matcher(name).matches() || name.equals(".") || name.equals("..")) {
            throw new NetnsException("invalid network namespace name '" + name
                    + "': use 1 to 64 characters from A-Z a-z 0-9 _ . -");
        }
    }

    /**
     * /run/netns must be a shared mount point so that a namespace bind-mounted into it shows in
     * every mount namespace (iproute2 does the same: make it rshared, and if that fails because it
     * is not a mount point yet, bind-mount it onto itself first).
     */
    private static synchronized void ensureSharedMountPoint() {
        try {
            Files.createDirectories(RUN_NETNS,
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + RUN_NETNS, e);
        }
        try {
            Namespaces.makeSharedRecursive(RUN_NETNS.toString());
        } catch (SysException e) {
            if (e.errno() != Errno.EINVAL) {
                throw e;
            }
            Namespaces.bindMountOntoItself(RUN_NETNS.toString());
            Namespaces.makeSharedRecursive(RUN_NETNS.toString());
        }
    }

    private static <T> T onOwnThread(String threadName, NetnsTask<T> task) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread thread = Thread.ofPlatform().name(threadName).daemon(true).unstarted(() -> {
            try {
                result.complete(task.call());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        thread.start();
        try {
            return result.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NetnsException("interrupted while waiting for a task in " + threadName);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            if (cause instanceof IOException io) {
                throw new UncheckedIOException(io);
            }
            throw new NetnsException(threadName + " failed: " + cause, cause);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort while already failing
        }
    }
}
