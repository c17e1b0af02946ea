"""Chapter 5: the reach of a segment-recurrent model, and the statistics helpers of its experiments."""

import numpy as np
import pytest

import kvmem
from kvmem import experiments as ex


def reach_by_mask_powers(n_layers, n_s, n_mem, n_tokens):
    """Brute force from the definition: A[i, j] = 1 when a query at i reads position j of the
    layer below (j from the start of i's segment minus n_mem, up to i); layer l depends on
    token j when (A^l)[i, j] > 0. Returns i - (oldest such j) for every layer and position."""
    i = np.arange(n_tokens)[:, None]
    j = np.arange(n_tokens)[None, :]
    first_read = i - i % n_s - n_mem
    attends = ((j >= first_read) & (j <= i)).astype(np.int64)
    depends = np.eye(n_tokens, dtype=np.int64)
    rows = []
    for _ in range(n_layers):
        depends = np.minimum(attends @ depends, 1)
        rows.append(np.arange(n_tokens) - np.argmax(depends > 0, axis=1))
    return np.array(rows)


@pytest.mark.parametrize("n_layers, n_s, n_mem", [(4, 4, 4), (3, 5, 10), (3, 4, 6), (2, 3, 1), (5, 2, 2)])
def test_reach_closed_form_matches_brute_force(n_layers, n_s, n_mem):
    n_tokens = n_s * (n_layers * (-(-n_mem // n_s) + 1) + 3)  # long enough that no query hits position 0
    brute = reach_by_mask_powers(n_layers, n_s, n_mem, n_tokens)
    last_segment = brute[:, -n_s:]  # offsets 0..n_s-1 of a segment far from the start
    expected = ex.transformer_xl_reach(n_layers, n_s, n_mem)
    np.testing.assert_array_equal(last_segment.min(axis=1), expected[:, 0])
    np.testing.assert_array_equal(last_segment.max(axis=1), expected[:, 1])
    np.testing.assert_array_equal(last_segment[:, 0], expected[:, 0])  # the first query reaches least


@pytest.mark.parametrize("n_layers, n_s, n_mem", [(4, 4, 4), (3, 3, 6), (3, 5, 0)])
def test_reach_at_every_position_including_the_start_of_the_sequence(n_layers, n_s, n_mem):
    # The proposition with n_m a multiple of n_s: l n_m + o once s(i) >= l n_m, else i (back to token 0)
    n_tokens = 60
    brute = reach_by_mask_powers(n_layers, n_s, n_mem, n_tokens)
    i = np.arange(n_tokens)
    start, offset = i - i % n_s, i % n_s
    for l in range(1, n_layers + 1):
        expected = np.where(start >= l * n_mem, l * n_mem + offset, i)
        np.testing.assert_array_equal(brute[l - 1], expected)


@pytest.mark.parametrize("n_layers, n_s, n_mem", [(3, 4, 4), (3, 4, 6), (2, 3, 1)])
def test_propagation_through_the_fifo_memory_matches_brute_force(n_layers, n_s, n_mem):
    n_tokens = 40
    np.testing.assert_array_equal(ex.reach_by_propagation(n_layers, n_s, n_mem, n_tokens),
                                  reach_by_mask_powers(n_layers, n_s, n_mem, n_tokens))


def test_without_a_cache_the_reach_stays_inside_the_segment():
    np.testing.assert_array_equal(ex.reach_by_propagation(3, 4, 0, 12), reach_by_mask_powers(3, 4, 0, 12))
    assert ex.reach_by_propagation(3, 4, 0, 12).max() == 3


@pytest.mark.parametrize("n_layers, n_s, c, n_mem, n_cmem", [(3, 4, 2, 8, 4), (3, 8, 4, 16, 8), (2, 6, 3, 6, 4)])
def test_compressive_reach_is_l_times_n_m_plus_c_n_cm_plus_offset(n_layers, n_s, c, n_mem, n_cmem):
    # Rae et al.'s temporal range: l (n_m + c n_cm) + o once both memories are full, with c n_cm
    # a multiple of n_s, so that the oldest pooled position starts a segment (exercise 5.8)
    n_tokens = n_s * (n_layers * (n_mem + c * n_cmem) // n_s + 3)
    reach = ex.compressive_reach_by_propagation(n_layers, n_s, c, n_mem, n_cmem, n_tokens)[:, -n_s:]
    layers, offsets = np.arange(1, n_layers + 1)[:, None], np.arange(n_s)[None, :]
    np.testing.assert_array_equal(reach, layers * (n_mem + c * n_cmem) + offsets)


def test_compressive_reach_before_cmem_fills_is_the_fifo_reach():
    # Until a segment is evicted, CMem is empty and the compressive memory reads what a FIFO
    # memory of n_m pairs reads: the same reach, at every position of the first segments
    n_tokens = 12
    np.testing.assert_array_equal(ex.compressive_reach_by_propagation(1, 4, 2, 8, 4, n_tokens),
                                  ex.reach_by_propagation(1, 4, 8, n_tokens))


def test_one_cached_segment_reaches_between_l_n_s_and_l_plus_1_n_s_minus_1():
    reach = ex.transformer_xl_reach(12, 512)
    layers = np.arange(1, 13)
    np.testing.assert_array_equal(reach[:, 0], layers * 512)
    np.testing.assert_array_equal(reach[:, 1], (layers + 1) * 512 - 1)
    with pytest.raises(ValueError, match="n_layers"):
        ex.transformer_xl_reach(0, 512)


def test_interval_half_width_uses_students_t():
    # t_{0.975} with 4 degrees of freedom is 2.776 in statistical tables (tests/test_neural.py
    # checks the quantile itself at more degrees of freedom)
    samples = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    mean, half = ex.mean_and_interval(samples)
    assert mean == 3.0
    assert half == pytest.approx(2.776 * np.sqrt(2.5) / np.sqrt(5), rel=1e-3)
    with pytest.raises(ValueError, match="at least 2 samples"):
        ex.mean_and_interval([1.0])


def test_fact_recall_curve_recalls_inside_a_window_and_forgets_after():
    window = ex.fact_recall_curve(kvmem.SlidingWindow(8), [0, 7, 8, 40], d=16, seed=3)
    assert window[0] == pytest.approx(1.0) and window[1] > 0.9  # fact still in the window
    assert abs(window[2]) < 0.9 and abs(window[3]) < 0.9  # fact has left it


def test_state_in_pairs_counts_what_each_memory_can_hold():
    sizes = ex.state_in_pairs({"fifo": lambda: kvmem.FIFOMemory(n_s=4),
                               "average": kvmem.CumulativeAverage}, n_tokens=40, d=3, warm_up=8)
    assert sizes["fifo"] == (5, 8)  # one cached segment plus 1..4 pairs of the current one
    assert sizes["average"] == (1, 1)


def test_crossover_of_a_linear_and_a_quadratic_cost_is_where_they_are_equal():
    # seconds a * N (a memory) and b * N^2 (full attention) cross at N = a / b: log-log
    # interpolation is exact for power laws, so the answer must come out exactly
    sizes = [1024, 2048, 4096, 8192, 16384]
    a, b = 1e-5, 1e-5 / 5000
    result = {"runs": {"memory": [{"n": n, "seconds": a * n} for n in sizes],
                       "full_attention": [{"n": n, "seconds": b * n * n} for n in sizes]}}
    assert ex.crossover_length(result, "memory") == pytest.approx(5000, rel=1e-9)
    slow = {"runs": {"memory": [{"n": n, "seconds": 1.0} for n in sizes],
                     "full_attention": [{"n": n, "seconds": 0.5} for n in sizes]}}
    assert ex.crossover_length(slow, "memory") is None


def test_a_slower_quartile_of_full_attention_moves_the_crossover_earlier():
    # full attention's third quartile twice its median: b -> 2 b, so a * N = 2 b N^2 at N = a / (2 b)
    sizes = [1024, 2048, 4096, 8192, 16384]
    a, b = 1e-5, 1e-5 / 5000
    result = {"runs": {"memory": [{"n": n, "seconds": a * n} for n in sizes],
                       "full_attention": [{"n": n, "seconds": b * n * n,
                                           "seconds_spread": {"q1": b * n * n, "q3": 2 * b * n * n}} for n in sizes]}}
    assert ex.crossover_length(result, "memory", other_at="q3") == pytest.approx(2500, rel=1e-9)
    assert ex.crossover_length(result, "memory", other_at="q1") == pytest.approx(5000, rel=1e-9)


def test_compressive_timeline_follows_each_token_through_current_mem_cmem_and_out():
    # n_s = 4, c = 2, Mem of 2 segments, CMem of 4 pooled pairs (2 segments): the token of
    # segment s is current at row s, raw in Mem at rows s+1 and s+2, pooled at rows s+3 and
    # s+4, and gone after (the order of events of the compressive memory's definition)
    state = kvmem.plots.compressive_timeline(n_s=4, c=2, n_mem=8, n_cmem=4, n_tokens=32)
    for row in range(8):
        for position in range(32):
            age = row - position // 4
            expected = -1 if age < 0 else {0: 3, 1: 2, 2: 2, 3: 1, 4: 1}.get(age, 0)
            assert state[row, position] == expected, (row, position)


def test_benchmark_names_get_the_books_readable_labels():
    assert kvmem.plots.benchmark_label("full_attention") == "full attention"
    assert kvmem.plots.benchmark_label("cumavg") == "cumulative average"


def test_distance_experiment_with_intervals_averages_seeds():
    factories = {"window": lambda: kvmem.SlidingWindow(8)}
    result = ex.distance_experiment_with_intervals(factories, [0, 7, 20], d=16, seeds=5)
    mean, half = result["window"]
    per_seed = np.array([ex.fact_recall_curve(kvmem.SlidingWindow(8), [0, 7, 20], d=16, seed=s) for s in range(5)])
    np.testing.assert_allclose(mean, per_seed.mean(axis=0))
    np.testing.assert_allclose(half, 2.776 * per_seed.std(axis=0, ddof=1) / np.sqrt(5), rtol=1e-3)
    assert mean[0] == pytest.approx(1.0) and half[0] == pytest.approx(0.0, abs=1e-12)


def reach_through_compressive_memory(n_layers, n_s, c, n_mem, n_cmem, n_tokens):
    """Brute force: layer l at position i reads the layer-(l-1) states of every position that the
    compressive memory holds after the update at i, raw (Mem, current segment) or pooled (CMem)."""
    memory, reads = kvmem.CompressiveMemory(n_s=n_s, c=c, n_mem=n_mem, n_cmem=n_cmem), []
    for _ in range(n_tokens):
        memory.update(np.zeros(1), np.zeros(1))
        pooled = [p for first, last in memory.cmem_spans for p in range(first, last + 1)]
        reads.append(np.array(pooled + memory.mem_positions.tolist() + memory.segment.positions.tolist()))
    oldest, rows = np.arange(n_tokens), []
    for _ in range(n_layers):
        oldest = np.array([oldest[held].min() for held in reads])
        rows.append(np.arange(n_tokens) - oldest)
    return np.array(rows)


@pytest.mark.parametrize("n_s, c, n_mem, n_cmem", [(4, 2, 8, 4), (8, 4, 16, 8), (4, 4, 4, 2), (6, 3, 6, 4)])
def test_compressive_memory_reaches_l_times_n_m_plus_c_n_cm(n_s, c, n_mem, n_cmem):
    # The chapter's claim (Rae et al.'s temporal range): l (n_m + c n_cm) + o tokens back in layer l,
    # once both memories are full and n_cm is a multiple of n_s / c.
    n_layers = 3
    n_tokens = n_s * (n_layers * (n_mem + c * n_cmem) // n_s + 4)
    last_segment = reach_through_compressive_memory(n_layers, n_s, c, n_mem, n_cmem, n_tokens)[:, -n_s:]
    layers = np.arange(1, n_layers + 1)[:, None]
    np.testing.assert_array_equal(last_segment, layers * (n_mem + c * n_cmem) + np.arange(n_s)[None, :])


@pytest.mark.parametrize("n_layers, n_s, n_tokens", [(3, 4, 16), (2, 3, 20)])
def test_first_dependent_layer_matches_powers_of_the_attention_mask(n_layers, n_s, n_tokens):
    # Independent computation: layer l depends on token j when (A^l)[i, j] > 0 for the read mask A
    i = np.arange(n_tokens)[:, None]
    j = np.arange(n_tokens)[None, :]
    attends = ((j >= i - i % n_s - n_s) & (j <= i)).astype(np.int64)
    depends, expected = np.eye(n_tokens, dtype=np.int64), np.zeros((n_tokens, n_tokens), dtype=np.int64)
    for layer in range(1, n_layers + 1):
        depends = np.minimum(attends @ depends, 1)
        expected[(depends > 0) & (expected == 0)] = layer
    np.testing.assert_array_equal(kvmem.plots.first_dependent_layer(n_layers, n_s, n_s, n_tokens), expected)
