"""Attention reads and the memories read by attention, against explicit sums."""


import numpy as np
import pytest

import kvmem
from reference import attend_by_definition


@pytest.fixture
def sequence():
    rng = np.random.default_rng(4)
    n, d = 23, 4
    return rng.normal(size=(n, d)), rng.normal(size=(n, d)), rng.normal(size=(n, 3))


def test_attend_equals_definition(sequence):
    queries, keys, values = sequence
    np.testing.assert_allclose(kvmem.attend(queries[0], keys, values),
                               attend_by_definition(queries[0], keys, values), rtol=1e-12)


def test_softmax_survives_huge_scores():
    weights = kvmem.softmax(np.array([1000.0, 1000.0, -1000.0]))
    np.testing.assert_allclose(weights, [0.5, 0.5, 0.0])


@pytest.mark.parametrize("block", [1, 5, 256])
def test_causal_attention_equals_prefix_by_prefix(sequence, block):
    queries, keys, values = sequence
    out = kvmem.causal_attention(queries, keys, values, block=block)
    for i in range(len(keys)):
        np.testing.assert_allclose(out[i], attend_by_definition(queries[i], keys[: i + 1], values[: i + 1]),
                                   rtol=1e-10)


def test_full_cache_memory_is_causal_attention(sequence):
    queries, keys, values = sequence
    reads = kvmem.run(kvmem.FullCache(), keys, values, queries)
    np.testing.assert_allclose(reads, kvmem.causal_attention(queries, keys, values), rtol=1e-10)


def test_sliding_window_reads_the_last_n_c_pairs(sequence):
    queries, keys, values = sequence
    n_c = 5
    reads = kvmem.run(kvmem.SlidingWindow(n_c), keys, values, queries)
    for i in range(len(keys)):
        lo = max(0, i - n_c + 1)
        np.testing.assert_allclose(reads[i], attend_by_definition(queries[i], keys[lo: i + 1], values[lo: i + 1]),
                                   rtol=1e-10)


def test_summary_window_reads_mean_pair_then_window(sequence):
    queries, keys, values = sequence
    n_c = 4
    reads = kvmem.run(kvmem.SummaryWindow(n_c), keys, values, queries)
    for i in range(len(keys)):
        lo = max(0, i - n_c + 1)
        mem_keys = [keys[: i + 1].mean(axis=0)] + list(keys[lo: i + 1])
        mem_values = [values[: i + 1].mean(axis=0)] + list(values[lo: i + 1])
        np.testing.assert_allclose(reads[i], attend_by_definition(queries[i], mem_keys, mem_values), rtol=1e-10)


def test_hybrid_read_depends_on_the_query_but_the_average_does_not(sequence):
    _, keys, values = sequence
    hybrid, average = kvmem.SummaryWindow(4), kvmem.CumulativeAverage()
    kvmem.run(hybrid, keys, values)
    kvmem.run(average, keys, values)
    q1, q2 = keys[-1] * 5, keys[-3] * 5
    assert not np.allclose(hybrid.read(q1), hybrid.read(q2))
    np.testing.assert_allclose(average.read(q1), average.read(q2))
