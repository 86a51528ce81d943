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
 * A port on one network interface through an AF_PACKET socket with memory-mapped RX and TX rings
 * (packet_mmap), TPACKET_V2 by default or TPACKET_V3 ({@link Config#withVersion}). The version is
 * per socket and applies to both rings: with V3 the RX ring is a ring of blocks (handed over when
 * full or when the retire timer fires) and the TX ring stays a ring of fixed frames, each with a
 * tpacket3_hdr instead of a tpacket2_hdr. V2 is the default: a V3 block reaches user space only
 * when it is full or its timer fires, which costs request/response traffic dearly (docs/afpacket.md
 * has the figures measured in Shunt; PERFORMANCE.md those of a C forwarder).
 *
 * <h2>Setup</h2>
 * {@link #open} creates the socket in the <em>calling thread's</em> network namespace (it stays
 * there for life), sets the TPACKET version, optionally PACKET_VNET_HDR (it must precede the
 * rings), PACKET_QDISC_BYPASS unless the config says otherwise (transmit straight to the
 * driver; GSO configs go through dev_queue_xmit instead) and PACKET_IGNORE_OUTGOING (the socket does not read back its own, or the host's,
 * transmissions), creates both rings, maps them with one mmap (RX ring first, then TX ring, as the
 * kernel lays them out) and binds to the interface index last, so no frame arrives before the ring
 * exists.
 *
 * <h2>Memory</h2>
 * {@link Config#memoryBytes()}: {@code (rxFrames + txFrames) * frameSize}; the default (512 + 512
 * slots of 2048 bytes) is 2 MiB of unswappable kernel memory per port, mapped into the process.
 * A 2048-byte V2 slot holds a received frame of up to 1982 bytes (the kernel puts it at slot offset
 * 66, after the 32-byte tpacket2_hdr, a sockaddr_ll and alignment) and a transmitted frame of up to
 * 2016 bytes (from offset 32; 2000 from offset 48 with V3): enough for MTU 1500 plus an Ethernet
 * header and a VLAN tag. A V3 RX block packs frames back to back.
 *
 * <h2>Virtio-net header</h2>
 * With {@link Config#vnetHeaderSize()} 10 every frame in both rings is preceded by a
 * struct virtio_net_hdr. Received frames still start at
 * {@link RxBatch#offset(int)}; their header is at {@link RxBatch#vnetHeaderOffset(int)}.
 * {@link #transmit} writes the frame's {@link VnetHeader} (none: a header without GSO or checksum
 * offload), always with hdr_len = the frame length (the kernel then builds a linear skb:
 * PERFORMANCE.md), so GSO and checksum-partial frames leave as they came.
 *
 * <h2>Memory ordering</h2>
 * Each slot's (V3 RX: each block's) status word is the hand-over point between this thread and the
 * kernel, like the head and tail indexes of an agrona ring buffer. A status is read with
 * <em>acquire</em> semantics ({@link VarHandle#getAcquire}) before any other byte it covers, so
 * the frame bytes the kernel wrote before it published TP_STATUS_USER (it issues smp_wmb first)
 * are visible. Handing a slot back is a <em>release</em> store ({@link VarHandle#setRelease}) of
 * TP_STATUS_KERNEL or TP_STATUS_SEND_REQUEST after the last access to its bytes (a TX slot's data
 * and tp_len are complete before the kernel can see SEND_REQUEST).
 *
 * <h2>Status values handled</h2>
 * RX: TP_STATUS_USER (ours), TP_STATUS_LOSING (drops happened: read PACKET_STATISTICS into
 * {@link PortCounters#rxRingOverrun()}), TP_STATUS_COPY or a snaplen below the wire length (frame
 * did not fit the slot: counted in {@link PortCounters#rxTruncated()}, handed back unread, never
 * forwarded), TP_STATUS_CSUMNOTREADY (a checksum-partial frame from a sender with TX checksum
 * offload: counted, passed on), TP_STATUS_VLAN_VALID (the VLAN tag was taken off into tp_vlan_tci:
 * put back in front of the frame, so the frame is what was on the wire), TP_STATUS_BLK_TMO (V3: the
 * block was retired by its timer: counted). TX: TP_STATUS_AVAILABLE (free; timestamp bits
 * ignored), TP_STATUS_SEND_REQUEST / TP_STATUS_SENDING (ring full: the frame is counted in
 * {@link PortCounters#txRingFull()} and refused, never waited for), TP_STATUS_WRONG_FORMAT (the
 * kernel refused the frame and stopped its TX walk there: counted, reclaimed, the frames queued
 * behind it moved up one slot so the kernel's ring head and ours agree again).
 *
 * <p>One thread owns a port (receive, release, transmit, flush); nothing allocates per frame,
 * nothing blocks: the TX kick is send(MSG_DONTWAIT), and idle waiting belongs to the poll loop,
 * which registers {@link #ringFd()} with its epoll (readable when a received frame, V3: a retired
 * block, is waiting).
 */
public final class AfPacketPort implements PollablePort, AutoCloseable {
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final int PAGE_SIZE = 4096;
    private static final int ETHERNET_HEADER = 14;
    /** The TX states; the rest of a TX status word are timestamp bits. */
    private static final int TX_STATE_MASK = TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING | TP_STATUS_WRONG_FORMAT;

    /** The TPACKET version of both rings. */
    public enum Version {
        /** Frame-based RX: every frame is handed over as soon as it is written. */
        V2,
        /** Block-based RX with a retire timer; frame-based TX with tpacket3_hdr slots. */
        V3
    }

    /**
     * Ring geometry and options. {@code frameSize} is a multiple of 16; both frame counts are
     * rounded up to whole ring blocks (a block is the least common multiple of frameSize and the
     * page size; a V3 RX block is {@code rxBlockSize}). {@code vnetHeaderSize} is 0 (none) or 10
     * (struct virtio_net_hdr before every frame, PACKET_VNET_HDR). {@code rxBlockSize} and
     * {@code retireTimeoutMs} (tp_retire_blk_tov; 0 lets the kernel derive one from the link speed)
     * only matter for V3.
     */
    public record Config(int frameSize, int rxFrames, int txFrames, int vnetHeaderSize, boolean lockMemory,
                         Version version, int rxBlockSize, int retireTimeoutMs, boolean qdiscBypass) {
        /** V3 RX blocks of 64 KiB: 32 full-size frames, many more small ones. */
        public static final int DEFAULT_V3_BLOCK_SIZE = 64 * 1024;
        /** The shortest timer the kernel offers (its unit is the millisecond). */
        public static final int DEFAULT_V3_RETIRE_MS = 1;
        /**
         * A slot that holds a 64 KB GSO frame: 65535 bytes of IP packet, an Ethernet header and a
         * VLAN tag after the RX slot's 76 bytes of tpacket2_hdr, sockaddr_ll and vnet header
         * (65629 bytes), rounded up to whole pages: 68 KiB.
         */
        public static final int GSO_FRAME_SIZE = 17 * PAGE_SIZE;
        private static final int PACKED_BLOCK = 1 << 20;

        public Config {
            if (frameSize < 256 || frameSize % TPACKET_ALIGNMENT != 0) {
                throw new IllegalArgumentException("frame size must be a multiple of 16 and at least 256: " + frameSize);
            }
            if (rxFrames < 1 || txFrames < 1) {
                throw new IllegalArgumentException("at least one frame per ring: rx " + rxFrames + ", tx " + txFrames);
            }
            if (vnetHeaderSize != 0 && vnetHeaderSize != VIRTIO_NET_HDR_SIZE) {
                // 12 (PACKET_VNET_HDR_SZ, virtio_net_hdr_mrg_rxbuf) is refused on purpose: in ring
                // mode the kernel writes RX headers 2 bytes later than TX reads them (kernel-notes).
                throw new IllegalArgumentException("vnet header size must be 0 or 10 (struct virtio_net_hdr): " + vnetHeaderSize);
            }
            if (version == null) {
                throw new IllegalArgumentException("TPACKET version missing");
            }
            if (rxBlockSize < blockSize(frameSize) || rxBlockSize % blockSize(frameSize) != 0) {
                throw new IllegalArgumentException("V3 RX block size must be a multiple of " + blockSize(frameSize)
                        + " (frame size and page size): " + rxBlockSize);
            }
            if (retireTimeoutMs < 0) {
                throw new IllegalArgumentException("retire timeout must be >= 0 ms: " + retireTimeoutMs);
            }
            int perBlock = blockSize(frameSize) / frameSize;
            rxFrames = roundUp(rxFrames, version == Version.V3 ? rxBlockSize / frameSize : perBlock);
            txFrames = roundUp(txFrames, perBlock);
        }

        /** V2, 2048-byte slots, 512 per ring (2 MiB per port), no vnet header, memory not locked. */
        public static Config defaults() {
            return new Config(2048, 512, 512, 0, false, Version.V2, DEFAULT_V3_BLOCK_SIZE, DEFAULT_V3_RETIRE_MS, false);
        }

        /**
         * For GSO frames: V2, {@link #GSO_FRAME_SIZE} slots, {@code rx} + {@code tx} of them
         * (rounded up to whole 1 MiB blocks of 15), vnet header on, and no PACKET_QDISC_BYPASS: a
         * GSO frame for a device that cannot take it whole must be segmented by dev_queue_xmit, not
         * dropped by the direct path ({@link #withQdiscBypass}).
         */
        public static Config gso(int rx, int tx) {
            return new Config(GSO_FRAME_SIZE, rx, tx, VIRTIO_NET_HDR_SIZE, false, Version.V2,
                    PACKED_BLOCK / GSO_FRAME_SIZE * GSO_FRAME_SIZE, DEFAULT_V3_RETIRE_MS, false);
        }

        /** The same options with other slots: {@code frameSize} bytes each. */
        public Config withFrameSize(int bytes) {
            int block = blockSize(bytes);
            int v3Block = Math.max(block, rxBlockSize / block * block);
            return new Config(bytes, rxFrames, txFrames, vnetHeaderSize, lockMemory, version, v3Block, retireTimeoutMs, qdiscBypass);
        }

        public Config withFrames(int rx, int tx) {
            return new Config(frameSize, rx, tx, vnetHeaderSize, lockMemory, version, rxBlockSize, retireTimeoutMs, qdiscBypass);
        }

        /** A 10-byte struct virtio_net_hdr before every frame, or none. */
        public Config withVnetHeader(boolean on) {
            return withVnetHeaderSize(on ? VIRTIO_NET_HDR_SIZE : 0);
        }

        public Config withVnetHeaderSize(int bytes) {
            return new Config(frameSize, rxFrames, txFrames, bytes, lockMemory, version, rxBlockSize, retireTimeoutMs, qdiscBypass);
        }

        public Config withVersion(Version v) {
            return new Config(frameSize, rxFrames, txFrames, vnetHeaderSize, lockMemory, v, rxBlockSize, retireTimeoutMs, qdiscBypass);
        }

        /** V3 RX geometry: block size in bytes and the block retire timer in ms. */
        public Config withV3Blocks(int blockSize, int retireMs) {
            return new Config(frameSize, rxFrames, txFrames, vnetHeaderSize, lockMemory, version, blockSize, retireMs, qdiscBypass);
        }

        /**
         * PACKET_QDISC_BYPASS on or off. With it the kernel hands each frame straight to the driver
         * (dev_direct_xmit), which drops any frame the device cannot take as it is: a GSO frame to a
         * device without TSO for it (the kernel would have to segment it, and __dev_direct_xmit
         * drops every skb that validate_xmit_skb replaced) silently, counted only as the device's
         * TX dropped. Without it frames go through dev_queue_xmit, which segments such a frame
         * in software (docs/kernel-notes.md).
         */
        public Config withQdiscBypass(boolean on) {
            return new Config(frameSize, rxFrames, txFrames, vnetHeaderSize, lockMemory, version, rxBlockSize, retireTimeoutMs, on);
        }

        public boolean vnetHeader() {
            return vnetHeaderSize != 0;
        }

        /** The size of the mapping: both rings. */
        public long memoryBytes() {
            return (long) (rxFrames + txFrames) * frameSize;
        }

        int blockSize() {
            return blockSize(frameSize);
        }

        /**
         * The ring block: the least common multiple of frame size and page size, so frames tile
         * blocks exactly. The kernel allocates a block as 2^order pages; a block that is not a
         * power of two (68 KiB slots for GSO frames: 17 pages, an order-5 allocation of 128 KiB)
         * would waste nearly half of each allocation, so such blocks are packed with as many
         * frames as fit in 1 MiB (15 x 68 KiB), wasting 0.4 %.
         */
        private static int blockSize(int frameSize) {
            int a = frameSize;
            int b = PAGE_SIZE;
            while (b != 0) {
                int t = a % b;
                a = b;
                b = t;
            }
            int lcm = frameSize / a * PAGE_SIZE;
            if (lcm <= 4 * PAGE_SIZE || Integer.bitCount(lcm) == 1) {
                return lcm;
            }
            return PACKED_BLOCK / lcm * lcm;
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
    private final PortCounters counters = new PortCounters();
    private final RxRing rx;

    private final int frameSize;
    private final int txFrames;
    private final long txBase;
    private final int txStatusOffset;
    private final int txLenOffset;
    private final int txDataOffset;
    private final int vnetBytes;
    /** Largest frame {@link #transmit} accepts: what fits a TX slot after the header (and vnet header). */
    private final int txCapacity;

    // TX state: slots [txKernel, txKernel + txWaiting) hold SEND_REQUEST (or WRONG_FORMAT at txKernel)
    private int txHead;
    private int txKernel;
    private int txWaiting;

    // port-specific counters (drops by reason are in PortCounters)
    private long kicks;
    private long kicksBackpressured;
    private int lastSendErrno;

    private AfPacketPort(int id, String name, Config config, Fd fd, MappedRegion region) {
        this.id = id;
        this.name = name;
        this.config = config;
        this.fd = fd;
        this.region = region;
        this.ring = region.segment();
        this.frameSize = config.frameSize();
        this.txFrames = config.txFrames();
        this.txBase = (long) config.rxFrames() * frameSize;
        this.vnetBytes = config.vnetHeaderSize();
        PacketStatistics statistics = new PacketStatistics(fd);
        if (config.version() == Version.V3) {
            this.rx = new V3RxRing(ring, counters, statistics, vnetBytes, config.rxBlockSize(),
                    config.rxFrames() * frameSize / config.rxBlockSize());
            this.txStatusOffset = TP3_STATUS_OFFSET;
            this.txLenOffset = TP3_LEN_OFFSET;
            this.txDataOffset = TPACKET3_TX_DATA_OFFSET;
        } else {
            this.rx = new V2RxRing(ring, counters, statistics, vnetBytes, frameSize, config.rxFrames());
            this.txStatusOffset = TP2_STATUS_OFFSET;
            this.txLenOffset = TP2_LEN_OFFSET;
            this.txDataOffset = TPACKET2_TX_DATA_OFFSET;
        }
        this.txCapacity = frameSize - txDataOffset - vnetBytes;
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
            boolean v3 = config.version() == Version.V3;
            PacketSockets.setVersion(fd, v3 ? TPACKET_V3 : TPACKET_V2);
            if (config.vnetHeader()) {
                PacketSockets.setVnetHeader(fd, true); // before the rings, or EBUSY
            }
            if (config.qdiscBypass()) {
                PacketSockets.setQdiscBypass(fd, true);
            }
            PacketSockets.setIgnoreOutgoing(fd, true);
            int block = config.blockSize();
            int perBlock = block / config.frameSize();
            if (v3) {
                int rxBlock = config.rxBlockSize();
                PacketSockets.setRxRingV3(fd, rxBlock, config.rxFrames() * config.frameSize() / rxBlock,
                        config.frameSize(), config.rxFrames(), config.retireTimeoutMs());
                PacketSockets.setTxRingV3(fd, block, config.txFrames() / perBlock, config.frameSize(), config.txFrames());
            } else {
                PacketSockets.setRxRing(fd, block, config.rxFrames() / perBlock, config.frameSize(), config.rxFrames());
                PacketSockets.setTxRing(fd, block, config.txFrames() / perBlock, config.frameSize(), config.txFrames());
            }
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
     * frames stay Shunt's until {@link #release} (V3: until every frame of their block was
     * released); frames of an earlier receive that were not released are released first.
     */
    @Override
    public int receive(RxBatch batch) {
        return rx.receive(batch);
    }

    /** Hands the frames of the last {@link #receive} back to the kernel (release store of TP_STATUS_KERNEL). */
    @Override
    public void release(RxBatch batch) {
        rx.release();
    }

    /**
     * Copies a frame into the next TX slot and marks it TP_STATUS_SEND_REQUEST; {@link #flush}
     * makes the kernel send it. Returns false, counting txDropped, when that slot is still the
     * kernel's (ring full) or the frame cannot be a valid Ethernet frame for a slot (shorter than
     * 14 bytes, longer than {@link #maxFrameLength()}). Never blocks.
     */
    @Override
    public boolean transmit(MemorySegment frame, long offset, int length) {
        return transmit(frame, offset, length, null);
    }

    /**
     * {@link #transmit(MemorySegment, long, int)} with the frame's offload state: with a vnet
     * header the port writes {@code offload} (null: none) in front of the frame, so a GSO or
     * checksum-partial frame leaves as it came; without one it finishes a partial checksum in
     * software and refuses a GSO frame ({@link PortCounters#txOffloadRefused()}).
     */
    @Override
    public boolean transmit(MemorySegment frame, long offset, int length, VnetHeader offload) {
        if (vnetBytes == 0 && offload != null && !offload.isComplete()) {
            return PollablePort.super.transmit(frame, offset, length, offload);
        }
        if (length < ETHERNET_HEADER || length > txCapacity) {
            counters.txInvalidLength++;
            return false;
        }
        long slot = txBase + (long) txHead * frameSize;
        int status = (int) INT.getAcquire(ring, slot + txStatusOffset);
        if ((status & TX_STATE_MASK) != TP_STATUS_AVAILABLE) {
            counters.txRingFull++;
            return false;
        }
        long data = slot + txDataOffset;
        if (vnetBytes != 0) {
            if (offload == null) {
                VnetHeader.writeNone(ring, data, length);
            } else {
                offload.write(ring, data, length);
            }
        }
        MemorySegment.copy(frame, offset, ring, data + vnetBytes, length);
        ring.set(ValueLayout.JAVA_INT, slot + txLenOffset, length + vnetBytes);
        INT.setRelease(ring, slot + txStatusOffset, TP_STATUS_SEND_REQUEST);
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
                    counters.txSendErrors++;
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
            int state = (int) INT.getAcquire(ring, slot + txStatusOffset) & TX_STATE_MASK;
            if (state == TP_STATUS_SEND_REQUEST || state == TP_STATUS_WRONG_FORMAT) {
                return;
            }
            counters.countTx(ring.get(ValueLayout.JAVA_INT, slot + txLenOffset) - vnetBytes);
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
        int state = (int) INT.getAcquire(ring, first + txStatusOffset) & TX_STATE_MASK;
        if (state != TP_STATUS_WRONG_FORMAT) {
            return false;
        }
        counters.txWrongFormat++;
        int to = txKernel;
        for (int i = 1; i < txWaiting; i++) {
            int from = to + 1 == txFrames ? 0 : to + 1;
            long src = txBase + (long) from * frameSize;
            long dst = txBase + (long) to * frameSize;
            int tpLen = ring.get(ValueLayout.JAVA_INT, src + txLenOffset);
            MemorySegment.copy(ring, src + txDataOffset, ring, dst + txDataOffset, tpLen);
            ring.set(ValueLayout.JAVA_INT, dst + txLenOffset, tpLen);
            INT.setRelease(ring, dst + txStatusOffset, TP_STATUS_SEND_REQUEST);
            to = from;
        }
        INT.setRelease(ring, txBase + (long) to * frameSize + txStatusOffset, TP_STATUS_AVAILABLE);
        txHead = to;
        txWaiting--;
        return true;
    }

    /**
     * Reads PACKET_STATISTICS (which resets the kernel's counts) and adds its drops to
     * {@link PortCounters#rxRingOverrun()}. Called by {@link #receive} when a slot (V3: a block)
     * carries TP_STATUS_LOSING; the control plane may call it on the owning thread for a fresh
     * figure.
     */
    public void pollStatistics() {
        rx.pollStatistics();
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

    /** Slots (V3: blocks) seen with TP_STATUS_LOSING (each triggered a statistics read). */
    public long rxLosing() {
        return rx.rxLosing;
    }

    /** Frames longer than a slot (snaplen below the wire length): handed back unread, never forwarded. */
    public long rxTruncated() {
        return counters.rxTruncated();
    }

    /** Frames with TP_STATUS_CSUMNOTREADY: checksum left to offload by the sender. */
    public long rxCsumNotReady() {
        return rx.rxCsumNotReady;
    }

    /** Frames whose VLAN tag the kernel had stripped and the port put back. */
    public long rxVlanRestored() {
        return rx.rxVlanRestored;
    }

    /** tp_packets summed over every PACKET_STATISTICS read: frames the socket saw, drops included. */
    public long kernelRxPackets() {
        return rx.kernelRxPackets;
    }

    /** V3: RX blocks received, and how many of them the retire timer (not a full block) handed over. */
    public long rxBlocks() {
        return rx instanceof V3RxRing v3 ? v3.blocksRead : 0;
    }

    public long rxBlocksTimedOut() {
        return rx instanceof V3RxRing v3 ? v3.blocksTimedOut : 0;
    }

    /** Transmits refused because the next TX slot was still the kernel's. */
    public long txRingFull() {
        return counters.txRingFull();
    }

    /** Transmits refused for their length. */
    public long txInvalidLength() {
        return counters.txInvalidLength();
    }

    /** Frames the kernel marked TP_STATUS_WRONG_FORMAT (e.g. longer than the device MTU), reclaimed. */
    public long txWrongFormat() {
        return counters.txWrongFormat();
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
        return counters.txSendErrors();
    }

    /** The errno of the last failed kick, backpressure included (0 if none failed yet). */
    public int lastSendErrno() {
        return lastSendErrno;
    }

    @Override
    public int vnetHeaderLength() {
        return vnetBytes;
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
        return "port " + id + " " + name + " (AF_PACKET " + config.version() + ", " + config.rxFrames() + "+" + txFrames
                + " x " + frameSize + " B" + (vnetBytes != 0 ? ", vnet header " + vnetBytes + " B" : "")
                + (config.qdiscBypass() ? "" : ", through the qdisc layer") + ")";
    }
}
