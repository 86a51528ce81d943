package dev.shunt.sys;

/**
 * Binary layout of AF_PACKET sockets and their memory-mapped rings, as {@code linux/if_packet.h}
 * (checked against the installed header of kernel 6.18) and {@code linux/if_ether.h} define it.
 * Offsets are in bytes from the start of the struct; the structs are in host (little-endian) order
 * except where a field is marked big-endian.
 *
 * <p>A TPACKET_V2 ring slot ("frame") starts with a {@code struct tpacket2_hdr}; the kernel puts
 * a received frame's Ethernet header at {@code slot + tp_mac}. For transmit, the frame data starts
 * at {@link #TPACKET2_TX_DATA_OFFSET} (the kernel's {@code tp_hdrlen - sizeof(struct sockaddr_ll)}),
 * preceded by a 10-byte {@code struct virtio_net_hdr} when PACKET_VNET_HDR is on.
 *
 * <p>TPACKET_V3 (the version is per socket, for both rings): the RX ring is a ring of blocks, each
 * starting with a {@code struct tpacket_block_desc} and holding packets of variable size, each
 * starting with a {@code struct tpacket3_hdr} and chained by {@code tp_next_offset}. The V3 TX ring
 * is a ring of fixed-size frames like V2's, each starting with a {@code struct tpacket3_hdr}
 * (status at offset 20, not 0), data from {@link #TPACKET3_TX_DATA_OFFSET}.
 */
public final class PacketSocketDescriptor {
    /** ETH_P_ALL (linux/if_ether.h), host order; the socket and sockaddr_ll take it big-endian. */
    public static final int ETH_P_ALL = 0x0003;
    /** SOL_PACKET (linux/socket.h). */
    public static final int SOL_PACKET = 263;

    // ---- socket options (level SOL_PACKET)
    public static final int PACKET_RX_RING = 5;
    public static final int PACKET_STATISTICS = 6;
    public static final int PACKET_VERSION = 10;
    public static final int PACKET_HDRLEN = 11;
    public static final int PACKET_RESERVE = 12;
    public static final int PACKET_TX_RING = 13;
    public static final int PACKET_LOSS = 14;
    public static final int PACKET_VNET_HDR = 15;
    public static final int PACKET_QDISC_BYPASS = 20;
    public static final int PACKET_IGNORE_OUTGOING = 23;
    /**
     * Since Linux 6.2: the vnet header's size, 10 or 12 (virtio_net_hdr_mrg_rxbuf). Not used: with
     * 12, the RX ring still gets the 10-byte header written right before the frame, so the 12-byte
     * slot holds 2 unwritten bytes and then the header, not a virtio_net_hdr_mrg_rxbuf
     * (measured on 6.18, docs/kernel-notes.md).
     */
    public static final int PACKET_VNET_HDR_SZ = 24;

    // ---- enum tpacket_versions
    public static final int TPACKET_V1 = 0;
    public static final int TPACKET_V2 = 1;
    public static final int TPACKET_V3 = 2;

    // ---- tp_status, RX direction (kernel -> user)
    public static final int TP_STATUS_KERNEL = 0;
    public static final int TP_STATUS_USER = 1;
    public static final int TP_STATUS_COPY = 1 << 1;
    public static final int TP_STATUS_LOSING = 1 << 2;
    public static final int TP_STATUS_CSUMNOTREADY = 1 << 3;
    public static final int TP_STATUS_VLAN_VALID = 1 << 4;
    public static final int TP_STATUS_BLK_TMO = 1 << 5;
    public static final int TP_STATUS_VLAN_TPID_VALID = 1 << 6;
    public static final int TP_STATUS_CSUM_VALID = 1 << 7;

    // ---- tp_status, TX direction (user -> kernel)
    public static final int TP_STATUS_AVAILABLE = 0;
    public static final int TP_STATUS_SEND_REQUEST = 1;
    public static final int TP_STATUS_SENDING = 1 << 1;
    public static final int TP_STATUS_WRONG_FORMAT = 1 << 2;

    // ---- tp_status timestamp source bits, both directions
    public static final int TP_STATUS_TS_SOFTWARE = 1 << 29;
    public static final int TP_STATUS_TS_RAW_HARDWARE = 1 << 31;

    /** TPACKET_ALIGNMENT: slots and the packet data in them are 16-byte aligned. */
    public static final int TPACKET_ALIGNMENT = 16;

    // ---- struct tpacket2_hdr (32 bytes)
    public static final int TP2_STATUS_OFFSET = 0;      // __u32 tp_status
    public static final int TP2_LEN_OFFSET = 4;         // __u32 tp_len: length on the wire
    public static final int TP2_SNAPLEN_OFFSET = 8;     // __u32 tp_snaplen: bytes in the slot
    public static final int TP2_MAC_OFFSET = 12;        // __u16 tp_mac: slot offset of the Ethernet header
    public static final int TP2_NET_OFFSET = 14;        // __u16 tp_net: slot offset of the network header
    public static final int TP2_SEC_OFFSET = 16;        // __u32 tp_sec
    public static final int TP2_NSEC_OFFSET = 20;       // __u32 tp_nsec
    public static final int TP2_VLAN_TCI_OFFSET = 24;   // __u16 tp_vlan_tci
    public static final int TP2_VLAN_TPID_OFFSET = 26;  // __u16 tp_vlan_tpid
    public static final int TPACKET2_HDR_SIZE = 32;     // includes __u8 tp_padding[4]

    // ---- struct tpacket3_hdr (48 bytes): V3 RX packets and V3 TX slots
    public static final int TP3_NEXT_OFFSET_OFFSET = 0; // __u32 tp_next_offset: to the next packet of the block, 0 for the last
    public static final int TP3_SEC_OFFSET = 4;         // __u32 tp_sec
    public static final int TP3_NSEC_OFFSET = 8;        // __u32 tp_nsec
    public static final int TP3_SNAPLEN_OFFSET = 12;    // __u32 tp_snaplen
    public static final int TP3_LEN_OFFSET = 16;        // __u32 tp_len
    public static final int TP3_STATUS_OFFSET = 20;     // __u32 tp_status
    public static final int TP3_MAC_OFFSET = 24;        // __u16 tp_mac: from the packet header
    public static final int TP3_NET_OFFSET = 26;        // __u16 tp_net
    public static final int TP3_RXHASH_OFFSET = 28;     // __u32 hv1.tp_rxhash
    public static final int TP3_VLAN_TCI_OFFSET = 32;   // __u32 hv1.tp_vlan_tci
    public static final int TP3_VLAN_TPID_OFFSET = 36;  // __u16 hv1.tp_vlan_tpid
    public static final int TPACKET3_HDR_SIZE = 48;     // includes __u8 tp_padding[8]

    // ---- struct tpacket_block_desc (48 bytes): version, offset_to_priv, struct tpacket_hdr_v1
    public static final int BLOCK_VERSION_OFFSET = 0;        // __u32 version
    public static final int BLOCK_OFFSET_TO_PRIV_OFFSET = 4; // __u32 offset_to_priv
    public static final int BLOCK_STATUS_OFFSET = 8;         // __u32 block_status: KERNEL or USER (| LOSING, BLK_TMO)
    public static final int BLOCK_NUM_PKTS_OFFSET = 12;      // __u32 num_pkts
    public static final int BLOCK_FIRST_PKT_OFFSET = 16;     // __u32 offset_to_first_pkt: from the block start
    public static final int BLOCK_LEN_OFFSET = 20;           // __u32 blk_len
    public static final int BLOCK_SEQ_NUM_OFFSET = 24;       // __aligned_u64 seq_num
    public static final int TPACKET_BLOCK_DESC_SIZE = 48;    // + ts_first_pkt, ts_last_pkt (8 bytes each)

    // ---- struct sockaddr_ll (20 bytes)
    public static final int SLL_FAMILY_OFFSET = 0;      // unsigned short
    public static final int SLL_PROTOCOL_OFFSET = 2;    // __be16
    public static final int SLL_IFINDEX_OFFSET = 4;     // int
    public static final int SLL_HATYPE_OFFSET = 8;      // unsigned short
    public static final int SLL_PKTTYPE_OFFSET = 10;    // unsigned char
    public static final int SLL_HALEN_OFFSET = 11;      // unsigned char
    public static final int SLL_ADDR_OFFSET = 12;       // unsigned char[8]
    public static final int SOCKADDR_LL_SIZE = 20;

    /** TPACKET2_HDRLEN = TPACKET_ALIGN(sizeof(struct tpacket2_hdr)) + sizeof(struct sockaddr_ll) = 52. */
    public static final int TPACKET2_HDRLEN = align(TPACKET2_HDR_SIZE) + SOCKADDR_LL_SIZE;
    /** Where a TX frame's data starts in its slot (no PACKET_TX_HAS_OFF): tp_hdrlen - sizeof(sockaddr_ll) = 32. */
    public static final int TPACKET2_TX_DATA_OFFSET = TPACKET2_HDRLEN - SOCKADDR_LL_SIZE;

    /** TPACKET3_HDRLEN = TPACKET_ALIGN(sizeof(struct tpacket3_hdr)) + sizeof(struct sockaddr_ll) = 68. */
    public static final int TPACKET3_HDRLEN = align(TPACKET3_HDR_SIZE) + SOCKADDR_LL_SIZE;
    /** Where a V3 TX frame's data starts in its slot: tp_hdrlen - sizeof(sockaddr_ll) = 48. */
    public static final int TPACKET3_TX_DATA_OFFSET = TPACKET3_HDRLEN - SOCKADDR_LL_SIZE;

    /** sizeof(struct virtio_net_hdr): what PACKET_VNET_HDR puts before each frame. */
    public static final int VIRTIO_NET_HDR_SIZE = 10;

    // ---- struct tpacket_req (16 bytes)
    public static final int REQ_BLOCK_SIZE_OFFSET = 0;  // unsigned int tp_block_size
    public static final int REQ_BLOCK_NR_OFFSET = 4;    // unsigned int tp_block_nr
    public static final int REQ_FRAME_SIZE_OFFSET = 8;  // unsigned int tp_frame_size
    public static final int REQ_FRAME_NR_OFFSET = 12;   // unsigned int tp_frame_nr
    public static final int TPACKET_REQ_SIZE = 16;

    // ---- struct tpacket_req3 (28 bytes): tpacket_req, then
    public static final int REQ3_RETIRE_BLK_TOV_OFFSET = 16;   // unsigned int tp_retire_blk_tov (ms; 0 = the kernel picks)
    public static final int REQ3_SIZEOF_PRIV_OFFSET = 20;      // unsigned int tp_sizeof_priv
    public static final int REQ3_FEATURE_REQ_WORD_OFFSET = 24; // unsigned int tp_feature_req_word
    public static final int TPACKET_REQ3_SIZE = 28;

    // ---- struct tpacket_stats (8 bytes)
    public static final int STATS_PACKETS_OFFSET = 0;   // unsigned int tp_packets
    public static final int STATS_DROPS_OFFSET = 4;     // unsigned int tp_drops
    public static final int TPACKET_STATS_SIZE = 8;
    /** struct tpacket_stats_v3: tpacket_stats + unsigned int tp_freeze_q_cnt (12 bytes); V3 sockets fill it. */
    public static final int STATS_FREEZE_Q_CNT_OFFSET = 8;
    public static final int TPACKET_STATS_V3_SIZE = 12;

    private PacketSocketDescriptor() {}

    /** TPACKET_ALIGN(x): rounds up to a multiple of 16. */
    public static int align(int x) {
        return (x + TPACKET_ALIGNMENT - 1) & ~(TPACKET_ALIGNMENT - 1);
    }

    /**
     * Where the kernel puts the Ethernet header of a received frame in a V2 slot
     * ({@code tpacket_rcv}: netoff = TPACKET_ALIGN(tp_hdrlen + max(maclen, 16)) + tp_reserve
     * [+ vnet header], macoff = netoff - maclen), for an Ethernet device (maclen 14).
     */
    public static int rxMacOffset(boolean vnetHeader) {
        return rxMacOffset(TPACKET_V2, vnetHeader ? VIRTIO_NET_HDR_SIZE : 0);
    }

    /**
     * The same for either version and any vnet header size: from the slot start (V2) or from the
     * packet's tpacket3_hdr (V3). The vnet header sits right before the Ethernet header.
     */
    public static int rxMacOffset(int version, int vnetHeaderSize) {
        int maclen = 14;
        int hdrlen = version == TPACKET_V3 ? TPACKET3_HDRLEN : TPACKET2_HDRLEN;
        int netoff = align(hdrlen + Math.max(maclen, 16)) + vnetHeaderSize;
        return netoff - maclen;
    }
}
