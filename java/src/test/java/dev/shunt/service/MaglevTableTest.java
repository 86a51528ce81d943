package dev.shunt.service;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MaglevTableTest {
    static List<String> backends(int n, int first) {
        List<String> keys = new ArrayList<>();
        for (int i = first; i < first + n; i++) {
            keys.add("10.244." + (i / 250) + "." + (i % 250 + 1) + ":8080");
        }
        return keys;
    }

    @Test
    void sizeRuleIsAPrimeAtLeastHundredTimesTheBackends() {
        assertThat(MaglevTable.sizeFor(0)).isEqualTo(251);
        assertThat(MaglevTable.sizeFor(2)).isEqualTo(251);
        assertThat(MaglevTable.sizeFor(3)).isEqualTo(509);
        assertThat(MaglevTable.sizeFor(100)).isEqualTo(16381);
        assertThat(MaglevTable.sizeFor(1000)).isEqualTo(131071);
        for (int size : MaglevTable.SIZES) {
            assertThat(MaglevTable.isPrime(size)).as("%d", size).isTrue();
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 7, 10, 100, 1000})
    void everyBackendOwnsAnEqualShareWithinOneEntry(int n) {
        MaglevTable table = MaglevTable.build(backends(n, 0));
        int[] shares = table.shares();
        int min = Arrays.stream(shares).min().orElseThrow();
        int max = Arrays.stream(shares).max().orElseThrow();
        // The population loop gives each backend one slot per round until the table is full.
        assertThat(max - min).isLessThanOrEqualTo(1);
        assertThat(Arrays.stream(shares).sum()).isEqualTo(table.size());
        double imbalance = (double) max / min - 1;
        assertThat(imbalance).as("max/min - 1 with %d backends in %d entries", n, table.size()).isLessThanOrEqualTo(0.011);
    }

    @Test
    void weightsGiveProportionalShares() {
        MaglevTable table = MaglevTable.build(backends(3, 0), new int[] {1, 2, 3}, 65521);
        int[] shares = table.shares();
        for (int i = 0; i < 3; i++) {
            double expected = 65521.0 * (i + 1) / 6;
            assertThat(Math.abs(shares[i] - expected)).as("backend %d", i).isLessThanOrEqualTo(3);
        }
        MaglevTable drained = MaglevTable.build(backends(2, 0), new int[] {0, 1}, 251);
        assertThat(drained.shares()).containsExactly(0, 251);
    }

    @Test
    void emptyTableLooksUpMinusOne() {
        MaglevTable empty = MaglevTable.build(List.of());
        assertThat(empty.lookup(12345)).isEqualTo(-1);
        assertThat(empty.backendCount()).isZero();
        assertThat(MaglevTable.build(backends(2, 0), new int[] {0, 0}, 251).lookup(7)).isEqualTo(-1);
    }

    @Test
    void buildingIsDeterministic() {
        MaglevTable a = MaglevTable.build(backends(10, 0));
        MaglevTable b = MaglevTable.build(backends(10, 0));
        for (int slot = 0; slot < a.size(); slot++) {
            assertThat(a.entry(slot)).isEqualTo(b.entry(slot));
        }
    }

    /**
     * Maglev trades a little disruption for perfect balance, more so when M/N is small (paper,
     * section 5.3). With this class's size rule (M about 100-160 x N) the measured fraction of
     * moved entries is 1.03x the minimal 1/N at 3 backends, 1.2x at 10 and 2.2-2.4x at 100. The
     * fast path pins established flows in conntrack, so this only moves where new flows go.
     */
    @ParameterizedTest
    @CsvSource({"3,1.1", "10,1.4", "100,2.6"})
    void removingOneBackendMovesCloseToTheMinimalShare(int n, double maxRatio) {
        List<String> before = backends(n, 0);
        Random random = new Random(n);
        int removed = random.nextInt(n);
        List<String> after = new ArrayList<>(before);
        after.remove(removed);
        // Both tables get the size chosen for n so that slot positions are comparable.
        int size = MaglevTable.sizeFor(n);
        MaglevTable t1 = MaglevTable.build(before, ones(n), size);
        MaglevTable t2 = MaglevTable.build(after, ones(n - 1), size);
        int changed = 0;
        int changedElsewhere = 0;
        for (int slot = 0; slot < size; slot++) {
            String was = before.get(t1.entry(slot));
            String now = after.get(t2.entry(slot));
            if (!was.equals(now)) {
                changed++;
                if (!was.equals(before.get(removed))) {
                    changedElsewhere++;
                }
            }
        }
        double fraction = (double) changed / size;
        double minimal = 1.0 / n;
        System.out.printf("maglev remove 1 of %d: %.4f of entries changed (minimal %.4f, %.2fx); %d entries of surviving backends moved%n",
                n, fraction, minimal, fraction / minimal, changedElsewhere);
        // The removed backend's entries must all move; Maglev moves a few more (paper, section 5.3).
        assertThat(fraction).isGreaterThanOrEqualTo(minimal * 0.99);
        assertThat(fraction).isLessThanOrEqualTo(minimal * maxRatio);
    }

    @ParameterizedTest
    @CsvSource({"3,1.1", "10,1.4", "100,2.6"})
    void addingOneBackendMovesCloseToTheMinimalShare(int n, double maxRatio) {
        List<String> before = backends(n, 0);
        List<String> after = new ArrayList<>(before);
        after.add("10.245.0.1:8080");
        int size = MaglevTable.sizeFor(n + 1);
        MaglevTable t1 = MaglevTable.build(before, ones(n), size);
        MaglevTable t2 = MaglevTable.build(after, ones(n + 1), size);
        int changed = 0;
        for (int slot = 0; slot < size; slot++) {
            if (!before.get(t1.entry(slot)).equals(after.get(t2.entry(slot)))) {
                changed++;
            }
        }
        double fraction = (double) changed / size;
        double minimal = 1.0 / (n + 1);
        System.out.printf("maglev add 1 to %d: %.4f of entries changed (minimal %.4f, %.2fx)%n", n, fraction, minimal, fraction / minimal);
        assertThat(fraction).isGreaterThanOrEqualTo(minimal * 0.99);
        assertThat(fraction).isLessThanOrEqualTo(minimal * maxRatio);
    }

    @Test
    void flowsSpreadEvenlyOverBackends() {
        MaglevTable table = MaglevTable.build(backends(3, 0));
        int[] hits = new int[3];
        Random random = new Random(3);
        int flows = 300_000;
        for (int i = 0; i < flows; i++) {
            long h = Hashing.flow(random.nextInt(), 0x0a600001, 1024 + random.nextInt(60000), 80, 6, 0x5eed);
            hits[table.lookup(h)]++;
        }
        for (int h : hits) {
            assertThat(Math.abs(h - flows / 3.0) / (flows / 3.0)).isLessThan(0.02);
        }
    }

    @Test
    void badArgumentsAreRefused() {
        assertThatThrownBy(() -> MaglevTable.build(backends(2, 0), new int[] {1, 1}, 250)).hasMessageContaining("prime");
        assertThatThrownBy(() -> MaglevTable.build(backends(2, 0), new int[] {1}, 251)).hasMessageContaining("one weight per backend");
        assertThatThrownBy(() -> MaglevTable.build(backends(2, 0), new int[] {1, -1}, 251)).hasMessageContaining("negative weight");
    }

    static int[] ones(int n) {
        int[] w = new int[n];
        Arrays.fill(w, 1);
        return w;
    }
}
