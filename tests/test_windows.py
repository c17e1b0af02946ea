"""Window, weighted window and exponential averages against their definitions."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kvmem


def window_by_definition(x, n_c):
    return np.array([x[max(0, i - n_c + 1): i + 1].mean(axis=0) for i in range(len(x))])


def weighted_by_definition(x, beta):
    """sum_m beta_m x_{i-n_c+m} / sum_m beta_m over the pairs that exist (m = 1 .. n_c)."""
    n_c = len(beta)
    out = []
    for i in range(len(x)):
        num, den = 0.0, 0.0
        for m in range(1, n_c + 1):
            j = i - n_c + m
            if j >= 0:
                num = num + beta[m - 1] * x[j]
                den += beta[m - 1]
        out.append(num / den)
    return np.array(out)


def test_window_worked_example():
    # The design's example: a window of 3 at i = 4 over keys [1,2],[3,4],[5,6],[7,8] at positions 1..4.
    keys = np.array([[100, -100], [1, 2], [3, 4], [5, 6], [7, 8]], dtype=float)
    values = np.array([[0, 0], [10, 11], [12, 13], [14, 15], [16, 17]], dtype=float)
    mem_keys, mem_values = kvmem.window_average(keys, values, n_c=3)
    np.testing.assert_array_equal(mem_keys[4], [5, 6])
    np.testing.assert_array_equal(mem_values[4], [14, 15])


def test_weighted_window_worked_example():
    keys = np.array([[9, 9], [9, 9], [9, 9], [2, 4], [1, 3], [5, 0]], dtype=float)
    mem_keys, _ = kvmem.weighted_window_average(keys, keys, beta=[0.1, 0.3, 0.6])
    np.testing.assert_allclose(mem_keys[5], [3.5, 1.3], rtol=1e-12)
    memory = kvmem.WeightedWindowAverage([0.1, 0.3, 0.6])
    kvmem.run(memory, keys, keys)
    np.testing.assert_allclose(memory.mem[0], [3.5, 1.3], rtol=1e-12)


def test_weights_are_normalised_by_their_sum():
    keys = np.array([[2.0], [1.0], [5.0]])
    unnormalised, _ = kvmem.weighted_window_average(keys, keys, beta=[1, 3, 6])
    normalised, _ = kvmem.weighted_window_average(keys, keys, beta=[0.1, 0.3, 0.6])
    np.testing.assert_allclose(unnormalised, normalised)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 30), d=st.integers(1, 4), n_c=st.integers(1, 8), seed=st.integers(0, 1000))
def test_window_average_batch_and_streaming_equal_definition(n, d, n_c, seed):
    rng = np.random.default_rng(seed)
    keys, values = rng.normal(size=(n, d)), rng.normal(size=(n, d + 1))
    mem_keys, mem_values = kvmem.window_average(keys, values, n_c)
    np.testing.assert_allclose(mem_keys, window_by_definition(keys, n_c), atol=1e-12)
    np.testing.assert_allclose(mem_values, window_by_definition(values, n_c), atol=1e-12)
    memory = kvmem.WindowAverage(n_c)
    for i in range(n):
        memory.update(keys[i], values[i])
        np.testing.assert_allclose(memory.mem[0], mem_keys[i], atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 30), n_c=st.integers(1, 6), seed=st.integers(0, 1000))
def test_weighted_window_batch_and_streaming_equal_definition(n, n_c, seed):
    rng = np.random.default_rng(seed)
    keys = rng.normal(size=(n, 3))
    beta = rng.uniform(0.1, 1.0, n_c)
    mem_keys, _ = kvmem.weighted_window_average(keys, keys, beta)
    np.testing.assert_allclose(mem_keys, weighted_by_definition(keys, beta), atol=1e-12)
    memory = kvmem.WeightedWindowAverage(beta)
    for i in range(n):
        memory.update(keys[i], keys[i])
        np.testing.assert_allclose(memory.mem[0], mem_keys[i], atol=1e-12)


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.99])
def test_ema_weights_are_one_minus_beta_times_beta_to_the_j(beta):
    n = 40
    impulses = np.eye(n)  # coordinate j of Mem_i is the weight of pair j
    weights, _ = kvmem.exponential_average(impulses, impulses, beta)
    i = n - 1
    expected = (1 - beta) * beta ** (i - np.arange(n))
    np.testing.assert_allclose(weights[i], expected, rtol=1e-12, atol=1e-300)
    memory = kvmem.ExponentialAverage(beta)
    kvmem.run(memory, impulses, impulses)
    np.testing.assert_allclose(memory.mem[0], expected, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("beta", [0.5, 0.9, 0.99])
def test_bias_correction_makes_the_weights_sum_to_one(beta):
    constant = np.full((25, 2), 3.0)
    corrected, _ = kvmem.exponential_average(constant, constant, beta, bias_correction=True)
    np.testing.assert_allclose(corrected, constant, rtol=1e-12)
    plain, _ = kvmem.exponential_average(constant, constant, beta)
    np.testing.assert_allclose(plain[:, 0], 3.0 * (1 - beta ** np.arange(1, 26)), rtol=1e-12)
    memory = kvmem.ExponentialAverage(beta, bias_correction=True)
    kvmem.run(memory, constant, constant)
    np.testing.assert_allclose(memory.mem[0], [3.0, 3.0], rtol=1e-12)


@pytest.mark.parametrize("beta", [0.5, 0.9, 0.99, 0.999])
def test_effective_window_and_half_life(beta):
    n_eff = kvmem.effective_window(beta)
    # The newest pair weighs 1 - beta, as in a plain window of 1 / (1 - beta) pairs ...
    assert n_eff == pytest.approx(1 / (1 - beta))
    # ... and the weights (1 - beta) beta^j sum to 1 over j = 0, 1, 2, ...
    j = np.arange(200_000)
    assert np.sum((1 - beta) * beta**j) == pytest.approx(1.0, rel=1e-9)
    # The mean age of a pair, sum_j j (1 - beta) beta^j, is beta / (1 - beta) = n_eff - 1.
    assert np.sum(j * (1 - beta) * beta**j) == pytest.approx(n_eff - 1, rel=1e-6)
    h = kvmem.half_life(beta)
    assert beta**h == pytest.approx(0.5)


def direct_window_means(x: np.ndarray, n_c: int) -> np.ndarray:
    """The definition in float64: add the n_c shifted copies of the rows, divide by the count."""
    x = x.astype(np.float64)
    sums = np.zeros_like(x)
    for m in range(min(n_c, x.shape[0])):
        sums[m:] += x[: x.shape[0] - m]
    return sums / np.minimum(np.arange(1, x.shape[0] + 1), n_c)[:, None]


@pytest.mark.parametrize("n_c", [3, 257])
def test_float32_window_average_is_exact_at_a_million_positions(n_c):
    """Each window stays within one float32 ulp of its own sum, however far along it is."""
    rng = np.random.default_rng(10)
    keys = (1.0 + 0.01 * rng.standard_normal((1_000_000, 2))).astype(np.float32)
    values = (50.0 + rng.standard_normal((1_000_000, 1))).astype(np.float32)
    mem_keys, mem_values = kvmem.window_average(keys, values, n_c)
    assert mem_keys.dtype == mem_values.dtype == np.float32
    for got, x in ((mem_keys, keys), (mem_values, values)):
        expected = direct_window_means(x, n_c)
        ulps = np.abs(got - expected) / np.spacing(expected.astype(np.float32))
        assert ulps.max() <= 1.0


def test_float64_windows_far_from_zero_are_exact():
    """Data near 10^6 with n_c = 3: each window against math.fsum of its own three rows."""
    import math

    rng = np.random.default_rng(11)
    x = 1e6 + rng.standard_normal((20_000, 1))
    got, _ = kvmem.window_average(x, x, 3)
    expected = np.array([math.fsum(x[max(0, i - 2): i + 1, 0]) / min(i + 1, 3) for i in range(len(x))])
    assert (np.abs(got[:, 0] - expected) / np.spacing(expected)).max() <= 4


def test_window_longer_than_the_sequence_is_the_cumulative_average():
    rng = np.random.default_rng(12)
    x = rng.normal(size=(7, 3))
    got, _ = kvmem.window_average(x, x, 10**9)
    np.testing.assert_allclose(got, np.cumsum(x, axis=0) / np.arange(1, 8)[:, None], rtol=1e-12)


BATCH = {
    "cumulative_average": lambda k, v: kvmem.cumulative_average(k, v),
    "window_average": lambda k, v: kvmem.window_average(k, v, 3),
    "weighted_window_average": lambda k, v: kvmem.weighted_window_average(k, v, [0.1, 0.3, 0.6]),
    "exponential_average": lambda k, v: kvmem.exponential_average(k, v, 0.9),
    "exponential_average (bias corrected)": lambda k, v: kvmem.exponential_average(k, v, 0.9, True),
}


@pytest.mark.parametrize("function", BATCH, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_functions_keep_the_dtype(function, dtype):
    rng = np.random.default_rng(13)
    keys, values = rng.normal(size=(2, 20, 4)).astype(dtype)
    mem_keys, mem_values = BATCH[function](keys, values)
    assert mem_keys.dtype == mem_values.dtype == dtype
    as_float64 = BATCH[function](keys.astype(np.float64), values.astype(np.float64))[0]
    np.testing.assert_allclose(mem_keys, as_float64, rtol=1e-5, atol=1e-6)


def test_weighted_window_with_newest_weight_zero_is_refused():
    with pytest.raises(ValueError, match="newest window weight beta_3 must be > 0"):
        kvmem.weighted_window_average(np.ones((5, 2)), np.ones((5, 2)), [1.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="newest window weight beta_2 must be > 0"):
        kvmem.WeightedWindowAverage([1.0, 0.0])


def test_float32_weighted_window_is_exact_at_a_million_positions():
    beta = np.array([0.1, 0.3, 0.6])
    rng = np.random.default_rng(14)
    x = (1.0 + 0.01 * rng.standard_normal((1_000_000, 2))).astype(np.float32)
    got, _ = kvmem.weighted_window_average(x, x, beta)
    assert got.dtype == np.float32
    x64, w = x.astype(np.float64), beta / beta.sum()
    expected = np.empty_like(x64)  # the definition in float64: the newest weights, normalised
    expected[0] = x64[0]
    expected[1] = (0.3 * x64[0] + 0.6 * x64[1]) / 0.9
    expected[2:] = w[0] * x64[:-2] + w[1] * x64[1:-1] + w[2] * x64[2:]
    assert (np.abs(got - expected) / np.spacing(expected.astype(np.float32))).max() <= 1.0


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.99])
def test_bias_corrected_ema_is_the_incremental_update_with_a_step_that_settles(beta):
    """Chapter 4: Mem_i / (1 - beta^(i+1)) = previous + (1 - beta) / (1 - beta^(i+1)) (x_i - previous),
    the recursion of chapter 3 with another step, checked against ExponentialAverage."""
    x = np.random.default_rng(3).normal(size=(40, 3))
    memory = kvmem.ExponentialAverage(beta, bias_correction=True)
    mem = np.full(3, 123.0)  # any start: the first step is 1
    for i in range(len(x)):
        memory.update(x[i], x[i])
        mem = mem + (1 - beta) / (1 - beta ** (i + 1)) * (x[i] - mem)
        np.testing.assert_allclose(memory.mem[0], mem, rtol=1e-12, atol=1e-12)
