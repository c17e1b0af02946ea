"""Hybrid reads: a long-term summary beside a local window of raw pairs."""

from __future__ import annotations

import numpy as np

from .attention import attend
from .cache import SlidingWindow
from .checks import positive_int, unit_interval
from .cumavg import CumulativeAverage
from .memory import Memory, RingBuffer, concat_pairs
from .neural import LinearAttention


class SummaryWindow(Memory):
    """Attention over [summary; local window]: the cumulative average of all pairs so far (the
    window's own pairs included), as one extra pair, in front of the last n_c raw pairs. The
    window lets the query choose; the summary keeps a trace of everything seen.
    """

    def __init__(self, n_c: int) -> None:
        super().__init__()
        self.summary = CumulativeAverage()
        self.local = SlidingWindow(n_c)

    def _update(self, key, value) -> None:
        self.summary.update(key, value)
        self.local.update(key, value)

    def read(self, query) -> np.ndarray:
        query = self._check_query(query)
        mem_key, mem_value = self.summary.mem
        window = (self.local.window.keys, self.local.window.values)
        return attend(query, *concat_pairs((mem_key[None, :], mem_value[None, :]), window))

    def _state(self) -> dict[str, np.ndarray]:
        summary = {f"summary_{name}": a for name, a in self.summary._state().items()}
        return {**summary, **self.local._state()}


class InfiniAttention(Memory):
    """Infini-attention style: local attention over the last n_c pairs, plus a linear (outer
    product) memory of every pair that has left the window, mixed by a fixed gate g:
        g * Att(q, window) + (1 - g) * M phi(q) / (z . phi(q)).
    Munkhdalai et al. (2024) use phi = elu + 1 with the normaliser (the default), but attend
    locally within a segment, write the memory a whole segment at a time, and mix the reads as
    sigmoid(b) * memory + (1 - sigmoid(b)) * local with one learned scalar b per head; here the
    window slides, each pair is written when it leaves it, and g weighs the local read.
    `normalise=False` reads M phi(q) instead, for the chapter's comparison.
    """

    def __init__(self, n_c: int, gate: float = 0.5, phi="elu+1", normalise: bool = True) -> None:
        super().__init__()
        self.window = RingBuffer(positive_int(n_c, "n_c"))
        self.long_term = LinearAttention(phi=phi, normalise=normalise)
        self.gate = unit_interval(gate, "gate", closed_right=True)

    def _update(self, key, value) -> None:
        evicted = self.window.push(key, value, self.count)
        if evicted is not None:
            self.long_term.update(evicted[0], evicted[1])

    def read(self, query) -> np.ndarray:
        query = self._check_query(query)
        local = attend(query, self.window.keys, self.window.values)
        if self.long_term.count == 0:
            return local
        return self.gate * local + (1 - self.gate) * self.long_term.read(query)

    def _state(self) -> dict[str, np.ndarray]:
        return {**self.window.pairs(""), **self.long_term._state()}
