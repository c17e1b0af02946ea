"""The cumulative average of keys and values, batch and streaming.

    Mem_i = ( (1/(i+1)) sum_{j<=i} k_j , (1/(i+1)) sum_{j<=i} v_j )            (batch)
    Mem_i = Mem_{i-1} + ((k_i, v_i) - Mem_{i-1}) / (i+1)                       (recursive)
"""

from __future__ import annotations

import numpy as np

from .checks import as_pair_sequences, as_sequence
from .memory import AveragedPair

# Rows per block in `prefix_mean`: a block of a few hundred KiB stays in cache while it is
# summed, offset and scaled, so the whole array is read and written once.
_BLOCK_BYTES = 1 << 18


def prefix_mean(x, out: np.ndarray | None = None) -> np.ndarray:
    """All prefix means of the rows of x: out[i] = (1/(i+1)) sum_{j<=i} x[j], by prefix sums."""
    x = as_sequence(x, "x")
    if out is None:
        out = np.empty_like(x)
    n, d = x.shape
    rows = max(1, _BLOCK_BYTES // (d * x.itemsize))
    running = np.zeros(d, dtype=x.dtype)  # sum of all rows before the block
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        block = out[start:stop]
        np.cumsum(x[start:stop], axis=0, out=block)
        block += running
        running = block[-1].copy()
        block /= np.arange(start + 1, stop + 1, dtype=x.dtype)[:, None]
    return out


def cumulative_average(keys, values) -> tuple[np.ndarray, np.ndarray]:
    """Mem_i for every prefix at once: row i of each result is (1/(i+1)) sum_{j<=i} of the rows."""
    keys, values = as_pair_sequences(keys, values)
    return prefix_mean(keys), prefix_mean(values)


class RunningMean:
    """m_i = m_{i-1} + (x_i - m_{i-1}) / (i+1): O(d) time and state per step.

    With `compensated=True` each addition carries its rounding error forward (Kahan), so a long
    float32 stream keeps the accuracy of the float32 format instead of drifting.
    """

    def __init__(self, compensated: bool = False) -> None:
        self.compensated = compensated
        self.count = 0
        self.mean: np.ndarray | None = None
        self._carry: np.ndarray | None = None  # rounding error not yet added back

    def add(self, x: np.ndarray) -> None:
        if self.mean is None:
            self.mean = np.zeros_like(x)
            self._carry = np.zeros_like(x)
        self.count += 1
        step = (x - self.mean) / x.dtype.type(self.count)
        if not self.compensated:
            self.mean += step
            return
        step -= self._carry
        total = self.mean + step
        self._carry = (total - self.mean) - step
        self.mean = total


class CumulativeAverage(AveragedPair):
    """The streaming cumulative average: one averaged pair, updated by the recursive formula.

    Keeps the dtype of the first pair (float32 stays float32). The read Att(q, Mem) over a
    single pair gives that pair's value whatever the query is.
    """

    def __init__(self, compensated: bool = False) -> None:
        super().__init__()
        self._keys = RunningMean(compensated)
        self._values = RunningMean(compensated)

    def _update(self, key, value) -> None:
        self._keys.add(key)
        self._values.add(value)

    def _mem(self):
        return self._keys.mean, self._values.mean
