package dev.shunt.bench;

import dev.shunt.netlink.NetlinkHandle;
import dev.shunt.netns.NetworkNamespace;
import dev.shunt.sys.Fd;
import dev.shunt.sys.SysException;
import dev.shunt.sys.Sockets;
import dev.shunt.sys.Syscalls;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Platform;
import jnr.ffi.Pointer;
import jnr.ffi.annotations.IgnoreError;
import jnr.ffi.annotations.In;
import jnr.ffi.types.size_t;
import jnr.ffi.types.socklen_t;
import jnr.ffi.types.ssize_t;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.concurrent.ThreadLocalRandom;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * The cost of one downcall, Panama FFM (plain and {@code critical}) next to jnr-ffi:
 *
 * <ul>
 *   <li>{@code getpid*}: the cheapest libc call there is (glibc does the syscall every time), so
 *       the score is almost all call overhead plus one trivial syscall. Neither Panama getpid
 *       handle captures errno; the jnr method is {@code @IgnoreError} to match.</li>
 *   <li>{@code sendto*}: a 64-byte UDP datagram to 127.0.0.1 in a throwaway network namespace.
 *       On loopback the receive path runs in the sender's syscall (softirq), so this is a real
 *       data-plane syscall. Panama plain and jnr save errno on every call; the critical variant
 *       ({@link Sockets#sendToNonBlocking}) captures errno too and adds MSG_DONTWAIT.</li>
 * </ul>
 *
 * <p>Buffers are allocated once per trial. Panama segments come from {@code Arena.ofAuto()}, like
 * the errno capture segment in {@code LibC}: passing an automatic-arena segment to a downcall needs
 * no session acquire, whereas a shared arena would add an atomic per argument. jnr buffers are
 * direct {@link Memory} (a heap buffer would be copied on every call).
 *
 * <p>The receiver is never drained: once its socket buffer is full the kernel drops further
 * datagrams (sendto still returns 64), so in steady state every variant measures the same
 * send-and-drop path. Short sends and errors are counted in {@link SendFailures} and show up as a
 * secondary result; they should be 0.
 */
public class FfiBench extends BenchmarkDefaults {

    /** libc through jnr-ffi. */
    public interface JnrLibC {
        @IgnoreError
        int getpid();

        @ssize_t
        long sendto(int fd, @In Pointer buffer, @size_t long length, int flags, @In Pointer address,
                @socklen_t int addressLength);
    }

    /** Loaded once per fork; a static final proxy is a constant to the JIT, like a Panama handle. */
    static final JnrLibC JNR = LibraryLoader.create(JnrLibC.class)
            .load(Platform.getNativePlatform().getStandardCLibraryName());

    static final int PAYLOAD = 64;

    // ---------------------------------------------------------------- getpid

    @Benchmark
    public int getpidPanama() {
        return Syscalls.getpid();
    }

    @Benchmark
    public int getpidPanamaCritical() {
        return Syscalls.getpidCritical();
    }

    @Benchmark
    public int getpidJnr() {
        return JNR.getpid();
    }

    // ---------------------------------------------------------------- sendto

    @Benchmark
    public long sendtoPanama(Udp udp, SendFailures failures) {
        long r;
        try {
            r = Sockets.sendTo(udp.sender, udp.payload, PAYLOAD, 0, udp.destination);
        } catch (SysException e) {
            failures.sendFailures++;
            return -e.errno();
        }
        if (r != PAYLOAD) {
            failures.sendFailures++;
        }
        return r;
    }

    @Benchmark
    public long sendtoPanamaCritical(Udp udp, SendFailures failures) {
        long r = Sockets.sendToNonBlocking(udp.sender, udp.payload, PAYLOAD, udp.destination);
        if (r != PAYLOAD) {
            failures.sendFailures++;
        }
        return r;
    }

    @Benchmark
    public long sendtoJnr(Udp udp, SendFailures failures) {
        long r = JNR.sendto(udp.senderFd, udp.jnrPayload, PAYLOAD, 0, udp.jnrDestination,
                Sockets.SOCKADDR_IN_SIZE);
        if (r != PAYLOAD) {
            failures.sendFailures++;
        }
        return r;
    }

    /** Sends that did not return 64 (errors or short writes), per iteration. Expected: 0. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class SendFailures {
        public long sendFailures;

        @Setup(Level.Iteration)
        public void reset() {
            sendFailures = 0;
        }
    }

    /**
     * A UDP sender and a receiver bound to 127.0.0.1 inside a fresh network namespace
     * {@code shunt-bench-ffi-<random>}; nothing touches the machine's own namespace. The sockets
     * are created by a thread inside the namespace and stay there, while the benchmark thread
     * uses their fds.
     */
    @State(Scope.Thread)
    public static class Udp {
        NetworkNamespace namespace;
        Fd receiver;
        Fd sender;
        int senderFd;
        MemorySegment payload;
        MemorySegment destination;
        Pointer jnrPayload;
        Pointer jnrDestination;
        private Thread cleanupHook;

        @Setup(Level.Trial)
        public void setUp() throws UnknownHostException {
            String name = "shunt-bench-ffi-" + Integer.toHexString(ThreadLocalRandom.current().nextInt());
            namespace = NetworkNamespace.create(name);
            // If the fork is killed mid-run (JMH destroys it on timeout or Ctrl-C), still remove the namespace.
            cleanupHook = Thread.ofPlatform().unstarted(this::cleanUp);
            Runtime.getRuntime().addShutdownHook(cleanupHook);
            try {
                try (NetlinkHandle netlink = namespace.call(NetlinkHandle::open)) {
                    netlink.links().setUp("lo");
                }
                Inet4Address loopback = (Inet4Address) InetAddress.getByAddress(new byte[] {127, 0, 0, 1});
                Arena arena = Arena.ofAuto();
                MemorySegment bound = Sockets.sockaddrIn(arena, loopback, 0);
                receiver = namespace.call(() -> {
                    Fd fd = Sockets.socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
                    try {
                        Sockets.bind(fd, bound);
                        Sockets.getSockName(fd, bound); // port 0 asked the kernel to pick one
                        return fd;
                    } catch (RuntimeException e) {
                        fd.close();
                        throw e;
                    }
                });
                sender = namespace.call(() -> Sockets.socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0));
                senderFd = sender.value();
                destination = bound;

                payload = arena.allocate(PAYLOAD, 8);
                for (int i = 0; i < PAYLOAD; i++) {
                    payload.set(JAVA_BYTE, i, (byte) i);
                }
                jnr.ffi.Runtime jnrRuntime = jnr.ffi.Runtime.getRuntime(JNR);
                jnrPayload = Memory.allocateDirect(jnrRuntime, PAYLOAD);
                jnrPayload.put(0, payload.toArray(JAVA_BYTE), 0, PAYLOAD);
                jnrDestination = Memory.allocateDirect(jnrRuntime, Sockets.SOCKADDR_IN_SIZE);
                jnrDestination.put(0, destination.toArray(JAVA_BYTE), 0, Sockets.SOCKADDR_IN_SIZE);

                // One send through each path before measuring: a broken setup fails loudly here.
                check("Sockets.sendTo", Sockets.sendTo(sender, payload, PAYLOAD, 0, destination));
                check("Sockets.sendToNonBlocking", Sockets.sendToNonBlocking(sender, payload, PAYLOAD, destination));
                check("jnr sendto", JNR.sendto(senderFd, jnrPayload, PAYLOAD, 0, jnrDestination,
                        Sockets.SOCKADDR_IN_SIZE));
            } catch (RuntimeException | Error | UnknownHostException e) {
                try {
                    tearDown();
                } catch (RuntimeException cleanupFailure) {
                    e.addSuppressed(cleanupFailure);
                }
                throw e;
            }
        }

        private static void check(String what, long sent) {
            if (sent != PAYLOAD) {
                throw new IllegalStateException(what + " returned " + sent + ", expected " + PAYLOAD);
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            cleanUp();
            if (cleanupHook != null) {
                try {
                    Runtime.getRuntime().removeShutdownHook(cleanupHook);
                } catch (IllegalStateException shuttingDown) {
                    // the hook is running or has run: nothing left to do
                }
                cleanupHook = null;
            }
        }

        /** Closes both sockets, then deletes the namespace; safe to call twice and after a partial setup. */
        private synchronized void cleanUp() {
            try {
                if (sender != null) {
                    sender.close();
                }
            } finally {
                try {
                    if (receiver != null) {
                        receiver.close();
                    }
                } finally {
                    if (namespace != null && NetworkNamespace.exists(namespace.name())) {
                        namespace.delete();
                    }
                }
            }
        }
    }
}
