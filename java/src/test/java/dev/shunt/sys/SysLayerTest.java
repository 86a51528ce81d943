package dev.shunt.sys;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SysLayerTest {
    @Test
    void errnoNamesFollowLinuxNumbering() {
        assertThat(Errno.name(1)).isEqualTo("EPERM");
        assertThat(Errno.name(17)).isEqualTo("EEXIST");
        assertThat(Errno.name(11)).isEqualTo("EAGAIN");
        assertThat(Errno.name(95)).isEqualTo("EOPNOTSUPP");
        assertThat(Errno.name(9999)).isEqualTo("errno 9999");
    }

    @Test
    void failedCallNamesTheOperationAndTheErrno() {
        assertThatThrownBy(() -> Fd.openReadOnly("/nonexistent/shunt-test-file"))
                .isInstanceOfSatisfying(SysException.class, e -> {
                    assertThat(e.errno()).isEqualTo(Errno.ENOENT);
                    assertThat(e.errnoName()).isEqualTo("ENOENT");
                    assertThat(e.operation()).isEqualTo("open(/nonexistent/shunt-test-file)");
                })
                .hasMessage("open(/nonexistent/shunt-test-file): ENOENT (No such file or directory)");
    }

    @Test
    void fdCloseIsIdempotentAndAClosedFdCannotBeUsed() {
        Fd fd = Fd.openReadOnly("/proc/self/ns/net");
        assertThat(fd.value()).isGreaterThan(2);
        fd.close();
        fd.close();
        assertThat(fd.isOpen()).isFalse();
        assertThatThrownBy(fd::value).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    @Test
    void getpidMatchesTheJvmsOwnPid() {
        assertThat(Syscalls.getpid()).isEqualTo((int) ProcessHandle.current().pid());
        assertThat(Syscalls.getpidCritical()).isEqualTo((int) ProcessHandle.current().pid());
    }

    @Test
    void errnoIsCapturedPerCallNotLeftOverFromAnEarlierOne() {
        assertThatThrownBy(() -> Fd.openReadOnly("/nonexistent")).hasMessageContaining("ENOENT");
        // A successful call in between must not be reported with the stale errno of the failed one.
        try (Fd ok = Fd.openReadOnly("/proc/self/ns/net")) {
            assertThat(ok.isOpen()).isTrue();
        }
        assertThatThrownBy(() -> Sockets.socket(12345, Sockets.SOCK_DGRAM, 0))
                .isInstanceOfSatisfying(SysException.class, e -> assertThat(e.errnoName()).isEqualTo("EAFNOSUPPORT"));
    }

    @Test
    void dropProgramsLoadAndGetKernelIds() {
        try (BpfProgram tc = BpfProgram.tcDrop(); BpfProgram xdp = BpfProgram.xdpDrop()) {
            assertThat(tc.id()).isPositive();
            assertThat(xdp.id()).isPositive().isNotEqualTo(tc.id());
            assertThat(tc.name()).isEqualTo("shunt_tc_drop");
            // The kernel lists the program under its id and name: the witness is bpf's own procfs-free view via fdinfo.
            assertThat(Witness.fdinfo(tc.fd().value())).contains("prog_type:\t3").contains("prog_id:\t" + tc.id());
            assertThat(Witness.fdinfo(xdp.fd().value())).contains("prog_type:\t6");
        }
    }

    @Test
    void verifierRejectionCarriesTheVerifierLog() {
        // exit without setting r0: the verifier refuses to return an uninitialised register.
        assertThatThrownBy(() -> BpfProgram.load(BpfProgram.PROG_TYPE_SCHED_CLS, "shunt_bad", new long[] {0x95L}))
                .isInstanceOfSatisfying(SysException.class, e -> assertThat(e.errnoName()).isEqualTo("EACCES"))
                .hasMessageContaining("verifier:")
                .hasMessageContaining("R0");
    }

    @Test
    void overlongProgramNameIsRefusedBeforeTheSyscall() {
        assertThatThrownBy(() -> BpfProgram.load(BpfProgram.PROG_TYPE_XDP, "shunt_name_that_is_too_long",
                new long[] {0xb7L, 0x95L}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("longer than 15 bytes");
    }

    /** Reads /proc/self/fdinfo: the kernel's own account of what an fd is. */
    static final class Witness {
        static String fdinfo(int fd) {
            try {
                return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/fdinfo/" + fd));
            } catch (java.io.IOException e) {
                throw new AssertionError(e);
            }
        }
    }
}
