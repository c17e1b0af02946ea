"""Four ways to take the mean of a long float32 stream, for the numerics of chapter 3."""

from __future__ import annotations

import math

import numpy as np

from .cumavg import RunningMean


def naive_sum_mean(stream: np.ndarray) -> float:
    """(x_0 + x_1 + ... + x_{n-1}) / n with a float32 running sum, added left to right.

    np.cumsum adds strictly left to right, so its last entry is that running sum.
    """
    return float(np.cumsum(stream, dtype=np.float32)[-1] / np.float32(len(stream)))


def _running_mean(stream: np.ndarray, compensated: bool) -> float:
    mean = RunningMean(compensated=compensated)
    for x in stream:
        mean.add(x)
    return float(mean.mean)


def incremental_mean(stream: np.ndarray) -> float:
    """m_i = m_{i-1} + (x_i - m_{i-1}) / (i+1) in float32."""
    return _running_mean(stream, compensated=False)


def compensated_mean(stream: np.ndarray) -> float:
    """The incremental update with Kahan compensation, in float32."""
    return _running_mean(stream, compensated=True)


def pairwise_mean(stream: np.ndarray) -> float:
    """np.mean in float32: numpy sums by pairwise (tree) summation."""
    return float(np.mean(stream, dtype=np.float32))


METHODS = {
    "naive sum": naive_sum_mean,
    "incremental update": incremental_mean,
    "pairwise (np.mean)": pairwise_mean,
    "compensated update": compensated_mean,
}


def exact_mean(stream: np.ndarray) -> float:
    """The reference: math.fsum adds the float32 numbers exactly, then one rounding to float64."""
    return math.fsum(stream.astype(np.float64)) / len(stream)


def relative_errors(stream: np.ndarray) -> dict[str, float]:
    """|method's mean - exact mean| / |exact mean| for each method."""
    stream = np.asarray(stream, dtype=np.float32)
    if stream.ndim != 1 or stream.size == 0:
        raise ValueError(f"stream must be a non-empty 1-D array; got shape {stream.shape}")
    if not np.all(np.isfinite(stream)):
        raise ValueError("stream contains NaN or inf")
    reference = exact_mean(stream)
    return {name: abs(method(stream) - reference) / abs(reference) for name, method in METHODS.items()}
