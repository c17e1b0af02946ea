"""FIFO, compressive and kNN memories: order of events and reads."""

import numpy as np
import pytest

import kvmem


def positions_as_keys(n):
    """Key j is (j, 1): the memory's contents tell which positions it holds."""
    keys = np.stack([np.arange(n, dtype=float), np.ones(n)], axis=1)
    return keys, keys * 10


def test_fifo_holds_previous_segment_and_current_one():
    memory = kvmem.FIFOMemory(n_s=4)
    keys, values = positions_as_keys(10)
    expected_positions = {
        0: [0], 3: [0, 1, 2, 3],              # first segment, complete at position 3
        4: [0, 1, 2, 3, 4],                   # cached segment 0 + current position 4
        7: [0, 1, 2, 3, 4, 5, 6, 7],          # the last query of segment 1 still sees segment 0
        8: [4, 5, 6, 7, 8],                   # segment 2 begins: segment 1 replaces segment 0
        9: [4, 5, 6, 7, 8, 9],
    }
    for i in range(10):
        memory.update(keys[i], values[i])
        if i in expected_positions:
            assert memory.positions().tolist() == expected_positions[i], f"after position {i}"


def test_fifo_read_attends_over_cache_then_current():
    rng = np.random.default_rng(5)
    keys, values, queries = rng.normal(size=(3, 11, 4))
    memory = kvmem.FIFOMemory(n_s=3, n_mem=6)
    for i in range(11):
        memory.update(keys[i], values[i])
        held = memory.positions()
        np.testing.assert_allclose(memory.read(queries[i]), kvmem.attend(queries[i], keys[held], values[held]))
    assert memory.state_size == len(memory.positions()) * 8


def test_compressive_memory_order_of_events():
    """A segment enters Mem when the next segment's first token arrives (Transformer-XL order)."""
    memory = kvmem.CompressiveMemory(n_s=4, c=2, n_mem=4, n_cmem=4)
    keys, values = positions_as_keys(17)
    kvmem.run(memory, keys[:4], values[:4])  # segment 0 complete, still the current segment
    assert memory.mem_positions.tolist() == [] and len(memory.cmem_spans) == 0
    kvmem.run(memory, keys[4:5], values[4:5])  # segment 1 begins: segment 0 moves into Mem
    assert memory.mem_positions.tolist() == [0, 1, 2, 3] and len(memory.cmem_spans) == 0
    kvmem.run(memory, keys[5:9], values[5:9])  # segment 2 begins: segment 0 pushed into CMem
    assert memory.mem_positions.tolist() == [4, 5, 6, 7]
    assert memory.cmem_spans.tolist() == [[0, 1], [2, 3]]
    np.testing.assert_array_equal(memory.cmem_keys[:, 0], [0.5, 2.5])  # mean of each pair of positions
    np.testing.assert_array_equal(memory.cmem_values[:, 0], [5.0, 25.0])
    kvmem.run(memory, keys[9:13], values[9:13])
    assert memory.cmem_spans.tolist() == [[0, 1], [2, 3], [4, 5], [6, 7]]
    kvmem.run(memory, keys[13:17], values[13:17])  # CMem is full: its oldest pairs are dropped
    assert memory.mem_positions.tolist() == [12, 13, 14, 15]
    assert memory.cmem_spans.tolist() == [[4, 5], [6, 7], [8, 9], [10, 11]]


def test_compressive_read_attends_over_cmem_mem_and_current():
    rng = np.random.default_rng(6)
    keys, values = rng.normal(size=(2, 10, 3))
    memory = kvmem.CompressiveMemory(n_s=2, c=2, n_mem=2, n_cmem=8)
    kvmem.run(memory, keys, values[:, :3])
    memory.update(keys[0], values[0])  # one token of the current segment
    q = rng.normal(size=3)
    cmem = keys[:8].reshape(4, 2, 3).mean(axis=1), values[:8].reshape(4, 2, 3).mean(axis=1)
    all_keys = np.concatenate([cmem[0], keys[8:10], keys[:1]])
    all_values = np.concatenate([cmem[1], values[8:10], values[:1]])
    np.testing.assert_allclose(memory.read(q), kvmem.attend(q, all_keys, all_values), rtol=1e-12)


def test_compressive_memory_rejects_rates_that_do_not_divide_the_segment():
    with pytest.raises(ValueError, match="multiple of the compression rate"):
        kvmem.CompressiveMemory(n_s=5, c=2)


def test_knn_retrieves_top_k_and_mixes_with_gate():
    rng = np.random.default_rng(7)
    keys, values = rng.normal(size=(30, 4)), rng.normal(size=(30, 2))
    memory = kvmem.KNNMemory(n_c=5, top_k=3, gate=0.25)
    kvmem.run(memory, keys, values)
    q = rng.normal(size=4)
    stored = np.arange(25)  # pairs 0..24 have left the window
    best = stored[np.argsort(-(keys[stored] @ q))[:3]]
    got_keys, got_values = memory.retrieve(q)
    np.testing.assert_array_equal(got_keys, keys[best])
    local = kvmem.attend(q, keys[25:], values[25:])
    retrieved = kvmem.attend(q, keys[best], values[best])
    np.testing.assert_allclose(memory.read(q), 0.25 * local + 0.75 * retrieved, rtol=1e-12)


def test_knn_gate_must_lie_in_unit_interval():
    with pytest.raises(ValueError, match="gate"):
        kvmem.KNNMemory(n_c=4, gate=1.5)
