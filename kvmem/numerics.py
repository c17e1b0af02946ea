"""Four ways to take the mean of a long float32 stream, for the numerics of chapter 3."""

from __future__ import annotations

import math

import numpy as np

from .checks import as_stream
from .cumavg import RunningMean


def naive_sum_mean(stream: np.ndarray) -> float:
    """(x_0 + x_1 + ... + x_{n-1}) / n with a float32 running sum, added left to right.

    np.cumsum adds strictly left to right, so its last entry is that running sum.
    """
    stream = as_stream(stream)
    return float(np.cumsum(stream, dtype=np.float32)[-1] / np.float32(len(stream)))


def _running_mean(stream, compensated: bool) -> float:
    stream = as_stream(stream)  # checked once here, so each step can skip the check
    mean = RunningMean(compensated=compensated)
    for x in stream:
        mean._add(x)
    return float(mean.mean)


def incremental_mean(stream: np.ndarray) -> float:
    """m_i = m_{i-1} + (x_i - m_{i-1}) / (i+1) in float32."""
    return _running_mean(stream, compensated=False)


def compensated_mean(stream: np.ndarray) -> float:
    """The incremental update with Kahan compensation, in float32."""
    return _running_mean(stream, compensated=True)


def pairwise_mean(stream: np.ndarray) -> float:
    """np.mean in float32: numpy sums by pairwise (tree) summation."""
    stream = as_stream(stream)
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
    stream = as_stream(stream).astype(np.float32, copy=False)
    reference = exact_mean(stream)
    return {name: abs(method(stream) - reference) / abs(reference) for name, method in METHODS.items()}
