"""Memories of raw pairs read by attention: the full KV cache and the sliding window."""

from __future__ import annotations

import numpy as np

from .attention import attend
from .checks import positive_int
from .memory import Memory, PairStore, RingBuffer


class FullCache(Memory):
    """Mem = (K_{<=i}, V_{<=i}): standard causal attention. It grows by one pair per token."""

    def __init__(self) -> None:
        super().__init__()
        self.store = PairStore()

    def _update(self, key, value) -> None:
        self.store.append(key, value)

    def read(self, query) -> np.ndarray:
        query = self._check_query(query)
        return attend(query, self.store.keys, self.store.values)

    @property
    def state_size(self) -> int:
        return self.count * ((self.d_k or 0) + (self.d_v or 0))


class SlidingWindow(Memory):
    """Mem = (K_{[i-n_c+1, i]}, V_{[i-n_c+1, i]}): the last n_c pairs, read by attention."""

    def __init__(self, n_c: int) -> None:
        super().__init__()
        self.n_c = positive_int(n_c, "n_c")
        self.window = RingBuffer(self.n_c)

    def _update(self, key, value) -> None:
        self.window.push(key, value, self.count)

    def read(self, query) -> np.ndarray:
        query = self._check_query(query)
        return attend(query, self.window.keys, self.window.values)

    @property
    def state_size(self) -> int:
        return self.window.size * ((self.d_k or 0) + (self.d_v or 0))
