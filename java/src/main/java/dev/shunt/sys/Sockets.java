package dev.shunt.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.Inet4Address;
import java.time.Duration;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * socket(2) and friends. Buffers are {@link MemorySegment}s the caller owns (native segments:
 * the kernel reads and writes them directly). Interrupted calls (EINTR) are retried here.
 */
public final class Sockets {
    public static final int AF_UNSPEC = 0;
    public static final int AF_INET = 2;
    public static final int AF_BRIDGE = 7;
    public static final int AF_INET6 = 10;
    public static final int AF_NETLINK = 16;
    public static final int AF_PACKET = 17;

    public static final int SOCK_STREAM = 1;
    public static final int SOCK_DGRAM = 2;
    public static final int SOCK_RAW = 3;
    public static final int SOCK_NONBLOCK = 0x800;
    public static final int SOCK_CLOEXEC = 0x80000;

    public static final int SOL_SOCKET = 1;
    public static final int SO_SNDBUF = 7;
    public static final int SO_RCVBUF = 8;
    public static final int SO_ERROR = 4;
    public static final int SO_RCVTIMEO = 20;
    public static final int SO_SNDBUFFORCE = 32;
    public static final int SO_RCVBUFFORCE = 33;

    public static final int MSG_PEEK = 0x2;
    public static final int MSG_TRUNC = 0x20;
    public static final int MSG_DONTWAIT = 0x40;

    /** sizeof(struct sockaddr_nl) = family u16, pad u16, pid u32, groups u32. */
    public static final int SOCKADDR_NL_SIZE = 12;
    /** sizeof(struct sockaddr_in). */
    public static final int SOCKADDR_IN_SIZE = 16;

    private Sockets() {}

    public static Fd socket(int domain, int type, int protocol) {
        MemorySegment state = LibC.callState();
        int r;
        try {
            r = (int) LibC.SOCKET.invokeExact(state, domain, type | SOCK_CLOEXEC, protocol);
        } catch (Throwable t) {
            throw LibC.downcallFailed("socket", t);
        }
        if (r < 0) {
            throw new SysException("socket(" + domain + ", " + type + ", " + protocol + ")", LibC.errno(state));
        }
        return new Fd(r, "socket(" + domain + "," + type + "," + protocol + ")");
    }

    public static void bind(Fd fd, MemorySegment sockaddr) {
        MemorySegment state = LibC.callState();
        int r;
        try {
            r = (int) LibC.BIND.invokeExact(state, fd.value(), sockaddr, (int) sockaddr.byteSize());
        } catch (Throwable t) {
            throw LibC.downcallFailed("bind", t);
        }
        if (r < 0) {
            throw new SysException("bind", LibC.errno(state));
        }
    }

    /** getsockname(2) into {@code sockaddr}, returning the address length the kernel wrote. */
    public static int getSockName(Fd fd, MemorySegment sockaddr) {
        MemorySegment state = LibC.callState();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment len = arena.allocateFrom(JAVA_INT, (int) sockaddr.byteSize());
            int r;
            try {
                r = (int) LibC.GETSOCKNAME.invokeExact(state, fd.value(), sockaddr, len);
            } catch (Throwable t) {
                throw LibC.downcallFailed("getsockname", t);
            }
            if (r < 0) {
                throw new SysException("getsockname", LibC.errno(state));
            }
            return len.get(JAVA_INT, 0);
        }
    }

    public static void setInt(Fd fd, int level, int option, int value) {
        try (Arena arena = Arena.ofConfined()) {
            setOption(fd, level, option, arena.allocateFrom(JAVA_INT, value));
        }
    }

    public static void setOption(Fd fd, int level, int option, MemorySegment value) {
        MemorySegment state = LibC.callState();
        int r;
        try {
            r = (int) LibC.SETSOCKOPT.invokeExact(state, fd.value(), level, option, value, (int) value.byteSize());
        } catch (Throwable t) {
            throw LibC.downcallFailed("setsockopt", t);
        }
        if (r < 0) {
            throw new SysException("setsockopt(level " + level + ", option " + option + ")", LibC.errno(state));
        }
    }

    /**
     * getsockopt(2) into {@code value} (its whole size offered); returns the length the kernel
     * wrote. {@code lengthScratch} is a caller-owned 4-byte native segment, so a caller on a hot
     * path can read a struct option without allocating.
     */
    public static int getOption(Fd fd, int level, int option, MemorySegment value, MemorySegment lengthScratch) {
        MemorySegment state = LibC.callState();
        lengthScratch.set(JAVA_INT, 0, (int) value.byteSize());
        int r;
        try {
            r = (int) LibC.GETSOCKOPT.invokeExact(state, fd.value(), level, option, value, lengthScratch);
        } catch (Throwable t) {
            throw LibC.downcallFailed("getsockopt", t);
        }
        if (r < 0) {
            throw new SysException("getsockopt(level " + level + ", option " + option + ")", LibC.errno(state));
        }
        return lengthScratch.get(JAVA_INT, 0);
    }

    public static int getInt(Fd fd, int level, int option) {
        MemorySegment state = LibC.callState();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(JAVA_INT);
            MemorySegment len = arena.allocateFrom(JAVA_INT, Integer.BYTES);
            int r;
            try {
                r = (int) LibC.GETSOCKOPT.invokeExact(state, fd.value(), level, option, value, len);
            } catch (Throwable t) {
                throw LibC.downcallFailed("getsockopt", t);
            }
            if (r < 0) {
                throw new SysException("getsockopt(level " + level + ", option " + option + ")", LibC.errno(state));
            }
            return value.get(JAVA_INT, 0);
        }
    }

    /** SO_RCVTIMEO: a blocking receive fails with EAGAIN after this long instead of waiting forever. */
    public static void setReceiveTimeout(Fd fd, Duration timeout) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment timeval = arena.allocate(16, 8);
            timeval.set(JAVA_LONG, 0, timeout.toSeconds());
            timeval.set(JAVA_LONG, 8, timeout.toNanosPart() / 1000L);
            setOption(fd, SOL_SOCKET, SO_RCVTIMEO, timeval);
        }
    }

    /**
     * sendto(2) of {@code length} bytes from the start of {@code buffer}; {@code address} may be
     * {@link MemorySegment#NULL} for a connected socket. Returns the bytes sent.
     */
    public static long sendTo(Fd fd, MemorySegment buffer, long length, int flags, MemorySegment address) {
        MemorySegment state = LibC.callState();
        int socket = fd.value();
        int addressLength = (int) address.byteSize();
        while (true) {
            long r;
            try {
                r = (long) LibC.SENDTO.invokeExact(state, socket, buffer, length, flags, address, addressLength);
            } catch (Throwable t) {
                throw LibC.downcallFailed("sendto", t);
            }
            if (r >= 0) {
                return r;
            }
            int errno = LibC.errno(state);
            if (errno != Errno.EINTR) {
                throw new SysException("sendto", errno);
            }
        }
    }

    /**
     * sendto(2) with MSG_DONTWAIT through a {@code critical} downcall, for the non-blocking sends of
     * a poll loop. Returns the bytes sent, or {@code -errno} (e.g. {@code -EAGAIN} when the socket
     * buffer is full) so the caller can count it without an exception.
     */
    public static long sendToNonBlocking(Fd fd, MemorySegment buffer, long length, MemorySegment address) {
        MemorySegment state = LibC.callState();
        long r;
        try {
            r = (long) LibC.SENDTO_CRITICAL.invokeExact(state, fd.value(), buffer, length, MSG_DONTWAIT, address,
                    (int) address.byteSize());
        } catch (Throwable t) {
            throw LibC.downcallFailed("sendto", t);
        }
        return r >= 0 ? r : -LibC.errno(state);
    }

    /** recv(2) into {@code buffer}; returns the byte count (with MSG_TRUNC, the real datagram size). */
    public static long recv(Fd fd, MemorySegment buffer, int flags) {
        MemorySegment state = LibC.callState();
        int socket = fd.value();
        while (true) {
            long r;
            try {
                r = (long) LibC.RECVFROM.invokeExact(state, socket, buffer, buffer.byteSize(), flags,
                        MemorySegment.NULL, MemorySegment.NULL);
            } catch (Throwable t) {
                throw LibC.downcallFailed("recvfrom", t);
            }
            if (r >= 0) {
                return r;
            }
            int errno = LibC.errno(state);
            if (errno != Errno.EINTR) {
                throw new SysException("recv", errno);
            }
        }
    }

    /** A zeroed struct sockaddr_nl for the kernel (pid 0) or for bind (pid 0 = let the kernel pick). */
    public static MemorySegment sockaddrNetlink(Arena arena, int groups) {
        MemorySegment sa = arena.allocate(SOCKADDR_NL_SIZE, 4);
        sa.set(JAVA_SHORT, 0, (short) AF_NETLINK);
        sa.set(JAVA_INT, 8, groups);
        return sa;
    }

    /** struct sockaddr_in with the port and address in network byte order. */
    public static MemorySegment sockaddrIn(Arena arena, Inet4Address address, int port) {
        MemorySegment sa = arena.allocate(SOCKADDR_IN_SIZE, 4);
        sa.set(JAVA_SHORT, 0, (short) AF_INET);
        sa.set(JAVA_BYTE, 2, (byte) (port >>> 8));
        sa.set(JAVA_BYTE, 3, (byte) port);
        MemorySegment.copy(address.getAddress(), 0, sa, JAVA_BYTE, 4, 4);
        return sa;
    }
}
