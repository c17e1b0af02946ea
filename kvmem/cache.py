"""Memories of raw pairs read by attention: the full KV cache and the sliding window."""

from __future__ import annotations

import numpy as np

from .attention import attend
from .memory import LastPairs, Memory, PairStore


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

    def _state(self) -> dict[str, np.ndarray]:
        return self.store.pairs("")


class SlidingWindow(LastPairs):
    """Mem = (K_{[i-n_c+1, i]}, V_{[i-n_c+1, i]}): the last n_c pairs, read by attention."""

    def read(self, query) -> np.ndarray:
        query = self._check_query(query)
        return attend(query, self.window.keys, self.window.values)
