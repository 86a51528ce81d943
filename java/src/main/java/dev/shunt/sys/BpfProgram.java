package dev.shunt.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * An eBPF program loaded with bpf(BPF_PROG_LOAD). It lives as long as its fd, or as long as a
 * hook (tc filter, XDP) holds it: attaching by fd over netlink takes a kernel reference, so no
 * bpffs pinning is needed. Shunt's programs are named {@code shunt_*} so that {@code bpftool prog}
 * and {@code tc filter show} tell them apart.
 */
public final class BpfProgram implements AutoCloseable {
    public static final int PROG_TYPE_SCHED_CLS = 3;
    public static final int PROG_TYPE_XDP = 6;

    /** TC_ACT_SHOT from linux/pkt_cls.h. */
    public static final int TC_ACT_SHOT = 2;
    /** XDP_DROP from linux/bpf.h. */
    public static final int XDP_DROP = 1;

    private static final long SYS_BPF = 321; // x86_64
    private static final int BPF_PROG_LOAD = 5;
    private static final int BPF_OBJ_GET_INFO_BY_FD = 15;
    private static final int ATTR_SIZE = 128;
    private static final int PROG_INFO_SIZE = 256;
    private static final int LOG_SIZE = 64 * 1024;
    private static final int NAME_MAX = 15; // BPF_OBJ_NAME_LEN - 1

    private final Fd fd;
    private final int id;
    private final String name;

    private BpfProgram(Fd fd, int id, String name) {
        this.fd = fd;
        this.id = id;
        this.name = name;
    }

    /** The tc ingress drop: {@code r0 = TC_ACT_SHOT; exit}, for a direct-action cls_bpf filter. */
    public static BpfProgram tcDrop() {
        return load(PROG_TYPE_SCHED_CLS, "shunt_tc_drop", returnConstant(TC_ACT_SHOT));
    }

    /** The XDP drop: {@code r0 = XDP_DROP; exit}. */
    public static BpfProgram xdpDrop() {
        return load(PROG_TYPE_XDP, "shunt_xdp_drop", returnConstant(XDP_DROP));
    }

    /** Two instructions: BPF_ALU64|BPF_MOV|BPF_K r0 = value; BPF_JMP|BPF_EXIT. */
    static long[] returnConstant(int value) {
        long movR0Imm = 0xb7L | ((long) value << 32);
        long exit = 0x95L;
        return new long[] {movR0Imm, exit};
    }

    /**
     * Loads {@code instructions} (one little-endian 64-bit word each, as struct bpf_insn lays them
     * out) under a GPL licence. A verifier rejection carries the verifier's log in the exception.
     */
    public static BpfProgram load(int programType, String name, long[] instructions) {
        byte[] nameBytes = name.getBytes(StandardCharsets.US_ASCII);
        if (nameBytes.length > NAME_MAX) {
            throw new IllegalArgumentException("BPF program name longer than " + NAME_MAX + " bytes: " + name);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment insns = arena.allocate(8L * instructions.length, 8);
            for (int i = 0; i < instructions.length; i++) {
                insns.set(JAVA_LONG, 8L * i, instructions[i]);
            }
            MemorySegment license = arena.allocateFrom("GPL");
            MemorySegment log = arena.allocate(LOG_SIZE);
            MemorySegment attr = arena.allocate(ATTR_SIZE, 8);
            attr.set(JAVA_INT, 0, programType);
            attr.set(JAVA_INT, 4, instructions.length);
            attr.set(ADDRESS, 8, insns);
            attr.set(ADDRESS, 16, license);
            attr.set(JAVA_INT, 24, 1); // log_level: fill the log only if verification fails
            attr.set(JAVA_INT, 28, LOG_SIZE);
            attr.set(ADDRESS, 32, log);
            MemorySegment.copy(nameBytes, 0, attr, JAVA_BYTE, 48, nameBytes.length);

            MemorySegment state = LibC.callState();
            long r = bpf(state, BPF_PROG_LOAD, attr);
            if (r < 0) {
                String verifierLog = log.getString(0).strip();
                throw new SysException("bpf(BPF_PROG_LOAD " + name + ")", LibC.errno(state),
                        verifierLog.isEmpty() ? null : "verifier: " + verifierLog);
            }
            Fd fd = new Fd((int) r, "bpf prog " + name);
            try {
                return new BpfProgram(fd, programId(fd, arena), name);
            } catch (RuntimeException e) {
                fd.close();
                throw e;
            }
        }
    }

    private static int programId(Fd fd, Arena arena) {
        MemorySegment info = arena.allocate(PROG_INFO_SIZE, 8);
        MemorySegment attr = arena.allocate(ATTR_SIZE, 8);
        attr.set(JAVA_INT, 0, fd.value());
        attr.set(JAVA_INT, 4, PROG_INFO_SIZE);
        attr.set(ADDRESS, 8, info);
        MemorySegment state = LibC.callState();
        if (bpf(state, BPF_OBJ_GET_INFO_BY_FD, attr) < 0) {
            throw new SysException("bpf(BPF_OBJ_GET_INFO_BY_FD)", LibC.errno(state));
        }
        return info.get(JAVA_INT, 4);
    }

    private static long bpf(MemorySegment state, int command, MemorySegment attr) {
        try {
            return (long) LibC.SYSCALL_BPF.invokeExact(state, SYS_BPF, command, attr, (int) attr.byteSize());
        } catch (Throwable t) {
            throw LibC.downcallFailed("bpf", t);
        }
    }

    public Fd fd() {
        return fd;
    }

    /** The kernel's program id, as {@code tc -j filter show} and {@code ip -j link} report it. */
    public int id() {
        return id;
    }

    public String name() {
        return name;
    }

    /** Closes Shunt's reference; a tc filter or XDP hook that holds the program keeps it alive. */
    @Override
    public void close() {
        fd.close();
    }
}
