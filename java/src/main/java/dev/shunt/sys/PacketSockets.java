package dev.shunt.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.shunt.sys.PacketSocketDescriptor.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * AF_PACKET sockets (packet(7)) and the options their memory-mapped rings need. The socket lives in
 * the network namespace of the thread that opens it, for its whole life. Order matters to the
 * kernel: version, vnet header and reserve must be set before a ring exists (EBUSY after); rings
 * are created before {@link #bind} so no frame arrives before the ring is there.
 */
public final class PacketSockets {
    private PacketSockets() {}

    /**
     * socket(AF_PACKET, SOCK_RAW, 0). Protocol 0 registers no receive hook yet: the hook for
     * htons(ETH_P_ALL) is added by {@link #bind} for one interface. (Opening with
     * htons(ETH_P_ALL) would start capturing from every interface of the namespace at once.)
     */
    public static Fd open() {
        return Sockets.socket(Sockets.AF_PACKET, Sockets.SOCK_RAW, 0);
    }

    /** PACKET_VERSION, e.g. {@link PacketSocketDescriptor#TPACKET_V2}. Before any ring. */
    public static void setVersion(Fd fd, int version) {
        Sockets.setInt(fd, SOL_PACKET, PACKET_VERSION, version);
    }

    /**
     * Whether this kernel takes PACKET_VNET_HDR on a TPACKET_V2 socket (Linux 3.x+; a kernel
     * built without it answers ENOPROTOOPT): the agent's start-up check for offloads. Opens and
     * closes a socket of its own; binds nothing, so no frame is ever seen.
     */
    public static boolean vnetHeaderSupported() {
        try (Fd fd = open()) {
            setVersion(fd, TPACKET_V2);
            setVnetHeader(fd, true);
            return true;
        } catch (SysException e) {
            return false;
        }
    }

    /** PACKET_VNET_HDR: every frame is preceded by a struct virtio_net_hdr. Off by default; before any ring. */
    public static void setVnetHeader(Fd fd, boolean on) {
        Sockets.setInt(fd, SOL_PACKET, PACKET_VNET_HDR, on ? 1 : 0);
    }

    /** PACKET_QDISC_BYPASS: transmit straight to the driver, skipping the qdisc layer (and packet taps). */
    public static void setQdiscBypass(Fd fd, boolean on) {
        Sockets.setInt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, on ? 1 : 0);
    }

    /** PACKET_IGNORE_OUTGOING: do not receive frames the host (or this socket) sends on the interface. */
    public static void setIgnoreOutgoing(Fd fd, boolean on) {
        Sockets.setInt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, on ? 1 : 0);
    }

    /** PACKET_RX_RING with a struct tpacket_req (TPACKET_V1/V2 geometry). */
    public static void setRxRing(Fd fd, int blockSize, int blockCount, int frameSize, int frameCount) {
        setRing(fd, PACKET_RX_RING, blockSize, blockCount, frameSize, frameCount);
    }

    /** PACKET_TX_RING with a struct tpacket_req. */
    public static void setTxRing(Fd fd, int blockSize, int blockCount, int frameSize, int frameCount) {
        setRing(fd, PACKET_TX_RING, blockSize, blockCount, frameSize, frameCount);
    }

    /**
     * PACKET_RX_RING with a struct tpacket_req3 (TPACKET_V3): {@code blockCount} blocks of
     * {@code blockSize} bytes, each handed to user space when full or when {@code retireTimeoutMs}
     * passed since it was opened (0 lets the kernel derive a timeout from the link speed).
     * {@code frameSize}/{@code frameCount} only satisfy the kernel's geometry checks: V3 packs
     * packets of any size into a block.
     */
    public static void setRxRingV3(Fd fd, int blockSize, int blockCount, int frameSize, int frameCount, int retireTimeoutMs) {
        setRing3(fd, PACKET_RX_RING, blockSize, blockCount, frameSize, frameCount, retireTimeoutMs);
    }

    /**
     * PACKET_TX_RING on a TPACKET_V3 socket: a struct tpacket_req3 whose timer, private area and
     * feature word must be 0 (the kernel refuses anything else with EINVAL: V3 transmit is
     * frame-based, tpacket3_hdr per slot, Linux 4.11+).
     */
    public static void setTxRingV3(Fd fd, int blockSize, int blockCount, int frameSize, int frameCount) {
        setRing3(fd, PACKET_TX_RING, blockSize, blockCount, frameSize, frameCount, 0);
    }

    private static void setRing3(Fd fd, int option, int blockSize, int blockCount, int frameSize, int frameCount,
                                 int retireTimeoutMs) {
        checkGeometry(blockSize, blockCount, frameSize, frameCount);
        if (retireTimeoutMs < 0) {
            throw new IllegalArgumentException("retire timeout must be >= 0 ms: " + retireTimeoutMs);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment req = arena.allocate(TPACKET_REQ3_SIZE, 4);
            req.set(JAVA_INT, REQ_BLOCK_SIZE_OFFSET, blockSize);
            req.set(JAVA_INT, REQ_BLOCK_NR_OFFSET, blockCount);
            req.set(JAVA_INT, REQ_FRAME_SIZE_OFFSET, frameSize);
            req.set(JAVA_INT, REQ_FRAME_NR_OFFSET, frameCount);
            req.set(JAVA_INT, REQ3_RETIRE_BLK_TOV_OFFSET, retireTimeoutMs);
            Sockets.setOption(fd, SOL_PACKET, option, req);
        }
    }

    private static void checkGeometry(int blockSize, int blockCount, int frameSize, int frameCount) {
        if (frameSize % TPACKET_ALIGNMENT != 0 || blockSize % frameSize != 0
                || (long) (blockSize / frameSize) * blockCount != frameCount) {
            throw new IllegalArgumentException("ring geometry: block " + blockSize + " x " + blockCount
                    + ", frame " + frameSize + " x " + frameCount
                    + " (frames must be 16-byte aligned, fill whole blocks, and number blocks x frames per block)");
        }
    }

    private static void setRing(Fd fd, int option, int blockSize, int blockCount, int frameSize, int frameCount) {
        checkGeometry(blockSize, blockCount, frameSize, frameCount);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment req = arena.allocate(TPACKET_REQ_SIZE, 4);
            req.set(JAVA_INT, REQ_BLOCK_SIZE_OFFSET, blockSize);
            req.set(JAVA_INT, REQ_BLOCK_NR_OFFSET, blockCount);
            req.set(JAVA_INT, REQ_FRAME_SIZE_OFFSET, frameSize);
            req.set(JAVA_INT, REQ_FRAME_NR_OFFSET, frameCount);
            Sockets.setOption(fd, SOL_PACKET, option, req);
        }
    }

    /**
     * bind(2) to one interface of the socket's namespace with sll_protocol = htons(ETH_P_ALL):
     * from here on the socket receives every frame of that interface (and only of it).
     */
    public static void bind(Fd fd, int ifindex) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sll = arena.allocate(SOCKADDR_LL_SIZE, 4);
            sll.set(JAVA_SHORT, SLL_FAMILY_OFFSET, (short) Sockets.AF_PACKET);
            // __be16: the high byte first in memory
            sll.set(JAVA_BYTE, SLL_PROTOCOL_OFFSET, (byte) (ETH_P_ALL >>> 8));
            sll.set(JAVA_BYTE, SLL_PROTOCOL_OFFSET + 1, (byte) ETH_P_ALL);
            sll.set(JAVA_INT, SLL_IFINDEX_OFFSET, ifindex);
            Sockets.bind(fd, sll);
        }
    }

    /**
     * send(fd, NULL, 0, MSG_DONTWAIT): asks the kernel to transmit every TX ring slot marked
     * TP_STATUS_SEND_REQUEST, from its own ring head on, without waiting for completions. Returns
     * the bytes sent (0 when nothing was pending) or {@code -errno}: {@code -EAGAIN}/{@code -ENOBUFS}
     * when the socket's send buffer is full (the rest stays queued for the next kick), or the error
     * that stopped the walk (e.g. {@code -EMSGSIZE} with the slot marked TP_STATUS_WRONG_FORMAT,
     * {@code -ENETDOWN}).
     */
    public static long kick(Fd fd) {
        return Sockets.sendToNonBlocking(fd, MemorySegment.NULL, 0, MemorySegment.NULL);
    }
}
