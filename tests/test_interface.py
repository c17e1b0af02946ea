"""Every memory shares the interface and keeps the size it promises."""

import numpy as np
import pytest

import kvmem
from test_bad_input import MEMORIES

GROWING = {"FullCache", "KNNMemory"}


@pytest.mark.parametrize("make", MEMORIES, ids=str)
def test_memory_steps_reads_and_keeps_its_size(make):
    rng = np.random.default_rng(15)
    keys, values, queries = rng.normal(size=(3, 300, 6))
    memory = MEMORIES[make]()
    reads = kvmem.run(memory, keys[:100], values[:100], queries[:100])
    assert reads.shape == (100, 6) and np.all(np.isfinite(reads))
    assert memory.count == 100
    size_at_100 = memory.state_size
    kvmem.run(memory, keys[100:], values[100:])
    if make in GROWING:
        assert memory.state_size > size_at_100
    else:
        assert memory.state_size <= size_at_100 + 2 * 6 * 2  # at most a partial segment more


def test_run_without_queries_returns_nothing():
    assert kvmem.run(kvmem.CumulativeAverage(), np.ones((3, 2)), np.ones((3, 2))) is None


def test_run_checks_queries():
    with pytest.raises(ValueError, match="one row per position"):
        kvmem.run(kvmem.CumulativeAverage(), np.ones((3, 2)), np.ones((3, 2)), np.ones((2, 2)))


@pytest.mark.parametrize("make", MEMORIES, ids=str)
def test_state_is_read_only_and_does_not_change_under_the_caller(make):
    rng = np.random.default_rng(16)
    keys, values = rng.normal(size=(2, 12, 3))
    memory = MEMORIES[make]()
    assert dict(memory.state) == {} and memory.state_size == 0
    kvmem.run(memory, keys[:7], values[:7])
    state = memory.state
    assert state and all(isinstance(a, np.ndarray) for a in state.values())
    assert memory.state_size == sum(a.size for a in state.values())
    kept = {name: a.copy() for name, a in state.items()}
    for a in state.values():
        with pytest.raises(ValueError, match="read-only"):
            a[...] = 0.0
    with pytest.raises(TypeError):
        state["extra"] = np.zeros(1)
    kvmem.run(memory, keys[7:], values[7:])
    for name, a in state.items():
        np.testing.assert_array_equal(a, kept[name])


@pytest.mark.parametrize("make", ["CumulativeAverage", "ExponentialAverage", "WindowAverage"])
def test_mem_is_a_read_only_copy(make):
    memory = MEMORIES[make]()
    memory.update(np.ones(2), np.ones(2))
    mem_key, mem_value = memory.mem
    before = mem_key.tolist()
    with pytest.raises(ValueError, match="read-only"):
        mem_key[0] = 5.0
    memory.update(np.full(2, 3.0), np.full(2, 3.0))
    assert memory.mem[0].tolist() != before
    assert mem_key.tolist() == before  # the pair kept by the caller did not move


def test_run_records_the_cumulative_average_after_every_step():
    rng = np.random.default_rng(17)
    keys, values, queries = rng.normal(size=(3, 9, 2))
    reads, states = kvmem.run(kvmem.CumulativeAverage(), keys, values, queries, record=True)
    assert len(states) == 9
    for i, state in enumerate(states):  # the definition, summed afresh for each i
        np.testing.assert_allclose(state["key"], keys[: i + 1].sum(axis=0) / (i + 1), rtol=1e-12)
        np.testing.assert_allclose(state["value"], values[: i + 1].sum(axis=0) / (i + 1), rtol=1e-12)
        np.testing.assert_allclose(reads[i], state["value"], rtol=1e-12)


def test_run_records_the_window_and_its_raw_pairs():
    keys = np.arange(10.0)[:, None] * [1.0, -1.0]
    trajectory = kvmem.run(kvmem.SlidingWindow(3), keys, keys * 2, record=True)
    assert trajectory.reads is None
    for i, state in enumerate(trajectory.states):
        np.testing.assert_array_equal(state["keys"], keys[max(0, i - 2): i + 1])
        np.testing.assert_array_equal(state["values"], 2 * keys[max(0, i - 2): i + 1])


def test_state_size_counts_what_the_next_update_needs():
    rng = np.random.default_rng(18)
    keys, values = rng.normal(size=(20, 5)), rng.normal(size=(20, 3))
    d_k, d_v, h = 5, 3, 7
    sizes = {
        kvmem.CumulativeAverage(): d_k + d_v,
        kvmem.CumulativeAverage(compensated=True): 2 * (d_k + d_v),  # means and their carries
        kvmem.ExponentialAverage(0.9, bias_correction=True): d_k + d_v,
        kvmem.LinearAttention(): d_v * d_k + d_k,
        kvmem.DeltaRule(): d_v * d_k,
        kvmem.RNNMemory(d_hidden=h): h,
        # weights W1, b1, W2, b2 and a momentum S of the same shapes
        kvmem.MLPMemory(d_hidden=h): 2 * (h * d_k + h + d_v * h + d_v),
        kvmem.WindowAverage(4): 4 * (d_k + d_v),
        kvmem.SummaryWindow(4): (d_k + d_v) + 4 * (d_k + d_v),
        kvmem.InfiniAttention(4): 4 * (d_k + d_v) + d_v * d_k + d_k,
        kvmem.KNNMemory(4): 20 * (d_k + d_v),
        kvmem.FIFOMemory(6, n_mem=12): 12 * (d_k + d_v) + 2 * (d_k + d_v),  # 12 cached + 2 current
    }
    for memory, expected in sizes.items():
        kvmem.run(memory, keys, values)
        assert memory.state_size == expected, type(memory).__name__


def test_compensated_average_keeps_the_first_pairs_dtype():
    memory = kvmem.CumulativeAverage(compensated=True)
    memory.update(np.ones(2, dtype=np.float32), np.ones(1, dtype=np.float32))
    memory.update(np.full(2, 0.1), np.full(1, 0.1))  # float64 pairs after a float32 one
    assert all(a.dtype == np.float32 for a in memory.state.values())
    np.testing.assert_allclose(memory.mem[0], 0.55, rtol=1e-6)


@pytest.mark.parametrize("make", [lambda: kvmem.FIFOMemory(4, n_mem=8),
                                  lambda: kvmem.CompressiveMemory(4, 2, n_mem=4, n_cmem=4)],
                         ids=["FIFOMemory", "CompressiveMemory"])
def test_update_segment_is_n_s_token_updates(make):
    rng = np.random.default_rng(19)
    keys, values, queries = rng.normal(size=(3, 24, 3))
    by_token, by_segment = make(), make()
    for start in range(0, 24, 4):
        kvmem.run(by_token, keys[start: start + 4], values[start: start + 4])
        by_segment.update_segment(keys[start: start + 4], values[start: start + 4])
        assert by_segment.count == by_token.count == start + 4
        assert by_segment.positions().tolist() == by_token.positions().tolist()
        assert by_segment.mem_positions.tolist() == by_token.mem_positions.tolist()
        assert by_segment.state.keys() == by_token.state.keys()
        for name in by_token.state:
            np.testing.assert_array_equal(by_segment.state[name], by_token.state[name])
        np.testing.assert_array_equal(by_segment.read(queries[start]), by_token.read(queries[start]))


def test_update_segment_checks_the_segment():
    memory = kvmem.FIFOMemory(4)
    with pytest.raises(ValueError, match="a segment holds n_s = 4 pairs; got 3"):
        memory.update_segment(np.ones((3, 2)), np.ones((3, 2)))
    memory.update(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="current segment holds 1 of 4 pairs"):
        memory.update_segment(np.ones((4, 2)), np.ones((4, 2)))
    kvmem.run(memory, np.ones((3, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="key must have dimension 2"):
        memory.update_segment(np.ones((4, 5)), np.ones((4, 2)))


def test_segment_memories_name_positions_the_same_way():
    """positions(): Mem then the current segment, by their definition for n_s = 4."""
    keys = np.stack([np.arange(14.0), np.ones(14)], axis=1)
    fifo = kvmem.FIFOMemory(4, n_mem=4)
    compressive = kvmem.CompressiveMemory(4, 2, n_mem=4, n_cmem=4)
    for memory in (fifo, compressive):
        kvmem.run(memory, keys, keys)
        # positions 0..13: segments 0-3, 4-7 and 8-11 are complete, 12 and 13 are the current one;
        # Mem holds the last complete segment (8..11)
        assert memory.mem_positions.tolist() == [8, 9, 10, 11]
        assert memory.positions().tolist() == [8, 9, 10, 11, 12, 13]
        np.testing.assert_array_equal(memory.state["mem_keys"][:, 0], [8, 9, 10, 11])
        np.testing.assert_array_equal(memory.state["segment_keys"][:, 0], [12, 13])
    assert compressive.cmem_spans.tolist() == [[0, 1], [2, 3], [4, 5], [6, 7]]
