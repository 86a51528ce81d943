package dev.shunt.cni;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CniVersionTest {
    @Test
    void theThreeVersionsShuntSpeaksAreAcceptedAsGiven() {
        assertThat(CniVersion.negotiate("0.4.0")).isEqualTo(CniVersion.V0_4_0);
        assertThat(CniVersion.negotiate("1.0.0")).isEqualTo(CniVersion.V1_0_0);
        assertThat(CniVersion.negotiate("1.1.0")).isEqualTo(CniVersion.V1_1_0);
        assertThat(CniVersion.SUPPORTED).extracting(CniVersion::toString).containsExactly("0.4.0", "1.0.0", "1.1.0");
        assertThat(CniVersion.LATEST).isEqualTo(CniVersion.V1_1_0);
    }

    @Test
    void anyOtherVersionOrNoneIsErrorOneNamingWhatShuntSpeaks() {
        for (String v : List.of("0.1.0", "0.2.0", "0.3.0", "0.3.1", "1.2.0", "2.0.0", "1.0", "1", "01.0.0", "1.0.0-rc1", " 1.0.0", "", "v1.0.0")) {
            assertThatThrownBy(() -> CniVersion.negotiate(v)).as(v).isInstanceOfSatisfying(CniError.class, e -> {
                assertThat(e.code()).isEqualTo(1);
                assertThat(e.msg()).isEqualTo("incompatible CNI version");
                assertThat(e.details()).endsWith("Shunt speaks 0.4.0, 1.0.0, 1.1.0");
            });
        }
        assertThatThrownBy(() -> CniVersion.negotiate(null)).isInstanceOfSatisfying(CniError.class,
                e -> assertThat(e.details()).startsWith("the configuration has no cniVersion (that means 0.1.0)"));
    }

    @Test
    void versionsOrderAsSemanticVersions() {
        assertThat(CniVersion.V1_1_0.atLeast(CniVersion.V1_0_0)).isTrue();
        assertThat(CniVersion.V1_0_0.atLeast(CniVersion.V1_1_0)).isFalse();
        assertThat(CniVersion.V0_4_0.compareTo(CniVersion.V1_0_0)).isNegative();
        assertThat(new CniVersion(0, 10, 0).compareTo(CniVersion.V0_4_0)).isPositive();
    }

    @Test
    void anErrorIsWrittenInTheGivenVersionIfShuntSpeaksItElseTheLatest() {
        assertThat(CniVersion.forReply("0.4.0")).isEqualTo(CniVersion.V0_4_0);
        assertThat(CniVersion.forReply("0.3.1")).isEqualTo(CniVersion.V1_1_0);
        assertThat(CniVersion.forReply(null)).isEqualTo(CniVersion.V1_1_0);
    }
}
