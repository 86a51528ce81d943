package dev.shunt.state.etcd;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SubnetOwnerTest {
    @Test
    void roundTripsThroughJsonAndIgnoresUnknownFields() {
        SubnetOwner o = new SubnetOwner("n1", "198.18.0.11", "0e:5a:00:00:00:01");
        assertThat(new String(o.toJson(), StandardCharsets.UTF_8))
                .isEqualTo("{\"node\":\"n1\",\"underlayIp\":\"198.18.0.11\",\"vtepMac\":\"0e:5a:00:00:00:01\"}");
        assertThat(SubnetOwner.fromJson(o.toJson())).isEqualTo(o);
        byte[] later = "{\"node\":\"n1\",\"underlayIp\":\"198.18.0.11\",\"vtepMac\":\"0e:5a:00:00:00:01\",\"mtu\":1450}"
                .getBytes(StandardCharsets.UTF_8);
        assertThat(SubnetOwner.fromJson(later)).isEqualTo(o);
    }

    @Test
    void refusesWhatItCannotUse() {
        assertThatThrownBy(() -> SubnetOwner.fromJson("nope".getBytes(StandardCharsets.UTF_8))).hasMessageContaining("not JSON");
        assertThatThrownBy(() -> SubnetOwner.fromJson("[1]".getBytes(StandardCharsets.UTF_8))).hasMessageContaining("not a JSON object");
        assertThatThrownBy(() -> SubnetOwner.fromJson("{\"node\":\"n1\"}".getBytes(StandardCharsets.UTF_8)))
                .hasMessageContaining("'underlayIp' is missing");
        assertThatThrownBy(() -> new SubnetOwner("n/1", "198.18.0.11", "0e:5a:00:00:00:01")).hasMessageContaining("invalid node name");
        assertThatThrownBy(() -> new SubnetOwner("n1", "node-1.example", "0e:5a:00:00:00:01")).hasMessageContaining("not an IP address");
        assertThatThrownBy(() -> new SubnetOwner("n1", "198.18.0.11", "0e:5a:00")).hasMessageContaining("not a MAC");
    }
}
