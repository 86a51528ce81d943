package dev.shunt.datapath;

import dev.shunt.packet.IcmpView;
import dev.shunt.packet.PacketBuilder;
import org.junit.jupiter.api.Test;
import org.pcap4j.packet.IcmpV4CommonPacket;
import org.pcap4j.packet.IcmpV4DestinationUnreachablePacket;
import org.pcap4j.packet.IpV4Packet;
import org.pcap4j.packet.Packet;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static dev.shunt.datapath.PipelineRig.B1;
import static dev.shunt.datapath.PipelineRig.B2;
import static dev.shunt.datapath.PipelineRig.B3;
import static dev.shunt.datapath.PipelineRig.CLIENT;
import static dev.shunt.datapath.PipelineRig.GATEWAY;
import static dev.shunt.datapath.PipelineRig.GW;
import static dev.shunt.datapath.PipelineRig.POD_IP;
import static dev.shunt.datapath.PipelineRig.WEB;
import static dev.shunt.datapath.PipelineRig.mac;
import static dev.shunt.datapath.PipelineRig.verify;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Output ports smaller than the packet (a VXLAN overlay's MTU is the underlay's minus 50): with DF
 * the sender gets ICMP fragmentation-needed quoting what it sent, with the port's MTU (RFC 1191);
 * without DF the packet leaves as fragments (RFC 791) that reassemble to what an unlimited port
 * would have carried. Checked with pcap4j.
 */
class PipelineMtuTest {
    static final int MTU = 1000;
    /** The backends sit behind the small ports; the client's own port is unlimited. */
    final PipelineRig rig = new PipelineRig(new int[] {0, 0, MTU, MTU, MTU, 0});

    static byte[] udpFrame(String dst, int payload, boolean df) {
        byte[] data = new byte[payload];
        new Random(payload).nextBytes(data);
        PacketBuilder b = new PacketBuilder().macs(mac(CLIENT), GW).ipv4(POD_IP[CLIENT], dst).ttl(64).identification(0x1234)
                .udp(40000, 53).payload(data);
        return (df ? b.dontFragment() : b).build();
    }

    @Test
    void aDfPacketLongerThanThePortGetsFragmentationNeededWithThePortsMtu() {
        for (String dst : List.of(POD_IP[B1], WEB)) {
            byte[] in = udpFrame(dst, 1400, true);
            PipelineRig.Out out = rig.one(CLIENT, in);
            assertThat(out.port()).as("back to the sender").isEqualTo(CLIENT);
            List<Packet> chain = verify(out.frame(), GW, mac(CLIENT), GATEWAY, POD_IP[CLIENT], 64);
            IcmpV4CommonPacket icmp = (IcmpV4CommonPacket) chain.get(2);
            assertThat(icmp.getHeader().getType().value()).isEqualTo((byte) IcmpView.DEST_UNREACHABLE);
            assertThat(icmp.getHeader().getCode().value()).isEqualTo((byte) IcmpView.CODE_FRAGMENTATION_NEEDED);
            byte[] raw = icmp.getRawData();
            int nextHopMtu = (raw[6] & 0xff) << 8 | raw[7] & 0xff;
            assertThat(nextHopMtu).as("next-hop MTU").isEqualTo(MTU);
            // The quote is the packet as the client sent it: to the VIP, not to the backend.
            IpV4Packet quoted = ((IcmpV4DestinationUnreachablePacket) chain.get(3)).getPayload().get(IpV4Packet.class);
            assertThat(quoted.getHeader().getDstAddr().getHostAddress()).isEqualTo(dst);
            assertThat(quoted.getHeader().getTtlAsInt()).isEqualTo(64);
        }
        assertThat(rig.pipeline.counters().pipelineDrops(PipelineDrop.FRAGMENTATION_NEEDED)).isEqualTo(2);
        rig.assertBalanced();
    }

    @Test
    void aPacketOfExactlyTheMtuPassesWhole() {
        byte[] in = udpFrame(POD_IP[B1], MTU - 28, true);
        PipelineRig.Out out = rig.one(CLIENT, in);
        assertThat(out.port()).isEqualTo(B1);
        assertThat(out.frame()).hasSize(in.length);
        verify(out.frame(), GW, mac(B1), POD_IP[CLIENT], POD_IP[B1], 63);
        assertThat(rig.pipeline.counters().fragmentsSent()).isZero();
    }

    @Test
    void withoutDfAPodToPodPacketLeavesAsFragmentsThatReassembleToTheForwardedPacket() {
        byte[] in = udpFrame(POD_IP[B1], 1990, false); // 1998 bytes of UDP: 976 + 976 + 46
        byte[] whole = new PipelineRig().one(CLIENT, in.clone()).frame(); // the same packet through an unlimited port
        List<PipelineRig.Out> out = rig.send(CLIENT, in);
        assertThat(out).hasSize(3).allSatisfy(o -> assertThat(o.port()).isEqualTo(B1));
        assertThat(reassemble(out)).isEqualTo(Arrays.copyOfRange(whole, 14 + 20, whole.length));
        assertThat(rig.pipeline.counters().fragmentsSent()).isEqualTo(3);
        assertThat(rig.pipeline.counters().forwarded()).isEqualTo(1);
        rig.assertBalanced();
    }

    @Test
    void withoutDfAServicePacketIsTranslatedThenFragmented() {
        byte[] in = udpFrame(WEB, 1900, false);
        PipelineRig.Out wholeOut = new PipelineRig().one(CLIENT, in.clone());
        List<PipelineRig.Out> out = rig.send(CLIENT, in);
        assertThat(out).hasSize(2).allSatisfy(o -> assertThat(o.port()).isEqualTo(wholeOut.port()).isIn(B1, B2, B3));
        byte[] whole = wholeOut.frame();
        assertThat(reassemble(out)).as("the NATed datagram, checksum included").isEqualTo(Arrays.copyOfRange(whole, 34, whole.length));
        rig.assertBalanced();
    }

    @Test
    void portMtusBelowTheIpv4MinimumAreRefused() {
        assertThatThrownBy(() -> new PipelineRig(new int[] {0, 0, 67, 0, 0, 0}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("67");
    }

    /**
     * Checks each fragment with pcap4j (header checksum, same id, MF on all but the last, at most
     * MTU bytes, 8-byte aligned offsets in order, TTL 63) and returns the IP payloads joined.
     */
    static byte[] reassemble(List<PipelineRig.Out> fragments) {
        ByteArrayOutputStream joined = new ByteArrayOutputStream();
        int expectedOffset = 0;
        for (int i = 0; i < fragments.size(); i++) {
            byte[] f = fragments.get(i).frame();
            IpV4Packet ip;
            try {
                ip = IpV4Packet.newPacket(f, 14, f.length - 14);
            } catch (org.pcap4j.packet.IllegalRawDataException e) {
                throw new AssertionError(e);
            }
            IpV4Packet.IpV4Header h = ip.getHeader();
            assertThat(h.hasValidChecksum(false)).as("fragment %d header checksum", i).isTrue();
            assertThat(h.getIdentificationAsInt()).isEqualTo(0x1234);
            assertThat(h.getTtlAsInt()).isEqualTo(63);
            assertThat(h.getMoreFragmentFlag()).as("MF of fragment %d", i).isEqualTo(i < fragments.size() - 1);
            assertThat(h.getDontFragmentFlag()).isFalse();
            assertThat(h.getTotalLengthAsInt()).isLessThanOrEqualTo(MTU).isEqualTo(f.length - 14);
            assertThat(h.getFragmentOffset() * 8).as("offset of fragment %d", i).isEqualTo(expectedOffset);
            int payload = h.getTotalLengthAsInt() - 20;
            joined.write(f, 14 + 20, payload);
            expectedOffset += payload;
        }
        return joined.toByteArray();
    }
}
