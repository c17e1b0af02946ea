"""The cumulative average, checked against its definition computed directly."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import kvmem


def mean_of_prefixes(x: np.ndarray) -> np.ndarray:
    """The definition: row i is (1/(i+1)) * sum of rows 0..i, summed afresh for every i."""
    return np.array([x[: i + 1].sum(axis=0) / (i + 1) for i in range(x.shape[0])])


TOL = {np.float32: dict(rtol=2e-4, atol=2e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}


def sequences(dtype):
    shape = st.tuples(st.integers(1, 60), st.integers(1, 6))
    return arrays(dtype, shape, elements=st.floats(-100, 100, width=32))


@settings(max_examples=60, deadline=None)
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]))
def test_streaming_equals_batch_equals_definition(data, dtype):
    keys = data.draw(sequences(dtype))
    values = data.draw(arrays(dtype, (keys.shape[0], data.draw(st.integers(1, 4))),
                              elements=st.floats(-100, 100, width=32)))
    batch_keys, batch_values = kvmem.cumulative_average(keys, values)
    np.testing.assert_allclose(batch_keys, mean_of_prefixes(keys.astype(np.float64)), **TOL[dtype])
    np.testing.assert_allclose(batch_values, mean_of_prefixes(values.astype(np.float64)), **TOL[dtype])
    memory = kvmem.CumulativeAverage()
    for i in range(keys.shape[0]):
        memory.update(keys[i], values[i])
        np.testing.assert_allclose(memory.mem[0], batch_keys[i], **TOL[dtype])
        np.testing.assert_allclose(memory.mem[1], batch_values[i], **TOL[dtype])
    assert memory.mem[0].dtype == dtype


def test_prefix_mean_across_block_boundaries():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50_000, 3))  # several blocks of rows
    expected = np.cumsum(x, axis=0) / np.arange(1, x.shape[0] + 1)[:, None]
    np.testing.assert_allclose(kvmem.prefix_mean(x), expected, rtol=1e-9, atol=1e-12)


def test_prefix_mean_of_wide_rows():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(37, 20_000))  # the row-by-row path, in two column blocks
    expected = np.cumsum(x, axis=0) / np.arange(1, x.shape[0] + 1)[:, None]
    np.testing.assert_allclose(kvmem.prefix_mean(x), expected, rtol=1e-9, atol=1e-12)
    impulses = np.eye(3000)
    weights = kvmem.prefix_mean(impulses)
    assert weights[2999, 0] == weights[2999, 2999] == 1 / 3000


def test_prefix_mean_checks_out():
    with pytest.raises(ValueError, match="out must have the shape"):
        kvmem.prefix_mean(np.ones((3, 2)), out=np.empty((2, 3)))


def test_prefix_mean_writes_into_out():
    x = np.arange(12.0).reshape(6, 2)
    out = np.empty_like(x)
    assert kvmem.prefix_mean(x, out=out) is out
    np.testing.assert_array_equal(out[-1], x.mean(axis=0))


@pytest.mark.parametrize("n", [1, 2, 7, 100])
def test_every_token_weighs_one_over_i_plus_one(n):
    # Feed the impulses e_0, ..., e_{n-1}: coordinate j of Mem_i is the weight of token j.
    impulses = np.eye(n)
    weights, _ = kvmem.cumulative_average(impulses, impulses)
    for i in range(n):
        assert np.all(weights[i, : i + 1] == 1.0 / (i + 1))
        assert np.all(weights[i, i + 1:] == 0.0)
    memory = kvmem.CumulativeAverage()
    kvmem.run(memory, impulses, impulses)
    np.testing.assert_allclose(memory.mem[0], np.full(n, 1.0 / n), rtol=1e-14)


def test_first_and_last_of_100_weigh_the_same():
    impulses = np.eye(100)
    weights, _ = kvmem.cumulative_average(impulses, impulses)
    assert weights[99, 0] == weights[99, 99] == 1 / 100


def test_read_of_one_averaged_pair_ignores_the_query():
    rng = np.random.default_rng(1)
    keys, values = rng.normal(size=(20, 4)), rng.normal(size=(20, 3))
    memory = kvmem.CumulativeAverage()
    kvmem.run(memory, keys, values)
    for query in rng.normal(size=(5, 4)) * 10:
        np.testing.assert_allclose(memory.read(query), values.mean(axis=0), rtol=1e-12)


def test_compensated_float32_stream_beats_the_plain_update():
    rng = np.random.default_rng(2)
    stream = (1.0 + 0.01 * rng.standard_normal(300_000)).astype(np.float32)[:, None]
    reference = stream.astype(np.float64).mean()
    errors = {}
    for compensated in (False, True):
        mean = kvmem.RunningMean(compensated=compensated)
        for x in stream:
            mean.add(x)
        assert mean.mean.dtype == np.float32
        errors[compensated] = abs(float(mean.mean[0]) - reference) / reference
    assert errors[True] < 1e-6
    assert errors[True] < errors[False]


def test_state_size_is_fixed():
    memory = kvmem.CumulativeAverage()
    rng = np.random.default_rng(3)
    kvmem.run(memory, rng.normal(size=(10, 5)), rng.normal(size=(10, 2)))
    size = memory.state_size
    kvmem.run(memory, rng.normal(size=(1000, 5)), rng.normal(size=(1000, 2)))
    assert memory.state_size == size == 7


def test_influence_of_the_cumulative_average_and_of_a_window():
    weights = kvmem.influence(kvmem.cumulative_average, 6)
    np.testing.assert_allclose(weights, np.tril(np.ones((6, 6))) / np.arange(1, 7)[:, None])
    window = kvmem.influence(lambda k, v: kvmem.window_average(k, v, 2), 4)
    np.testing.assert_allclose(window, [[1, 0, 0, 0], [0.5, 0.5, 0, 0], [0, 0.5, 0.5, 0], [0, 0, 0.5, 0.5]])


def running_sum_means(x: np.ndarray) -> np.ndarray:
    """A second algorithm: one float64 running sum, row by row, divided by i + 1."""
    out = np.empty(x.shape)
    total = np.zeros(x.shape[1])
    for i, row in enumerate(x.astype(np.float64)):
        total += row
        out[i] = total / (i + 1)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, d", [(1, 64), (31, 64), (32, 64), (2048, 64), (2081, 64), (8192, 64),
                                  (16_384, 64), (16_417, 64), (40_000, 64), (40_000, 3), (5000, 2047)])
def test_blocked_prefix_mean_across_chunks_and_blocks(n, d, dtype):
    """Lengths around the block (32 rows) and chunk sizes (4 MiB: 8,192 float64 or 16,384 float32
    rows of dimension 64), partial last chunks included."""
    x = np.random.default_rng(n + d).normal(size=(n, d)).astype(dtype)
    got = kvmem.prefix_mean(x)
    assert got.dtype == dtype
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(got, running_sum_means(x), **tol)


def test_float32_values_near_the_largest_float32_have_a_mean():
    """Their sums overflow float32, their means do not: the batch form returns the means."""
    rng = np.random.default_rng(4)
    keys = (rng.uniform(1.0, 3.0, size=(5000, 3)) * 1e38).astype(np.float32)
    values = -keys[:, :2]
    mem_keys, mem_values = kvmem.cumulative_average(keys, values)
    assert mem_keys.dtype == np.float32 and np.all(np.isfinite(mem_keys))
    np.testing.assert_allclose(mem_keys, running_sum_means(keys), rtol=1e-5)
    np.testing.assert_allclose(mem_values, running_sum_means(values), rtol=1e-5)


def test_nan_input_is_still_named_after_an_overflow_check():
    x = np.ones((100, 2), dtype=np.float32)
    x[37, 1] = np.nan
    with pytest.raises(ValueError, match=r"keys contains NaN \(first at index \(37, 1\)\)"):
        kvmem.cumulative_average(x, np.ones((100, 1)))


def test_an_overflow_inside_one_block_is_not_missed():
    """Sums that overflow float32 in the middle of the sequence and come back down: 2e38 in
    rows 0..7, then +2.5e37 eight times and -2.5e37 eight times. The last sum is finite; every
    prefix mean is finite, and so must the results be."""
    x = np.zeros((10_000, 64), dtype=np.float32)
    x[0:8] = 2.5e37
    x[32:40] = 2.5e37
    x[40:48] = -2.5e37
    got = kvmem.prefix_mean(x)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, running_sum_means(x), rtol=1e-5, atol=2.5e37 * 1e-6)  # float32 rounding


@pytest.mark.parametrize("n", [1, 2, 8, 30])
def test_weights_read_off_the_recursion_telescope(n):
    """Fig. 3.1: the weights the running mean gives every token at every step equal the product
    (1/(j+1)) prod_{t=j+1}^{i} t/(t+1) of Theorem 3.2, computed exactly with fractions."""
    from fractions import Fraction
    from math import prod

    from kvmem.plots import recursion_weights

    weights = recursion_weights(n)
    for i in range(n):
        for j in range(n):
            product = Fraction(1, j + 1) * prod((Fraction(t, t + 1) for t in range(j + 1, i + 1)), start=Fraction(1))
            assert weights[i, j] == pytest.approx(float(product) if j <= i else 0.0, rel=1e-14, abs=0.0)


@pytest.mark.parametrize("seed", [0, 1])
def test_float32_prefix_means_of_a_long_stream_stay_accurate(seed):
    """3 million float32 numbers in [0, 1) (one column: chunks of 1,048,576 rows, a partial
    last chunk): every prefix mean within 3e-6 of the float64 running sum's. The blocks keep the
    additions onto the large running total few; a plain float32 running sum, or the partial last
    chunk summed as one chain, is off by 4e-6 to 1.2e-5 somewhere on these streams."""
    x = np.random.default_rng(seed).random((3_000_000, 1), dtype=np.float32)
    reference = np.cumsum(x[:, 0], dtype=np.float64) / np.arange(1, x.shape[0] + 1)
    got = kvmem.prefix_mean(x)[:, 0]
    assert got.dtype == np.float32
    assert np.max(np.abs(got - reference) / reference) < 3e-6
