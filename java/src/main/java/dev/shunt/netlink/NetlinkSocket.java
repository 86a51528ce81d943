package dev.shunt.netlink;

import dev.shunt.sys.Errno;
import dev.shunt.sys.Fd;
import dev.shunt.sys.Sockets;
import dev.shunt.sys.SysException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static dev.shunt.netlink.NetlinkDescriptor.NETLINK_CAP_ACK;
import static dev.shunt.netlink.NetlinkDescriptor.NETLINK_EXT_ACK;
import static dev.shunt.netlink.NetlinkDescriptor.NLMSGERR_ATTR_MSG;
import static dev.shunt.netlink.NetlinkDescriptor.NLMSGERR_ERROR_OFFSET;
import static dev.shunt.netlink.NetlinkDescriptor.NLMSGERR_ORIGINAL_OFFSET;
import static dev.shunt.netlink.NetlinkDescriptor.NLMSG_DONE;
import static dev.shunt.netlink.NetlinkDescriptor.NLMSG_ERROR;
import static dev.shunt.netlink.NetlinkDescriptor.NLMSG_HDRLEN;
import static dev.shunt.netlink.NetlinkDescriptor.NLMSG_NOOP;
import static dev.shunt.netlink.NetlinkDescriptor.NLMSG_OVERRUN;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_ACK;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_ACK_TLVS;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_CAPPED;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_DUMP;
import static dev.shunt.netlink.NetlinkDescriptor.NLM_F_DUMP_INTR;
import static dev.shunt.netlink.NetlinkDescriptor.SOL_NETLINK;
import static dev.shunt.netlink.NetlinkDescriptor.align;

/**
 * One netlink socket of one family, bound in the network namespace of the thread that opened it
 * (and staying there whichever thread uses it later). Requests are serialised: one request and
 * its answer at a time, matched by sequence number.
 */
public final class NetlinkSocket implements AutoCloseable {
    /**
     * A dump that raced with a change comes back flagged NLM_F_DUMP_INTR and may be inconsistent;
     * it is redone from the start. The kernel only flags a dump when its generation counter moved
     * while the dump ran, so a handful of tries is plenty outside of a change storm.
     */
    private static final int MAX_DUMP_ATTEMPTS = 10;
    private static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(30);
    private static final int SOCKET_BUFFER = 1 << 20;
    private static final int INITIAL_RECEIVE_BUFFER = 64 * 1024;

    private final Fd fd;
    private final int protocol;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment kernelAddress;
    private MemorySegment receiveBuffer;
    private int sequence = (int) (System.nanoTime() & 0x3fffffff);

    private NetlinkSocket(Fd fd, int protocol) {
        this.fd = fd;
        this.protocol = protocol;
        this.kernelAddress = Sockets.sockaddrNetlink(arena, 0);
        this.receiveBuffer = arena.allocate(INITIAL_RECEIVE_BUFFER, 8);
    }

    /** Opens a socket of {@code protocol} (e.g. NETLINK_ROUTE) in the calling thread's namespace. */
    public static NetlinkSocket open(int protocol) {
        Fd fd = Sockets.socket(Sockets.AF_NETLINK, Sockets.SOCK_RAW, protocol);
        try {
            Sockets.setInt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
            Sockets.setInt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
            Sockets.setInt(fd, Sockets.SOL_SOCKET, Sockets.SO_RCVBUF, SOCKET_BUFFER);
            Sockets.setReceiveTimeout(fd, ANSWER_TIMEOUT);
            try (Arena local = Arena.ofConfined()) {
                Sockets.bind(fd, Sockets.sockaddrNetlink(local, 0));
            }
            return new NetlinkSocket(fd, protocol);
        } catch (RuntimeException e) {
            fd.close();
            throw e;
        }
    }

    public int protocol() {
        return protocol;
    }

    /** Sends a request that changes something and waits for the kernel's acknowledgement. */
    public synchronized void execute(NetlinkRequest request) {
        if ((request.flags() & NLM_F_ACK) == 0) {
            throw new IllegalArgumentException("execute() needs NLM_F_ACK on " + request.description());
        }
        int seq = send(request);
        while (true) {
            for (NetlinkMessage message : receive(seq, request)) {
                if (message.type() == NLMSG_ERROR) {
                    return; // receive() already threw for a non-zero error
                }
            }
        }
    }

    /** Sends a request for one object (no NLM_F_DUMP) and returns the kernel's reply. */
    public synchronized NetlinkMessage query(NetlinkRequest request) {
        int seq = send(request);
        while (true) {
            for (NetlinkMessage message : receive(seq, request)) {
                if (message.type() != NLMSG_ERROR && message.type() != NLMSG_NOOP) {
                    return message;
                }
            }
        }
    }

    /** Sends a dump request and returns every message of the answer, redoing interrupted dumps. */
    public synchronized List<NetlinkMessage> dump(NetlinkRequest request) {
        if ((request.flags() & NLM_F_DUMP) != NLM_F_DUMP) {
            throw new IllegalArgumentException("dump() needs NLM_F_DUMP on " + request.description());
        }
        for (int attempt = 1; attempt <= MAX_DUMP_ATTEMPTS; attempt++) {
            int seq = send(request);
            List<NetlinkMessage> result = new ArrayList<>();
            boolean interrupted = false;
            boolean done = false;
            while (!done) {
                for (NetlinkMessage message : receive(seq, request)) {
                    interrupted |= (message.flags() & NLM_F_DUMP_INTR) != 0;
                    if (message.type() == NLMSG_DONE || message.type() == NLMSG_ERROR) {
                        done = true;
                    } else if (message.type() != NLMSG_NOOP) {
                        result.add(message);
                    }
                }
            }
            if (!interrupted) {
                return result;
            }
        }
        throw new NetlinkException(request.description() + " (dump interrupted " + MAX_DUMP_ATTEMPTS + " times)",
                Errno.EINTR, null);
    }

    private int send(NetlinkRequest request) {
        int seq = ++sequence;
        byte[] message = request.finish(seq);
        try (Arena local = Arena.ofConfined()) {
            MemorySegment out = local.allocate(message.length, 8);
            MemorySegment.copy(MemorySegment.ofArray(message), 0, out, 0, message.length);
            Sockets.sendTo(fd, out, message.length, 0, kernelAddress);
        } catch (SysException e) {
            throw new NetlinkException(request.description(), e.errno(), "sendto failed");
        }
        return seq;
    }

    /**
     * Reads one datagram and returns its messages that answer {@code seq}. Throws for an
     * NLMSG_ERROR with a non-zero error, or for a DONE that carries one.
     */
    private List<NetlinkMessage> receive(int seq, NetlinkRequest request) {
        long size;
        try {
            size = Sockets.recv(fd, receiveBuffer, Sockets.MSG_PEEK | Sockets.MSG_TRUNC);
            if (size > receiveBuffer.byteSize()) {
                receiveBuffer = arena.allocate(align((int) size), 8);
            }
            size = Sockets.recv(fd, receiveBuffer, 0);
        } catch (SysException e) {
            if (e.errno() == Errno.EAGAIN) {
                throw new NetlinkException(request.description() + " (no answer within " + ANSWER_TIMEOUT.toSeconds() + " s)",
                        Errno.EAGAIN, null);
            }
            throw new NetlinkException(request.description(), e.errno(), "recv failed");
        }
        ByteBuffer datagram = receiveBuffer.asSlice(0, size).asByteBuffer().order(ByteOrder.nativeOrder());
        List<NetlinkMessage> messages = new ArrayList<>();
        int position = 0;
        while (position + NLMSG_HDRLEN <= size) {
            int length = datagram.getInt(position);
            int type = datagram.getShort(position + 4) & 0xffff;
            int flags = datagram.getShort(position + 6) & 0xffff;
            int messageSeq = datagram.getInt(position + 8);
            if (length < NLMSG_HDRLEN || position + length > size) {
                break;
            }
            if (messageSeq == seq) {
                byte[] copy = new byte[length];
                datagram.get(position, copy);
                ByteBuffer m = ByteBuffer.wrap(copy).order(ByteOrder.nativeOrder());
                if (type == NLMSG_ERROR) {
                    int error = m.getInt(NLMSGERR_ERROR_OFFSET);
                    if (error != 0) {
                        throw new NetlinkException(request.description(), -error, extendedAck(m, flags));
                    }
                } else if (type == NLMSG_DONE && length >= NLMSG_HDRLEN + 4) {
                    int error = m.getInt(NLMSG_HDRLEN);
                    if (error < 0) {
                        throw new NetlinkException(request.description(), -error, extendedAck(m, flags));
                    }
                } else if (type == NLMSG_OVERRUN) {
                    throw new NetlinkException(request.description() + " (netlink overrun)", Errno.ENOBUFS, null);
                }
                messages.add(new NetlinkMessage(type, flags, copy));
            }
            position += align(length);
        }
        return messages;
    }

    /** The NLMSGERR_ATTR_MSG text after an error (or DONE) message, if the kernel attached one. */
    private static String extendedAck(ByteBuffer message, int flags) {
        if ((flags & NLM_F_ACK_TLVS) == 0) {
            return null;
        }
        int tlvStart;
        if (message.getShort(0 + 4) == NLMSG_DONE) {
            tlvStart = NLMSG_HDRLEN + 4;
        } else {
            int originalLength = message.getInt(NLMSGERR_ORIGINAL_OFFSET);
            tlvStart = NLMSGERR_ORIGINAL_OFFSET + ((flags & NLM_F_CAPPED) != 0 ? NLMSG_HDRLEN : align(originalLength));
        }
        if (tlvStart >= message.capacity()) {
            return null;
        }
        return NetlinkAttributes.parse(message, tlvStart, message.capacity() - tlvStart).string(NLMSGERR_ATTR_MSG);
    }

    @Override
    public synchronized void close() {
        fd.close();
        arena.close();
    }
}
