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
    "GatedLinearMemory": lambda: kvmem.GatedLinearMemory(kvmem.recurrence.retnet(0.9)),
    "CountedSummaryWindow": lambda: kvmem.CountedSummaryWindow(2),
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


def test_knn_gate_of_the_wrong_length_is_named():
    memory = kvmem.KNNMemory(n_c=2, gate=[0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="the gate g has 3 entries, but the values have dimension 2"):
        memory.update(np.ones(4), np.ones(2))
    with pytest.raises(ValueError, match="gate g must be a number or a vector"):
        kvmem.KNNMemory(n_c=2, gate=np.full((2, 2), 0.5))


def test_knn_retrieve_before_anything_left_the_window():
    memory = kvmem.KNNMemory(n_c=3)
    with pytest.raises(ValueError, match="empty: update it"):
        memory.retrieve(np.ones(2))
    kvmem.run(memory, np.ones((3, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="the kNN store is empty.*only 3 pairs have been seen"):
        memory.retrieve(np.ones(2))
    memory.update(np.ones(2), np.ones(2))  # the first pair leaves the window
    assert memory.retrieve(np.ones(2))[0].shape == (1, 2)


@pytest.mark.parametrize("bad, message", [
    (np.array([1.0, np.nan]), "x contains NaN"),
    (np.array([np.inf, 1.0]), "x contains inf"),
    (np.ones((2, 2)), "number or a 1-D vector"),
    ("1.0", "must hold numbers"),
    ([1.0, [2.0]], "ragged|rectangular|could not be read"),
])
def test_running_mean_names_bad_entries(bad, message):
    mean = kvmem.RunningMean()
    with pytest.raises(ValueError, match=message):
        mean.add(bad)


def test_running_mean_takes_integers_and_lists_as_float64_and_checks_the_shape():
    mean = kvmem.RunningMean(compensated=True)
    mean.add([1, 2])
    mean.add(np.array([4, 8]))
    assert mean.mean.dtype == np.float64 and mean.mean.tolist() == [2.5, 5.0]  # (1+4)/2, (2+8)/2
    with pytest.raises(ValueError, match=r"x must have the shape \(2,\) of the entries before it"):
        mean.add([1.0, 2.0, 3.0])


@pytest.mark.parametrize("method", ["naive_sum_mean", "incremental_mean", "compensated_mean", "pairwise_mean"])
def test_means_of_an_empty_or_bad_stream_are_refused(method):
    mean_of = getattr(kvmem.numerics, method)
    with pytest.raises(ValueError, match="stream is empty"):
        mean_of(np.zeros(0, dtype=np.float32))
    with pytest.raises(ValueError, match="stream contains NaN"):
        mean_of(np.array([1.0, np.nan], dtype=np.float32))
    with pytest.raises(ValueError, match="1-D"):
        mean_of(np.ones((2, 2), dtype=np.float32))


def test_a_diverging_delta_rule_stops_with_its_cause():
    """phi = identity with keys of length 3: each write scales the error by 1 - 9 = -8."""
    memory = kvmem.DeltaRule(beta=1.0, phi="identity")
    rng = np.random.default_rng(20)
    keys = rng.normal(size=(2000, 4))
    keys *= 3 / np.linalg.norm(keys, axis=1, keepdims=True)
    with pytest.raises(ValueError, match=r"delta rule diverged at position \d+.*beta \* \|\|phi\(k\)\|\|\^2 = 9"):
        kvmem.run(memory, keys, rng.normal(size=(2000, 2)))
    assert np.all(np.isfinite(memory.W))  # the last finite state is kept
