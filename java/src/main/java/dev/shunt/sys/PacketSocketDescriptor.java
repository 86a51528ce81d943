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

    /** sizeof(struct virtio_net_hdr): what PACKET_VNET_HDR puts before each frame. */
    public static final int VIRTIO_NET_HDR_SIZE = 10;

    // ---- struct tpacket_req (16 bytes)
    public static final int REQ_BLOCK_SIZE_OFFSET = 0;  // unsigned int tp_block_size
    public static final int REQ_BLOCK_NR_OFFSET = 4;    // unsigned int tp_block_nr
    public static final int REQ_FRAME_SIZE_OFFSET = 8;  // unsigned int tp_frame_size
    public static final int REQ_FRAME_NR_OFFSET = 12;   // unsigned int tp_frame_nr
    public static final int TPACKET_REQ_SIZE = 16;

    // ---- struct tpacket_stats (8 bytes)
    public static final int STATS_PACKETS_OFFSET = 0;   // unsigned int tp_packets
    public static final int STATS_DROPS_OFFSET = 4;     // unsigned int tp_drops
    public static final int TPACKET_STATS_SIZE = 8;

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
        int maclen = 14;
        int netoff = align(TPACKET2_HDRLEN + Math.max(maclen, 16)) + (vnetHeader ? VIRTIO_NET_HDR_SIZE : 0);
        return netoff - maclen;
    }
}
