"""The serving memories (kvmem.serving) against plain-Python computations written from their definitions."""

import math

import numpy as np
import pytest

import kvmem
from reference import attend_by_definition
from kvmem.serving import HeavyHitters, QuantisedCache, SinkWindow, bytes_held, dequantise, quantise


def plain_weights(query, keys):
    d = len(query)
    scores = [sum(q * k for q, k in zip(query, key)) / math.sqrt(d) for key in keys]
    top = max(scores)
    weights = [math.exp(s - top) for s in scores]
    return [w / sum(weights) for w in weights]


def sequence(n, d=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) * 1.5, rng.normal(size=(n, d))


# ---- attention sinks + window -------------------------------------------------------------------

@pytest.mark.parametrize("n_sink, n_c", [(1, 3), (4, 4), (2, 7)])
def test_sink_window_reads_attention_over_the_sinks_and_the_last_pairs(n_sink, n_c):
    keys, values = sequence(20)
    memory = SinkWindow(n_sink, n_c)
    for i in range(len(keys)):
        memory.update(keys[i], values[i])
        kept = sorted(set(range(min(i + 1, n_sink))) | set(range(max(n_sink, i - n_c + 1), i + 1)))
        assert memory.positions().tolist() == kept
        expected = attend_by_definition(keys[i].tolist(), keys[kept].tolist(), values[kept].tolist())
        np.testing.assert_allclose(memory.read(keys[i]), expected, rtol=1e-12)
        assert memory.state_size == len(kept) * 10 <= (n_sink + n_c) * 10


def test_sink_window_keeps_the_first_pair_a_plain_window_forgets():
    keys, values = sequence(30)
    sinks, window = SinkWindow(1, 4), kvmem.SlidingWindow(5)
    kvmem.run(sinks, keys, values)
    kvmem.run(window, keys, values)
    assert 0 in sinks.positions() and 0 not in window.window.positions
    assert sinks.state_size == window.state_size  # the same budget of 5 pairs


# ---- heavy hitters (H2O) ------------------------------------------------------------------------

def plain_h2o(keys, values, budget, n_recent, read_at):
    """H2O written out with lists: [position, key, value, score]; reads happen after update i in read_at."""
    kept, reads = [], {}
    for i, (k, v) in enumerate(zip(keys.tolist(), values.tolist())):
        kept.append([i, k, v, 0.0])
        for item, w in zip(kept, plain_weights(k, [item[1] for item in kept])):
            item[3] += w
        if len(kept) > budget:
            old = kept[: len(kept) - n_recent]
            lowest = min(range(len(old)), key=lambda j: (old[j][3], j))
            kept.pop(lowest)
        if i in read_at:
            q = read_at[i]
            weights = plain_weights(q, [item[1] for item in kept])
            for item, w in zip(kept, weights):
                item[3] += w
            reads[i] = [sum(w * item[2][c] for w, item in zip(weights, kept)) for c in range(len(v))]
    return [item[0] for item in kept], reads


@pytest.mark.parametrize("budget, n_recent", [(4, 2), (6, 1), (5, 4)])
def test_heavy_hitters_match_the_algorithm_written_out(budget, n_recent):
    keys, values = sequence(40, seed=budget)
    queries = np.random.default_rng(1).normal(size=(40, 5))
    read_at = {i: queries[i].tolist() for i in range(0, 40, 3)}
    expected_kept, expected_reads = plain_h2o(keys, values, budget, n_recent, read_at)
    memory = HeavyHitters(budget, n_recent)
    for i in range(40):
        memory.update(keys[i], values[i])
        assert memory.keys.shape[0] <= budget
        newest = list(range(max(0, i - n_recent + 1), i + 1))
        assert set(newest) <= set(memory.kept.tolist())  # the recent pairs are never evicted
        if i in read_at:
            np.testing.assert_allclose(memory.read(queries[i]), expected_reads[i], rtol=1e-10)
    assert memory.positions().tolist() == expected_kept
    assert memory.state_size == budget * (5 + 5 + 1)


def test_heavy_hitters_keep_a_pair_that_draws_the_attention():
    """Position 0's key points where every later key points: it is a heavy hitter and stays,
    while a window of the same budget drops it."""
    rng = np.random.default_rng(3)
    d = 8
    direction = np.eye(d)[0] * 4.0
    keys = rng.normal(size=(50, d)) * 0.3 + direction * (rng.random((50, 1)) < 0.5)
    keys[0] = direction
    values = rng.normal(size=(50, d))
    memory = HeavyHitters(budget=6, n_recent=3)
    kvmem.run(memory, keys, values)
    assert 0 in memory.kept.tolist()


# ---- quantisation -------------------------------------------------------------------------------

def test_quantise_per_channel_and_per_token_by_hand():
    x = np.array([[0.0, 10.0], [1.0, 20.0], [3.0, 40.0]])
    codes, scale, zero = quantise(x, bits=2, axis=0)  # per channel: s = (max - min) / 3
    np.testing.assert_array_equal(zero, [[0.0, 10.0]])
    np.testing.assert_allclose(scale, [[1.0, 10.0]])
    np.testing.assert_array_equal(codes, [[0, 0], [1, 1], [3, 3]])
    np.testing.assert_allclose(dequantise(codes, scale, zero), x)
    codes, scale, zero = quantise(x, bits=2, axis=1)  # per token
    np.testing.assert_allclose(scale.ravel(), [10 / 3, 19 / 3, 37 / 3])
    np.testing.assert_array_equal(zero.ravel(), [0.0, 1.0, 3.0])
    np.testing.assert_array_equal(codes, [[0, 3], [0, 3], [0, 3]])


@pytest.mark.parametrize("bits", [2, 4, 8])
@pytest.mark.parametrize("axis", [0, 1])
def test_dequantised_entries_lie_within_half_a_step(bits, axis):
    x = np.random.default_rng(bits + axis).normal(size=(16, 6)) * np.array([1, 5, 0.1, 2, 30, 1])
    codes, scale, zero = quantise(x, bits, axis)
    assert codes.dtype == np.uint8 and codes.max() <= 2**bits - 1
    assert np.all(np.abs(dequantise(codes, scale, zero) - x) <= scale / 2 + 1e-12)


def test_a_constant_channel_is_kept_exactly():
    x = np.array([[2.0, 1.0], [2.0, 5.0]])
    codes, scale, zero = quantise(x, 4, axis=0)
    assert scale[0, 0] == 0 and np.all(dequantise(codes, scale, zero)[:, 0] == 2.0)


def plain_quantised_pairs(keys, values, bits, group):
    """Dequantised keys (per channel in each group) and values (per token); the residual exact."""
    levels = 2**bits - 1
    n_full = len(keys) // group * group
    out_k, out_v = keys.tolist(), values.tolist()
    for start in range(0, n_full, group):
        rows = range(start, start + group)
        for c in range(keys.shape[1]):
            column = [keys[r, c] for r in rows]
            lo, s = min(column), (max(column) - min(column)) / levels
            for r in rows:
                out_k[r][c] = lo + (round((keys[r, c] - lo) / s) * s if s > 0 else 0.0)
        for r in rows:
            lo, s = min(values[r]), (max(values[r]) - min(values[r])) / levels
            out_v[r] = [lo + (round((x - lo) / s) * s if s > 0 else 0.0) for x in values[r]]
    return out_k, out_v


@pytest.mark.parametrize("bits, group, n", [(8, 4, 18), (4, 8, 16), (2, 5, 7)])
def test_quantised_cache_reads_attention_over_the_dequantised_pairs(bits, group, n):
    keys, values = sequence(n, seed=bits)
    memory = QuantisedCache(bits, group)
    kvmem.run(memory, keys, values)
    deq_k, deq_v = plain_quantised_pairs(keys, values, bits, group)
    for q in np.random.default_rng(0).normal(size=(5, 5)):
        np.testing.assert_allclose(memory.read(q), attend_by_definition(q.tolist(), deq_k, deq_v), rtol=1e-9, atol=1e-12)
    n_blocks, n_residual = divmod(n, group)
    assert memory.state_size == n_blocks * (group * 10 + 2 * 5 + 2 * group) + n_residual * 10
    assert memory.bytes_held == n_blocks * (group * 10 * bits / 8 + (2 * 5 + 2 * group) * 2) + n_residual * 10 * 2


def test_quantised_read_error_shrinks_with_more_bits():
    keys, values = sequence(256, d=16, seed=4)
    full = kvmem.FullCache()
    kvmem.run(full, keys, values)
    errors = {}
    for bits in (2, 4, 8):
        memory = QuantisedCache(bits, group=32)
        kvmem.run(memory, keys, values)
        errors[bits] = max(np.linalg.norm(memory.read(q) - full.read(q)) for q in keys[::16])
    assert errors[8] < errors[4] < errors[2]
    assert errors[8] < 0.02


def test_bytes_held_counts_fp16_numbers_for_other_memories():
    memory = kvmem.SlidingWindow(4)
    kvmem.run(memory, *sequence(10))
    assert bytes_held(memory) == 4 * 10 * 2


# ---- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("make, match", [
    (lambda: SinkWindow(0, 4), "n_sink"),
    (lambda: SinkWindow(2, 0), "n_c"),
    (lambda: HeavyHitters(0), "budget"),
    (lambda: HeavyHitters(4, 4), "n_recent"),
    (lambda: HeavyHitters(4, 0), "n_recent"),
    (lambda: QuantisedCache(bits=3), "bits"),
    (lambda: QuantisedCache(bits=True), "bits"),
    (lambda: QuantisedCache(bits=8, group=0), "group"),
])
def test_bad_parameters_are_named(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("make", [lambda: SinkWindow(2, 4), lambda: HeavyHitters(4), lambda: QuantisedCache(8, 4)])
def test_bad_pairs_and_queries_are_named(make):
    memory = make()
    with pytest.raises(ValueError, match="empty"):
        memory.read(np.ones(3))
    memory.update(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="dimension 3"):
        memory.update(np.ones(4), np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        memory.update(np.array([1.0, np.nan, 0.0]), np.ones(3))
    with pytest.raises(ValueError, match="query"):
        memory.read(np.ones((2, 3)))


def test_quantise_names_bad_input():
    with pytest.raises(ValueError, match="axis"):
        quantise(np.ones((2, 2)), 8, axis=2)
    with pytest.raises(ValueError, match="NaN"):
        quantise(np.array([[1.0, np.nan]]), 8, axis=0)
    with pytest.raises(ValueError, match="2-D"):
        quantise(np.ones(3), 8, axis=0)
