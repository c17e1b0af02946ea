"""Averages that forget on purpose: the window, the weighted window and the exponential average.

    window:           Mem_i = (1/n_c) sum_{j=i-n_c+1}^{i} (k_j, v_j)
    weighted window:  Mem_i = sum_{m=1}^{n_c} beta_m (k_{i-n_c+m}, v_{i-n_c+m}) / sum_m beta_m
    exponential:      Mem_i = beta Mem_{i-1} + (1 - beta) (k_i, v_i),  Mem_{-1} = 0

beta_1 weighs the oldest pair of the window and beta_{n_c} the newest. Before the window is
full (i < n_c - 1) the window averages use the pairs there are: the plain window divides by
i + 1, the weighted window keeps the newest i + 1 weights and normalises them.
"""

from __future__ import annotations

import numpy as np

from .checks import as_pair_sequences, as_vector, positive_int, unit_interval
from .memory import AveragedPair, LastPairs


def window_weights(beta) -> np.ndarray:
    """beta_m / sum(beta): the normalised weights, oldest pair first.

    The newest weight beta_{n_c} must be > 0: before the window is full, position 0 is
    averaged with beta_{n_c} alone, and a total weight of 0 has no average.
    """
    beta = as_vector(beta, "beta")
    if (beta < 0).any():
        raise ValueError(f"window weights beta must be >= 0; got {beta}")
    total = beta.sum()
    if total <= 0:
        raise ValueError("window weights beta must not all be zero")
    if beta[-1] == 0:
        raise ValueError(f"the newest window weight beta_{beta.shape[0]} must be > 0 (got beta = {beta}): "
                         "before the window is full, position 0 is averaged with the newest weight alone")
    return beta / total


def _accumulator(x: np.ndarray) -> np.dtype:
    """Sums are taken in float64 at least (float32 windows then round once, at the end)."""
    return np.promote_types(x.dtype, np.float64)


def _window_sums(x: np.ndarray, n_c: int) -> np.ndarray:
    """Row i: the sum of rows max(0, i-n_c+1)..i, each window summed from its own rows.

    Cut the rows into blocks of n_c. A window ending at row r of block b is the tail of block
    b - 1 after row r plus the head of block b up to row r: a suffix sum plus a prefix sum,
    each over fewer than n_c rows. So the error is that of summing the window itself, at any
    position (a running sum minus a lagged running sum loses digits as the sums grow).
    """
    n, d = x.shape
    n_c = min(n_c, n)  # a window longer than the sequence holds every row so far
    blocks = -(-n // n_c)
    padded = np.zeros((blocks * n_c, d), dtype=_accumulator(x))
    padded[:n] = x
    padded = padded.reshape(blocks, n_c, d)
    heads = np.cumsum(padded, axis=1)                       # rows 0..r of each block
    tails = np.cumsum(padded[:, ::-1], axis=1)[:, ::-1]     # rows r..n_c-1 of each block
    sums = heads
    sums[1:, :-1] += tails[:-1, 1:]                         # rows r+1..n_c-1 of the block before
    return sums.reshape(-1, d)[:n]


def _window_mean(x: np.ndarray, n_c: int) -> np.ndarray:
    """Row i: mean of rows max(0, i-n_c+1)..i, in the dtype of x."""
    counts = np.minimum(np.arange(1, x.shape[0] + 1), n_c)
    return (_window_sums(x, n_c) / counts[:, None]).astype(x.dtype)


def window_average(keys, values, n_c: int) -> tuple[np.ndarray, np.ndarray]:
    """The window average at every position (batch), in the dtype of the input."""
    keys, values = as_pair_sequences(keys, values)
    n_c = positive_int(n_c, "n_c")
    return _window_mean(keys, n_c), _window_mean(values, n_c)


def _weighted_window_mean(x: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Each window's weighted sum taken directly (float64 at least), in the dtype of x."""
    n_c = beta.shape[0]
    x_acc = x.astype(_accumulator(x), copy=False)
    out = np.empty_like(x)
    for i in range(min(n_c - 1, x.shape[0])):  # windows that are not full yet
        w = beta[n_c - 1 - i:]
        out[i] = w @ x_acc[: i + 1] / w.sum()
    if x.shape[0] >= n_c:
        windows = np.lib.stride_tricks.sliding_window_view(x_acc, n_c, axis=0)  # (n-n_c+1, d, n_c)
        out[n_c - 1:] = windows @ (beta / beta.sum())
    return out


def weighted_window_average(keys, values, beta) -> tuple[np.ndarray, np.ndarray]:
    """The weighted window average at every position (batch); n_c = len(beta)."""
    keys, values = as_pair_sequences(keys, values)
    beta = as_vector(beta, "beta")
    window_weights(beta)  # checks the weights
    return _weighted_window_mean(keys, beta), _weighted_window_mean(values, beta)


def _exponential_mean(x: np.ndarray, beta: float, bias_correction: bool) -> np.ndarray:
    out = np.empty_like(x)
    mem = np.zeros(x.shape[1], dtype=x.dtype)
    for i in range(x.shape[0]):
        mem = beta * mem + (1 - beta) * x[i]
        out[i] = mem
    if bias_correction:
        out /= (1 - beta ** np.arange(1, x.shape[0] + 1))[:, None]
    return out


def exponential_average(keys, values, beta: float, bias_correction: bool = False):
    """The exponential moving average at every position (batch).

    The weight of pair i-j in Mem_i is (1 - beta) beta^j. With bias correction Mem_i is divided
    by 1 - beta^{i+1}, the total weight of the i + 1 pairs seen, so the weights sum to 1.
    """
    keys, values = as_pair_sequences(keys, values)
    beta = unit_interval(beta, "beta")
    return _exponential_mean(keys, beta, bias_correction), _exponential_mean(values, beta, bias_correction)


def effective_window(beta: float) -> float:
    """1 / (1 - beta): the window whose plain average has the same weight on the newest pair."""
    return 1.0 / (1.0 - unit_interval(beta, "beta"))


def half_life(beta: float) -> float:
    """ln 0.5 / ln beta: after this many steps a pair weighs half as much as when it arrived."""
    beta = unit_interval(beta, "beta", closed_left=False)
    return float(np.log(0.5) / np.log(beta))


class WindowAverage(LastPairs, AveragedPair):
    """Streaming window average: a FIFO of the last n_c raw pairs, averaged when read."""

    def _mem(self):
        return self.window.keys.mean(axis=0), self.window.values.mean(axis=0)


class WeightedWindowAverage(WindowAverage):
    """Streaming weighted window average with weights beta_1 (oldest) .. beta_{n_c} (newest)."""

    def __init__(self, beta) -> None:
        self.beta = window_weights(beta)
        super().__init__(self.beta.shape[0])

    def _mem(self):
        w = self.beta[self.n_c - self.window.size:]
        w = w / w.sum()
        return w @ self.window.keys, w @ self.window.values


class ExponentialAverage(AveragedPair):
    """Streaming exponential moving average: Mem_i = beta Mem_{i-1} + (1 - beta)(k_i, v_i)."""

    def __init__(self, beta: float, bias_correction: bool = False) -> None:
        super().__init__()
        self.beta = unit_interval(beta, "beta")
        self.bias_correction = bias_correction
        self._key = self._value = None

    def _update(self, key, value) -> None:
        if self._key is None:
            self._key, self._value = np.zeros_like(key), np.zeros_like(value)
        self._key = self.beta * self._key + (1 - self.beta) * key
        self._value = self.beta * self._value + (1 - self.beta) * value

    def _mem(self):
        scale = 1 - self.beta**self.count if self.bias_correction else 1.0
        return self._key / scale, self._value / scale

    def _state(self) -> dict[str, np.ndarray]:
        # the uncorrected average: the bias correction is applied when it is read
        return {} if self._key is None else {"key": self._key, "value": self._value}
