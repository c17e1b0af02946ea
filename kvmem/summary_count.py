"""The hybrid read with a count: a summary pair that stands for m evicted pairs gets log m added
to its attention score, so that it weighs as much as the m pairs it replaces would if they all
had its key.

    scores: s_0 = q . k_bar / sqrt(d) + log m   (the average of the m pairs that left the window)
            s_j = q . k_j  / sqrt(d)            (the last n_c raw pairs)
    read:   softmax(s) applied to [v_bar; v_window]
"""

from __future__ import annotations

import numpy as np

from .attention import softmax
from .checks import as_sequence, as_vector, positive_int
from .cumavg import CumulativeAverage
from .memory import Memory, RingBuffer


def counted_weights(query: np.ndarray, keys: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """softmax_j(q . k_j / sqrt(d) + log c_j): attention where pair j stands for c_j pairs.

    With all counts 1 this is ordinary attention; a pair with count c weighs as much as c copies
    of itself, since exp(s + log c) = c exp(s)."""
    keys = as_sequence(keys, "keys")
    query = as_vector(query, "query", dim=keys.shape[1])
    counts = as_vector(counts, "counts", dim=keys.shape[0])
    if np.any(counts < 1):
        raise ValueError(f"counts must be >= 1: each is how many pairs a pair stands for; got {counts}")
    scores = keys @ query / np.sqrt(keys.shape[1]) + np.log(counts)
    return softmax(scores)


class CountedSummaryWindow(Memory):
    """Attention over [summary of the evicted pairs; last n_c pairs], the summary's score raised
    by log(count). With `log_count=False` the summary gets one pair's weight (chapter 2's read,
    but summarising only the evicted pairs)."""

    def __init__(self, n_c: int, log_count: bool = True) -> None:
        super().__init__()
        self.window = RingBuffer(positive_int(n_c, "n_c"))
        self.summary = CumulativeAverage()
        self.log_count = log_count

    def _update(self, key, value) -> None:
        evicted = self.window.push(key, value, self.count)
        if evicted is not None:
            self.summary.update(evicted[0], evicted[1])

    def pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(keys, values, counts) that a read attends over: the summary first, if there is one."""
        keys, values = self.window.keys, self.window.values
        counts = np.ones(len(keys))
        if self.summary.count:
            mem_key, mem_value = self.summary.mem
            keys, values = np.vstack([mem_key, keys]), np.vstack([mem_value, values])
            counts = np.concatenate([[self.summary.count if self.log_count else 1.0], counts])
        return keys, values, counts

    def read(self, query) -> np.ndarray:
        query = self._check_query(query)
        keys, values, counts = self.pairs()
        return counted_weights(query, keys, counts) @ values

    def _state(self) -> dict[str, np.ndarray]:
        summary = {f"summary_{name}": a for name, a in self.summary._state().items()}
        return {**summary, **self.window.pairs("")}

    @property
    def state_size(self) -> int:
        return self.window.size * ((self.d_k or 0) + (self.d_v or 0)) + self.summary.state_size
