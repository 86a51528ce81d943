package dev.shunt.datapath;

import dev.shunt.packet.ArpView;
import dev.shunt.packet.Checksums;
import dev.shunt.packet.EthernetView;
import dev.shunt.packet.IcmpView;
import dev.shunt.packet.Ipv4View;
import dev.shunt.packet.NetworkOrder;
import dev.shunt.packet.PacketDescriptor;
import dev.shunt.packet.PacketMeta;
import dev.shunt.packet.TcpView;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The packets the fast path answers itself: proxy-ARP replies, echo replies (for the gateway and
 * for ClusterIPs, which kube-proxy's iptables mode cannot answer), ICMP errors (port unreachable
 * for a Service without endpoints, time exceeded) and TCP resets. Echo and ARP replies are made in
 * place in the received frame; errors and resets are built in a scratch buffer allocated once.
 * Single-threaded, allocation-free per packet.
 */
final class Responder {
    /** RFC 792 quotes the IP header and 8 bytes of the datagram; Linux quotes more, 8 is the minimum that carries the ports. */
    private static final int QUOTE_L4_BYTES = 8;
    private static final int DEFAULT_TTL = 64;
    private static final int SCRATCH_SIZE = 2048;

    private final MemorySegment scratch = Arena.ofAuto().allocate(SCRATCH_SIZE, 64);
    private final EthernetView eth = new EthernetView();
    private final ArpView arp = new ArpView();
    private final Ipv4View ip = new Ipv4View();
    private final IcmpView icmp = new IcmpView();
    private final TcpView tcp = new TcpView();
    private final TcpView resetTcp = new TcpView();

    MemorySegment scratch() {
        return scratch;
    }

    /**
     * Turns an ARP request into the reply "TARGET is at GATEWAY_MAC", in place. Proxy ARP: every
     * address a pod (or the host) asks for is the gateway, so every hop is an L3 decision here.
     */
    void arpReplyInPlace(MemorySegment frame, long frameOffset, PacketMeta meta) {
        eth.wrap(frame, frameOffset);
        long requesterMac = eth.source();
        eth.destination(requesterMac);
        eth.source(ForwardingTable.GATEWAY_MAC);
        long a = meta.l3Offset();
        int requesterIp = NetworkOrder.i32(frame, a + ArpView.SPA_OFFSET);
        int targetIp = NetworkOrder.i32(frame, a + ArpView.TPA_OFFSET);
        NetworkOrder.setU16(frame, a + ArpView.OPER_OFFSET, ArpView.OP_REPLY);
        NetworkOrder.setMac(frame, a + ArpView.SHA_OFFSET, ForwardingTable.GATEWAY_MAC);
        NetworkOrder.setI32(frame, a + ArpView.SPA_OFFSET, targetIp);
        NetworkOrder.setMac(frame, a + ArpView.THA_OFFSET, requesterMac);
        NetworkOrder.setI32(frame, a + ArpView.TPA_OFFSET, requesterIp);
    }

    /** Turns an ICMP echo request into its reply from the pinged address, in place. */
    void echoReplyInPlace(MemorySegment frame, long frameOffset, PacketMeta meta) {
        eth.wrap(frame, frameOffset);
        eth.destination(eth.source());
        eth.source(ForwardingTable.GATEWAY_MAC);
        ip.wrap(frame, meta.l3Offset());
        int client = ip.source();
        ip.source(ip.destination());
        ip.destination(client);
        ip.ttl(DEFAULT_TTL);
        ip.updateChecksum();
        icmp.wrap(frame, meta.l4Offset());
        // Type 8 -> 0 changes the first 16-bit word from 0x0800 to 0x0000.
        icmp.checksum(Checksums.update16(icmp.checksum(), IcmpView.ECHO_REQUEST << 8 | meta.icmpCode(),
                IcmpView.ECHO_REPLY << 8 | meta.icmpCode()));
        icmp.type(IcmpView.ECHO_REPLY);
    }

    /**
     * Builds, in the scratch buffer, an ICMP error of {@code type}/{@code code} from
     * {@code sourceIp} to the sender of the received packet, quoting its IP header and 8 bytes.
     * Returns the frame length, or 0 when RFC 1122 forbids an error (about an ICMP error, a
     * non-first fragment, or a broadcast/multicast destination).
     */
    int icmpError(MemorySegment frame, long frameOffset, PacketMeta meta, int type, int code, int sourceIp) {
        return icmpError(frame, frameOffset, meta, type, code, sourceIp, 0);
    }

    /**
     * {@link #icmpError(MemorySegment, long, PacketMeta, int, int, int)} with the low 16 bits of
     * the header's last word set to {@code nextHopMtu} (RFC 1191, fragmentation needed; 0 otherwise).
     */
    int icmpError(MemorySegment frame, long frameOffset, PacketMeta meta, int type, int code, int sourceIp, int nextHopMtu) {
        if (meta.isFragment() && meta.fragmentOffset() > 0) {
            return 0;
        }
        if (meta.l4Protocol() == PacketDescriptor.IPPROTO_ICMP && IcmpView.isError(meta.icmpType())) {
            return 0;
        }
        int dst = meta.dst4();
        if ((dst >>> 28) == 0xe || dst == -1) {
            return 0;
        }
        int ethLength = (int) (meta.l3Offset() - frameOffset);
        int quoteLength = (int) Math.min(meta.l3End() - meta.l3Offset(), meta.l3HeaderLength() + QUOTE_L4_BYTES);
        int ipLength = Ipv4View.MIN_LENGTH + IcmpView.HEADER_LENGTH + quoteLength;
        int total = ethLength + ipLength;
        if (total > SCRATCH_SIZE) {
            return 0;
        }
        MemorySegment.copy(frame, frameOffset, scratch, 0, ethLength);
        eth.wrap(scratch, 0);
        eth.destination(NetworkOrder.mac(frame, frameOffset + EthernetView.SRC_OFFSET));
        eth.source(ForwardingTable.GATEWAY_MAC);
        writeIpv4Header(ethLength, ipLength, PacketDescriptor.IPPROTO_ICMP, sourceIp, meta.src4());
        long icmpOffset = ethLength + Ipv4View.MIN_LENGTH;
        icmp.wrap(scratch, icmpOffset);
        icmp.type(type);
        icmp.code(code);
        icmp.checksum(0);
        icmp.restOfHeader(nextHopMtu & 0xFFFF);
        MemorySegment.copy(frame, meta.l3Offset(), scratch, icmpOffset + IcmpView.HEADER_LENGTH, quoteLength);
        icmp.checksum(Checksums.icmpChecksum(scratch, icmpOffset, IcmpView.HEADER_LENGTH + quoteLength));
        return total;
    }

    /**
     * Builds, in the scratch buffer, the TCP reset that refuses the received segment, from
     * {@code sourceIp:sourcePort} (the address the client used). RFC 793: if the segment had an
     * ACK, the reset takes its sequence number from it; otherwise it has sequence 0 and
     * acknowledges the segment (SYN and FIN count one each). Returns the frame length, or 0 if the
     * segment was itself a reset.
     */
    int tcpReset(MemorySegment frame, long frameOffset, PacketMeta meta, int sourceIp, int sourcePort) {
        int flags = meta.tcpFlags();
        if ((flags & TcpView.RST) != 0) {
            return 0;
        }
        int ethLength = (int) (meta.l3Offset() - frameOffset);
        int ipLength = Ipv4View.MIN_LENGTH + TcpView.MIN_LENGTH;
        MemorySegment.copy(frame, frameOffset, scratch, 0, ethLength);
        eth.wrap(scratch, 0);
        eth.destination(NetworkOrder.mac(frame, frameOffset + EthernetView.SRC_OFFSET));
        eth.source(ForwardingTable.GATEWAY_MAC);
        writeIpv4Header(ethLength, ipLength, PacketDescriptor.IPPROTO_TCP, sourceIp, meta.src4());
        tcp.wrap(frame, meta.l4Offset());
        int seq = tcp.sequence();
        int ack = tcp.acknowledgment();
        long l4 = ethLength + Ipv4View.MIN_LENGTH;
        TcpView out = resetTcp.wrap(scratch, l4);
        out.sourcePort(sourcePort);
        out.destinationPort(meta.srcPort());
        if ((flags & TcpView.ACK) != 0) {
            out.sequence(ack);
            out.acknowledgment(0);
            out.headerLength(TcpView.MIN_LENGTH);
            out.flags(TcpView.RST);
        } else {
            int length = meta.payloadLength() + ((flags & TcpView.SYN) != 0 ? 1 : 0) + ((flags & TcpView.FIN) != 0 ? 1 : 0);
            out.sequence(0);
            out.acknowledgment(seq + length);
            out.headerLength(TcpView.MIN_LENGTH);
            out.flags(TcpView.RST | TcpView.ACK);
        }
        out.window(0);
        out.urgentPointer(0);
        out.checksum(0);
        out.checksum(Checksums.l4Checksum4(scratch, ethLength, l4, TcpView.MIN_LENGTH, PacketDescriptor.IPPROTO_TCP));
        return ethLength + ipLength;
    }

    private void writeIpv4Header(int offset, int totalLength, int protocol, int source, int destination) {
        ip.wrap(scratch, offset);
        ip.versionAndHeaderLength(Ipv4View.MIN_LENGTH);
        ip.tos(0xc0); // internetwork control, as Linux sends its ICMP errors
        ip.totalLength(totalLength);
        ip.identification(0);
        ip.flagsAndFragment(0);
        ip.ttl(DEFAULT_TTL);
        ip.protocol(protocol);
        ip.source(source);
        ip.destination(destination);
        ip.updateChecksum();
    }
}
