"""Bad input raises a ValueError that names the problem, for every public entry point."""

import numpy as np
import pytest

import kvmem

GOOD = np.ones((4, 3))

BATCH_FUNCTIONS = {
    "cumulative_average": lambda k, v: kvmem.cumulative_average(k, v),
    "window_average": lambda k, v: kvmem.window_average(k, v, 2),
    "weighted_window_average": lambda k, v: kvmem.weighted_window_average(k, v, [1, 2]),
    "exponential_average": lambda k, v: kvmem.exponential_average(k, v, 0.9),
    "causal_attention": lambda k, v: kvmem.causal_attention(k, k, v),
}

MEMORIES = {
    "CumulativeAverage": lambda: kvmem.CumulativeAverage(),
    "WindowAverage": lambda: kvmem.WindowAverage(2),
    "WeightedWindowAverage": lambda: kvmem.WeightedWindowAverage([1, 2]),
    "ExponentialAverage": lambda: kvmem.ExponentialAverage(0.9),
    "FullCache": lambda: kvmem.FullCache(),
    "SlidingWindow": lambda: kvmem.SlidingWindow(2),
    "SummaryWindow": lambda: kvmem.SummaryWindow(2),
    "FIFOMemory": lambda: kvmem.FIFOMemory(2),
    "CompressiveMemory": lambda: kvmem.CompressiveMemory(2, 2),
    "KNNMemory": lambda: kvmem.KNNMemory(2),
    "LinearAttention": lambda: kvmem.LinearAttention(),
    "DeltaRule": lambda: kvmem.DeltaRule(),
    "MLPMemory": lambda: kvmem.MLPMemory(),
    "RNNMemory": lambda: kvmem.RNNMemory(),
    "InfiniAttention": lambda: kvmem.InfiniAttention(2),
}

BAD_SEQUENCES = {
    "mismatched": (np.ones((4, 3)), np.ones((5, 3)), "same number of positions"),
    "empty": (np.ones((0, 3)), np.ones((0, 3)), "empty sequence"),
    "nan": (np.array([[1.0, np.nan, 0.0]] * 4), GOOD, "NaN"),
    "inf": (GOOD, np.array([[1.0, 0.0, np.inf]] * 4), "inf"),
    "1-D": (np.ones(4), np.ones(4), "2-D"),
    "3-D": (np.ones((4, 3, 1)), GOOD, "2-D"),
    "ragged": ([[1.0, 2.0], [3.0]], GOOD, "ragged|rectangular|could not be read"),
    "text": (np.array([["a", "b"]] * 4), GOOD, "numbers"),
    "complex": (GOOD * 1j, GOOD, "complex"),
}


@pytest.mark.parametrize("function", BATCH_FUNCTIONS, ids=str)
@pytest.mark.parametrize("case", BAD_SEQUENCES, ids=str)
def test_batch_functions_name_the_problem(function, case):
    keys, values, message = BAD_SEQUENCES[case]
    if function == "causal_attention" and case == "mismatched":
        message = "same number of positions|shape of keys"
    with pytest.raises(ValueError, match=message):
        BATCH_FUNCTIONS[function](keys, values)


@pytest.mark.parametrize("make", MEMORIES, ids=str)
def test_memories_name_bad_pairs_and_queries(make):
    memory = MEMORIES[make]()
    with pytest.raises(ValueError, match="empty: update it"):
        memory.read(np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        memory.update(np.array([1.0, np.nan, 0.0]), np.ones(3))
    with pytest.raises(ValueError, match="1-D"):
        memory.update(np.ones((2, 3)), np.ones(3))
    memory.update(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="dimension 3"):
        memory.update(np.ones(4), np.ones(2))
    with pytest.raises(ValueError, match="value must have dimension 2"):
        memory.update(np.ones(3), np.ones(5))
    with pytest.raises(ValueError, match="query must have dimension 3"):
        memory.read(np.ones(5))
    with pytest.raises(ValueError, match="inf"):
        memory.read(np.array([np.inf, 0, 0]))


@pytest.mark.parametrize("n_c", [0, -3, 2.5, True, "4", None])
def test_window_size_must_be_a_positive_integer(n_c):
    with pytest.raises(ValueError, match="n_c must be a positive integer"):
        kvmem.window_average(GOOD, GOOD, n_c)
    with pytest.raises(ValueError, match="n_c must be a positive integer"):
        kvmem.SlidingWindow(n_c)
    with pytest.raises(ValueError, match="n_c must be a positive integer"):
        kvmem.WindowAverage(n_c)


@pytest.mark.parametrize("beta", [[], [-1.0, 2.0], [0.0, 0.0], [[1.0, 2.0]]])
def test_window_weights_are_checked(beta):
    with pytest.raises(ValueError, match="beta"):
        kvmem.weighted_window_average(GOOD, GOOD, beta)


@pytest.mark.parametrize("beta", [1.0, -0.1, 1.5, float("nan")])
def test_ema_decay_must_lie_in_unit_interval(beta):
    with pytest.raises(ValueError, match="beta must"):
        kvmem.exponential_average(GOOD, GOOD, beta)
    with pytest.raises(ValueError, match="beta must"):
        kvmem.effective_window(beta)


def test_segment_sizes_are_checked():
    with pytest.raises(ValueError, match="n_s must be a positive integer"):
        kvmem.FIFOMemory(0)
    with pytest.raises(ValueError, match="c must be a positive integer"):
        kvmem.CompressiveMemory(4, -2)


def test_kv_cache_arguments_are_checked():
    with pytest.raises(ValueError, match="layers must be a positive integer"):
        kvmem.kv_bytes_per_token(0, 8, 128)
    with pytest.raises(ValueError, match="kind must be"):
        kvmem.memory_bytes(10, 100, kind="tree")


def test_integer_input_is_accepted_as_float():
    mem_keys, _ = kvmem.cumulative_average([[1, 2], [3, 4]], [[0], [2]])
    np.testing.assert_array_equal(mem_keys, [[1.0, 2.0], [2.0, 3.0]])
