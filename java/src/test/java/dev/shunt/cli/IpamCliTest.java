package dev.shunt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static dev.shunt.cli.CliTest.shunt;
import static org.assertj.core.api.Assertions.assertThat;

class IpamCliTest {
    @TempDir
    Path dir;

    String store() {
        return dir.resolve("ipam").toString();
    }

    @Test
    void allocatePrintsTheIpAndIsIdempotent() {
        CliTest.Result a = shunt("ipam", "allocate", "--store", store(), "--pool", "10.244.3.0/24", "--owner", "pod-a");
        assertThat(a.exit()).as(a.err()).isZero();
        assertThat(a.out()).isEqualTo("10.244.3.1\n");
        assertThat(shunt("ipam", "allocate", "--store", store(), "--pool", "10.244.3.0/24", "--owner", "pod-a").out()).isEqualTo("10.244.3.1\n");
        assertThat(shunt("ipam", "allocate", "--store", store(), "--pool", "10.244.3.0/24", "--owner", "pod-a", "--ifname", "net1").out())
                .isEqualTo("10.244.3.2\n");
        assertThat(shunt("ipam", "allocate", "--store", store(), "--pool", "fd00:244:3::/64", "--owner", "pod-a").out())
                .isEqualTo("fd00:244:3::1\n");
    }

    @Test
    void showListsPoolsCountsAndOwners() throws Exception {
        shunt("ipam", "allocate", "--store", store(), "--pool", "10.244.3.0/24", "--owner", "pod-a", "--reserve", "10.244.3.1-10.244.3.9,10.244.3.200");
        shunt("ipam", "allocate", "--store", store(), "--pool", "10.244.3.0/24", "--owner", "pod-b");
        CliTest.Result text = shunt("ipam", "show", "--store", store());
        assertThat(text.out()).contains("pool 10.244.3.0/24  used 2  free 242  capacity 244  reserved 10.244.3.1-10.244.3.9,10.244.3.200")
                .contains("10.244.3.10", "pod-a/eth0", "10.244.3.11", "pod-b/eth0");
        JsonNode json = new ObjectMapper().readTree(shunt("ipam", "show", "--store", store(), "--json").out());
        JsonNode pool = json.get("pools").get(0);
        assertThat(pool.get("cidr").asText()).isEqualTo("10.244.3.0/24");
        assertThat(pool.get("used").asInt()).isEqualTo(2);
        assertThat(pool.get("free").asInt()).isEqualTo(242);
        assertThat(pool.get("allocations").get(0).get("ip").asText()).isEqualTo("10.244.3.10");
        assertThat(pool.get("allocations").get(0).get("owner").asText()).isEqualTo("pod-a");
    }

    @Test
    void releaseAndGc() {
        shunt("ipam", "allocate", "--store", store(), "--pool", "10.244.3.0/24", "--owner", "a");
        shunt("ipam", "allocate", "--store", store(), "--pool", "10.244.3.0/24", "--owner", "b");
        shunt("ipam", "allocate", "--store", store(), "--pool", "10.244.3.0/24", "--owner", "c");
        CliTest.Result r = shunt("ipam", "release", "--store", store(), "--owner", "a");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEqualTo("released 10.244.3.1 a/eth0\n");
        assertThat(shunt("ipam", "release", "--store", store(), "--owner", "never-seen").exit()).isZero();
        CliTest.Result gc = shunt("ipam", "gc", "--store", store(), "--live", "c,zzz");
        assertThat(gc.out()).contains("released 10.244.3.2 b/eth0").endsWith("1 released\n");
        assertThat(shunt("ipam", "show", "--store", store()).out()).contains("used 1").contains("c/eth0").doesNotContain("b/eth0");
    }

    @Test
    void checkPassesOnASoundStoreAndFailsOnADamagedOne() throws Exception {
        shunt("ipam", "allocate", "--store", store(), "--pool", "10.244.3.0/24", "--owner", "a");
        CliTest.Result ok = shunt("ipam", "check", "--store", store());
        assertThat(ok.exit()).isZero();
        assertThat(ok.out()).isEqualTo("ok: 1 pools, 1 allocations\n");
        Files.writeString(dir.resolve("ipam/log.0"), "garbage line\tdeadbeef\nmore\n", StandardOpenOption.APPEND);
        CliTest.Result bad = shunt("ipam", "check", "--store", store());
        assertThat(bad.exit()).isEqualTo(Main.EXIT_FAILURE);
        assertThat(bad.err()).contains("problem: checksum mismatch").contains("has 1 problem(s)");
        CliTest.Result refused = shunt("ipam", "allocate", "--store", store(), "--pool", "10.244.3.0/24", "--owner", "b");
        assertThat(refused.exit()).isEqualTo(Main.EXIT_FAILURE);
        assertThat(refused.err()).startsWith("shunt: error: checksum mismatch").endsWith("(CNI error code 102)\n");
    }

    @Test
    void badInputIsAOneLineErrorAndBadArgumentsExitTwo() {
        CliTest.Result cidr = shunt("ipam", "allocate", "--store", store(), "--pool", "10.244.3.0/33", "--owner", "a");
        assertThat(cidr.exit()).isEqualTo(Main.EXIT_FAILURE);
        assertThat(cidr.err()).isEqualTo("shunt: error: '10.244.3.0/33': prefix length 33 is longer than 32 bits (CNI error code 7)\n");
        CliTest.Result owner = shunt("ipam", "allocate", "--store", store(), "--pool", "10.244.3.0/24", "--owner", "bad owner");
        assertThat(owner.err()).startsWith("shunt: error: invalid owner id 'bad owner'");
        CliTest.Result missing = shunt("ipam", "allocate", "--store", store(), "--owner", "a");
        assertThat(missing.exit()).isEqualTo(Main.EXIT_USAGE);
        assertThat(missing.err()).startsWith("shunt: Missing required option: '--pool=CIDR'").contains("Usage: shunt ipam allocate");
        CliTest.Result full = shunt("ipam", "allocate", "--store", store(), "--pool", "10.244.4.0/30", "--owner", "a");
        assertThat(full.exit()).isZero();
        shunt("ipam", "allocate", "--store", store(), "--pool", "10.244.4.0/30", "--owner", "b");
        CliTest.Result exhausted = shunt("ipam", "allocate", "--store", store(), "--pool", "10.244.4.0/30", "--owner", "c");
        assertThat(exhausted.err()).isEqualTo("shunt: error: pool 10.244.4.0/30 is exhausted: all 2 usable addresses are allocated (CNI error code 100)\n");
    }
}
