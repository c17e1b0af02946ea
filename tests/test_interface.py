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
