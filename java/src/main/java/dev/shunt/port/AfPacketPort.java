package dev.shunt.port;

import dev.shunt.sys.Errno;
import dev.shunt.sys.Fd;
import dev.shunt.sys.MappedRegion;
import dev.shunt.sys.PacketSocketDescriptor;
import dev.shunt.sys.PacketSockets;
import dev.shunt.sys.PacketStatistics;
import dev.shunt.sys.Sockets;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

import static dev.shunt.sys.PacketSocketDescriptor.*;

/**
 * A port on one network interface through an AF_PACKET socket with memory-mapped TPACKET_V2 RX
 * and TX rings (packet_mmap). V2, not V3, for receive: a V3 block reaches user space only when it
 * is full or its retire timer fires, which costs request/response traffic 5-50x (PERFORMANCE.md).
 *
 * <h2>Setup</h2>
 * {@link #open} creates the socket in the <em>calling thread's</em> network namespace (it stays
 * there for life), sets TPACKET_V2, optionally PACKET_VNET_HDR (must precede the rings),
 * PACKET_QDISC_BYPASS (transmit straight to the driver) and PACKET_IGNORE_OUTGOING (the socket
 * does not read back its own, or the host's, transmissions), creates both rings, maps them with
 * one mmap (RX ring first, then TX ring, as the kernel lays them out) and binds to the interface
 * index last, so no frame arrives before the ring exists.
 *
 * <h2>Memory</h2>
 * {@link Config#memoryBytes()}: {@code (rxFrames + txFrames) * frameSize}; the default (512 + 512
 * slots of 2048 bytes) is 2 MiB of unswappable kernel memory per port, mapped into the process.
 * A 2048-byte slot holds a received frame of up to 1982 bytes (the kernel puts it at slot offset
 * 66, after the 32-byte tpacket2_hdr, a sockaddr_ll and alignment) and a transmitted frame of up to
 * 2016 bytes (from offset 32): enough for MTU 1500 plus an Ethernet header and a VLAN tag.
 *
 * <h2>Memory ordering</h2>
 * Each slot's {@code tp_status} word is the hand-over point between this thread and the kernel,
 * like the head and tail indexes of an agrona ring buffer. A slot's status is read with
 * <em>acquire</em> semantics ({@link VarHandle#getAcquire}) before any other byte of the slot, so
 * the frame bytes the kernel wrote before it published TP_STATUS_USER (it issues smp_wmb first)
 * are visible. Handing a slot back is a <em>release</em> store ({@link VarHandle#setRelease}) of
 * TP_STATUS_KERNEL or TP_STATUS_SEND_REQUEST after the last access to its bytes (a TX slot's data
 * and tp_len are complete before the kernel can see SEND_REQUEST).
 *
 * <h2>Status values handled</h2>
 * RX: TP_STATUS_USER (ours), TP_STATUS_LOSING (drops happened: read PACKET_STATISTICS into
 * {@link PortCounters#rxDropped()}), TP_STATUS_COPY or a snaplen below the wire length (frame did
 * not fit the slot: counted in {@link #rxTruncated()}, handed back at once, never forwarded),
 * TP_STATUS_CSUMNOTREADY (a checksum-partial frame from a sender with TX checksum offload: counted,
 * passed on), TP_STATUS_VLAN_VALID (the VLAN tag was taken off into tp_vlan_tci: put back in front
 * of the frame, so the frame is what was on the wire). TX: TP_STATUS_AVAILABLE (free; timestamp
 * bits ignored), TP_STATUS_SEND_REQUEST / TP_STATUS_SENDING (ring full: the frame is counted in
 * txDropped and refused, never waited for), TP_STATUS_WRONG_FORMAT (the kernel refused the frame
 * and stopped its TX walk there: counted, reclaimed, the frames queued behind it moved up one slot
 * so the kernel's ring head and ours agree again).
 *
 * <p>One thread owns a port (receive, release, transmit, flush); nothing allocates per frame,
 * nothing blocks: the TX kick is send(MSG_DONTWAIT), and idle waiting belongs to the poll loop,
 * which registers {@link #ringFd()} with its epoll (readable when a received frame is waiting).
 */
public final class AfPacketPort implements PollablePort, AutoCloseable {
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT;
    private static final int PAGE_SIZE = 4096;
    private static final int ETHERNET_HEADER = 14;
    private static final int MAC_ADDRESSES = 12;
    private static final int VLAN_TAG = 4;
    private static final int ETHERTYPE_VLAN = 0x8100;
    /** The TX states; the rest of a TX status word are timestamp bits. */
    private static final int TX_STATE_MASK = TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING | TP_STATUS_WRONG_FORMAT;
    /** struct virtio_net_hdr.hdr_len (little-endian u16 on x86). */
    private static final int VNET_HDR_LEN_OFFSET = 2;

    /**
     * Ring geometry and options. {@code frameSize} is a multiple of 16; both frame counts are
     * rounded up to whole ring blocks (a block is the least common multiple of frameSize and the
     * page size).
     */
    public record Config(int frameSize, int rxFrames, int txFrames, boolean vnetHeader, boolean lockMemory) {
        public Config {
            if (frameSize < 256 || frameSize % TPACKET_ALIGNMENT != 0) {
                throw new IllegalArgumentException("frame size must be a multiple of 16 and at least 256: " + frameSize);
            }
            if (rxFrames < 1 || txFrames < 1) {
                throw new IllegalArgumentException("at least one frame per ring: rx " + rxFrames + ", tx " + txFrames);
            }
            int perBlock = blockSize(frameSize) / frameSize;
            rxFrames = roundUp(rxFrames, perBlock);
            txFrames = roundUp(txFrames, perBlock);
        }

        /** 2048-byte slots, 512 per ring (2 MiB per port), no vnet header, memory not locked. */
        public static Config defaults() {
            return new Config(2048, 512, 512, false, false);
        }

        public Config withFrames(int rx, int tx) {
            return new Config(frameSize, rx, tx, vnetHeader, lockMemory);
        }

        public Config withVnetHeader(boolean on) {
            return new Config(frameSize, rxFrames, txFrames, on, lockMemory);
        }

        /** The size of the mapping: both rings. */
        public long memoryBytes() {
            return (long) (rxFrames + txFrames) * frameSize;
        }

        int blockSize() {
            return blockSize(frameSize);
        }

        private static int blockSize(int frameSize) {
            int a = frameSize;
            int b = PAGE_SIZE;
            while (b != 0) {
                int t = a % b;
                a = b;
                b = t;
            }
            return frameSize / a * PAGE_SIZE;
        }

        private static int roundUp(int n, int multiple) {
            return (n + multiple - 1) / multiple * multiple;
        }
    }

    private final int id;
    private final String name;
    private final Config config;
    private final Fd fd;
    private final MappedRegion region;
    private final MemorySegment ring;
    private final PacketStatistics statistics;
    private final PortCounters counters = new PortCounters();

    private final int frameSize;
    private final int rxFrames;
    private final int txFrames;
    private final long txBase;
    private final int vnetBytes;
    /** Largest frame {@link #transmit} accepts: what fits a TX slot after the header (and vnet header). */
    private final int txCapacity;

    // RX state
    private int rxHead;
    private final long[] heldSlots;
    private int heldCount;

    // TX state: slots [txKernel, txKernel + txWaiting) hold SEND_REQUEST (or WRONG_FORMAT at txKernel)
    private int txHead;
    private int txKernel;
    private int txWaiting;

    // port-specific counters
    private long rxLosing;
    private long rxTruncated;
    private long rxCsumNotReady;
    private long rxVlanRestored;
    private long kernelRxPackets;
    private long txRingFull;
    private long txInvalidLength;
    private long txWrongFormat;
    private long kicks;
    private long kicksBackpressured;
    private long sendErrors;
    private int lastSendErrno;

    private AfPacketPort(int id, String name, Config config, Fd fd, MappedRegion region) {
        this.id = id;
        this.name = name;
        this.config = config;
        this.fd = fd;
        this.region = region;
        this.ring = region.segment();
        this.statistics = new PacketStatistics(fd);
        this.frameSize = config.frameSize();
        this.rxFrames = config.rxFrames();
        this.txFrames = config.txFrames();
        this.txBase = (long) rxFrames * frameSize;
        this.vnetBytes = config.vnetHeader() ? VIRTIO_NET_HDR_SIZE : 0;
        this.txCapacity = frameSize - TPACKET2_TX_DATA_OFFSET - vnetBytes;
        this.heldSlots = new long[rxFrames];
    }

    /** {@link #open(int, String, int, Config)} with {@link Config#defaults()}. */
    public static AfPacketPort open(int id, String name, int ifindex) {
        return open(id, name, ifindex, Config.defaults());
    }

    /**
     * Opens a port on interface {@code ifindex} of the calling thread's network namespace (run it
     * inside {@code NetworkNamespace.call} for a lab namespace). Nothing is left open on failure.
     */
    public static AfPacketPort open(int id, String name, int ifindex, Config config) {
        Fd fd = PacketSockets.open();
        MappedRegion region = null;
        try {
            PacketSockets.setVersion(fd, TPACKET_V2);
            if (config.vnetHeader()) {
                PacketSockets.setVnetHeader(fd, true); // before the rings, or EBUSY
            }
            PacketSockets.setQdiscBypass(fd, true);
            PacketSockets.setIgnoreOutgoing(fd, true);
            int block = config.blockSize();
            int perBlock = block / config.frameSize();
            PacketSockets.setRxRing(fd, block, config.rxFrames() / perBlock, config.frameSize(), config.rxFrames());
            PacketSockets.setTxRing(fd, block, config.txFrames() / perBlock, config.frameSize(), config.txFrames());
            region = MappedRegion.map(fd, config.memoryBytes(), config.lockMemory());
            PacketSockets.bind(fd, ifindex);
            return new AfPacketPort(id, name, config, fd, region);
        } catch (RuntimeException e) {
            if (region != null) {
                region.close();
            }
            fd.close();
            throw e;
        }
    }

    @Override
    public int id() {
        return id;
    }

    @Override
    public String name() {
        return name;
    }

    public Config config() {
        return config;
    }

    /** The packet socket, for the poll loop's epoll: EPOLLIN when a received frame waits in the RX ring. */
    public Fd ringFd() {
        return fd;
    }

    /**
     * Takes up to {@code batch.capacity()} received frames from the RX ring, in arrival order. Each
     * entry is (offset of the Ethernet header in {@link RxBatch#segment()}, frame length). The
     * slots stay Shunt's until {@link #release}; frames of an earlier receive that were not
     * released are released first.
     */
    @Override
    public int receive(RxBatch batch) {
        if (heldCount > 0) {
            releaseHeld();
        }
        batch.reset(ring);
        int n = 0;
        int capacity = Math.min(batch.capacity(), rxFrames);
        while (n < capacity) {
            long slot = (long) rxHead * frameSize;
            int status = (int) INT.getAcquire(ring, slot + TP2_STATUS_OFFSET);
            if ((status & TP_STATUS_USER) == 0) {
                break;
            }
            rxHead = rxHead + 1 == rxFrames ? 0 : rxHead + 1;
            if ((status & TP_STATUS_LOSING) != 0) {
                rxLosing++;
                pollStatistics();
            }
            int wireLength = ring.get(ValueLayout.JAVA_INT, slot + TP2_LEN_OFFSET);
            int length = ring.get(ValueLayout.JAVA_INT, slot + TP2_SNAPLEN_OFFSET);
            long frame = slot + Short.toUnsignedInt(ring.get(U16, slot + TP2_MAC_OFFSET));
            if (length < wireLength || (status & TP_STATUS_COPY) != 0) {
                rxTruncated++;
                INT.setRelease(ring, slot + TP2_STATUS_OFFSET, TP_STATUS_KERNEL);
                continue;
            }
            if ((status & TP_STATUS_CSUMNOTREADY) != 0) {
                rxCsumNotReady++;
            }
            if ((status & TP_STATUS_VLAN_VALID) != 0) {
                frame = restoreVlanTag(slot, frame, status);
                length += VLAN_TAG;
            }
            batch.add(frame, length);
            heldSlots[heldCount++] = slot;
            counters.countRx(length);
            n++;
        }
        return n;
    }

    /**
     * The kernel delivered the frame without its 802.1Q tag (tp_vlan_tci holds it): move the MAC
     * addresses 4 bytes towards the slot header (there are at least 14 free bytes after the
     * sockaddr_ll) and write TPID and TCI between them and the EtherType.
     */
    private long restoreVlanTag(long slot, long frame, int status) {
        int tci = Short.toUnsignedInt(ring.get(U16, slot + TP2_VLAN_TCI_OFFSET));
        int tpid = (status & TP_STATUS_VLAN_TPID_VALID) != 0
                ? Short.toUnsignedInt(ring.get(U16, slot + TP2_VLAN_TPID_OFFSET))
                : ETHERTYPE_VLAN;
        long tagged = frame - VLAN_TAG;
        MemorySegment.copy(ring, frame, ring, tagged, MAC_ADDRESSES);
        ring.set(ValueLayout.JAVA_BYTE, tagged + 12, (byte) (tpid >>> 8));
        ring.set(ValueLayout.JAVA_BYTE, tagged + 13, (byte) tpid);
        ring.set(ValueLayout.JAVA_BYTE, tagged + 14, (byte) (tci >>> 8));
        ring.set(ValueLayout.JAVA_BYTE, tagged + 15, (byte) tci);
        rxVlanRestored++;
        return tagged;
    }

    /** Hands the slots of the last {@link #receive} back to the kernel (release store of TP_STATUS_KERNEL). */
    @Override
    public void release(RxBatch batch) {
        releaseHeld();
    }

    private void releaseHeld() {
        for (int i = 0; i < heldCount; i++) {
            INT.setRelease(ring, heldSlots[i] + TP2_STATUS_OFFSET, TP_STATUS_KERNEL);
        }
        heldCount = 0;
    }

    /**
     * Copies a frame into the next TX slot and marks it TP_STATUS_SEND_REQUEST; {@link #flush}
     * makes the kernel send it. Returns false, counting txDropped, when that slot is still the
     * kernel's (ring full) or the frame cannot be a valid Ethernet frame for a slot (shorter than
     * 14 bytes, longer than {@link #maxFrameLength()}). Never blocks.
     */
    @Override
    public boolean transmit(MemorySegment frame, long offset, int length) {
        if (length < ETHERNET_HEADER || length > txCapacity) {
            txInvalidLength++;
            counters.countTxDropped();
            return false;
        }
        long slot = txBase + (long) txHead * frameSize;
        int status = (int) INT.getAcquire(ring, slot + TP2_STATUS_OFFSET);
        if ((status & TX_STATE_MASK) != TP_STATUS_AVAILABLE) {
            txRingFull++;
            counters.countTxDropped();
            return false;
        }
        long data = slot + TPACKET2_TX_DATA_OFFSET;
        if (vnetBytes != 0) {
            ring.set(ValueLayout.JAVA_LONG, data, 0L); // flags, gso_type, hdr_len, gso_size, csum_start
            ring.set(ValueLayout.JAVA_SHORT, data + 8, (short) 0); // csum_offset
            // hdr_len = the whole frame: the kernel then builds a linear skb (PERFORMANCE.md)
            ring.set(ValueLayout.JAVA_SHORT, data + VNET_HDR_LEN_OFFSET, (short) length);
        }
        MemorySegment.copy(frame, offset, ring, data + vnetBytes, length);
        ring.set(ValueLayout.JAVA_INT, slot + TP2_LEN_OFFSET, length + vnetBytes);
        INT.setRelease(ring, slot + TP2_STATUS_OFFSET, TP_STATUS_SEND_REQUEST);
        txHead = txHead + 1 == txFrames ? 0 : txHead + 1;
        txWaiting++;
        return true;
    }

    /**
     * One send(MSG_DONTWAIT) for everything queued since the last flush, then a walk over those
     * slots: each the kernel took is counted as sent; a TP_STATUS_WRONG_FORMAT slot is reclaimed
     * (see the class comment) and the rest kicked again. Frames the kernel could not take yet (send
     * buffer full, link down) stay queued: {@link #txWaiting()} tells the poll loop to flush again.
     */
    @Override
    public void flush() {
        // Each pass either empties the queue, stops at a slot the kernel has not taken, or removes
        // one wrong-format frame from the queue: at most txWaiting + 1 passes.
        for (int pass = 0; txWaiting > 0 && pass <= txFrames; pass++) {
            long r = PacketSockets.kick(fd);
            kicks++;
            if (r < 0) {
                int errno = (int) -r;
                if (errno == Errno.EAGAIN || errno == Errno.ENOBUFS) {
                    kicksBackpressured++;
                } else {
                    sendErrors++;
                }
                lastSendErrno = errno;
            }
            collectTaken();
            if (txWaiting == 0 || !reclaimWrongFormat()) {
                return;
            }
        }
    }

    /** Advances over the queued slots the kernel has taken (SENDING or already AVAILABLE again). */
    private void collectTaken() {
        while (txWaiting > 0) {
            long slot = txBase + (long) txKernel * frameSize;
            int state = (int) INT.getAcquire(ring, slot + TP2_STATUS_OFFSET) & TX_STATE_MASK;
            if (state == TP_STATUS_SEND_REQUEST || state == TP_STATUS_WRONG_FORMAT) {
                return;
            }
            counters.countTx(ring.get(ValueLayout.JAVA_INT, slot + TP2_LEN_OFFSET) - vnetBytes);
            txKernel = txKernel + 1 == txFrames ? 0 : txKernel + 1;
            txWaiting--;
        }
    }

    /**
     * If the kernel stopped at a TP_STATUS_WRONG_FORMAT slot (tpacket_snd leaves its ring head
     * there, so nothing behind it would ever be sent), counts it, moves every queued frame behind
     * it one slot up, and frees the last one. Safe because the kernel reads TX slots only inside
     * send(), which this thread alone calls. Returns true if it reclaimed a slot.
     */
    private boolean reclaimWrongFormat() {
        long first = txBase + (long) txKernel * frameSize;
        int state = (int) INT.getAcquire(ring, first + TP2_STATUS_OFFSET) & TX_STATE_MASK;
        if (state != TP_STATUS_WRONG_FORMAT) {
            return false;
        }
        txWrongFormat++;
        counters.countTxDropped();
        int to = txKernel;
        for (int i = 1; i < txWaiting; i++) {
            int from = to + 1 == txFrames ? 0 : to + 1;
            long src = txBase + (long) from * frameSize;
            long dst = txBase + (long) to * frameSize;
            int tpLen = ring.get(ValueLayout.JAVA_INT, src + TP2_LEN_OFFSET);
            MemorySegment.copy(ring, src + TPACKET2_TX_DATA_OFFSET, ring, dst + TPACKET2_TX_DATA_OFFSET, tpLen);
            ring.set(ValueLayout.JAVA_INT, dst + TP2_LEN_OFFSET, tpLen);
            INT.setRelease(ring, dst + TP2_STATUS_OFFSET, TP_STATUS_SEND_REQUEST);
            to = from;
        }
        INT.setRelease(ring, txBase + (long) to * frameSize + TP2_STATUS_OFFSET, TP_STATUS_AVAILABLE);
        txHead = to;
        txWaiting--;
        return true;
    }

    /**
     * Reads PACKET_STATISTICS (which resets the kernel's counts) and adds its drops to
     * {@link PortCounters#rxDropped()}. Called by {@link #receive} when a slot carries
     * TP_STATUS_LOSING; the control plane may call it on the owning thread for a fresh figure.
     */
    public void pollStatistics() {
        statistics.read();
        kernelRxPackets += statistics.packets();
        counters.countRxDropped(statistics.drops());
    }

    /**
     * Takes the socket's pending error (getsockopt SO_ERROR, which clears it), 0 if none. The
     * kernel sets ENETDOWN when the bound interface goes down; until taken it makes epoll report
     * EPOLLERR on {@link #ringFd()} at every wait, and the next TX kick fail once. The poll loop
     * calls this when epoll reports EPOLLERR.
     */
    public int takeSocketError() {
        return Sockets.getInt(fd, Sockets.SOL_SOCKET, Sockets.SO_ERROR);
    }

    /** Frames queued with {@link #transmit} that the kernel has not taken yet. */
    public int txWaiting() {
        return txWaiting;
    }

    /** The longest frame {@link #transmit} accepts. */
    public int maxFrameLength() {
        return txCapacity;
    }

    @Override
    public PortCounters counters() {
        return counters;
    }

    /** Slots seen with TP_STATUS_LOSING (each triggered a statistics read). */
    public long rxLosing() {
        return rxLosing;
    }

    /** Frames longer than a slot (snaplen below the wire length): handed back unread, never forwarded. */
    public long rxTruncated() {
        return rxTruncated;
    }

    /** Frames with TP_STATUS_CSUMNOTREADY: checksum left to offload by the sender. */
    public long rxCsumNotReady() {
        return rxCsumNotReady;
    }

    /** Frames whose VLAN tag the kernel had stripped and the port put back. */
    public long rxVlanRestored() {
        return rxVlanRestored;
    }

    /** tp_packets summed over every PACKET_STATISTICS read: frames the socket saw, drops included. */
    public long kernelRxPackets() {
        return kernelRxPackets;
    }

    /** Transmits refused because the next TX slot was still the kernel's. */
    public long txRingFull() {
        return txRingFull;
    }

    /** Transmits refused for their length. */
    public long txInvalidLength() {
        return txInvalidLength;
    }

    /** Frames the kernel marked TP_STATUS_WRONG_FORMAT (e.g. longer than the device MTU), reclaimed. */
    public long txWrongFormat() {
        return txWrongFormat;
    }

    /** send() calls made to kick the TX ring. */
    public long kicks() {
        return kicks;
    }

    /** Kicks answered EAGAIN or ENOBUFS: send buffer full or device queue stopped; the frames stay queued. */
    public long kicksBackpressured() {
        return kicksBackpressured;
    }

    /** Kicks that failed with an error other than EAGAIN/ENOBUFS. */
    public long sendErrors() {
        return sendErrors;
    }

    /** The errno of the last failed kick, backpressure included (0 if none failed yet). */
    public int lastSendErrno() {
        return lastSendErrno;
    }

    /** Unmaps the rings and closes the socket. Any segment from {@link RxBatch#segment()} becomes unusable. */
    @Override
    public void close() {
        try {
            region.close();
        } finally {
            fd.close();
        }
    }

    @Override
    public String toString() {
        return "port " + id + " " + name + " (AF_PACKET V2, " + rxFrames + "+" + txFrames + " x " + frameSize + " B)";
    }
}
