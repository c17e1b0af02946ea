"""Segment-level recurrence and retrieval: FIFO, compressive and kNN memories.

The sequence is cut into segments of n_s tokens. When a segment is complete it becomes the
newest key-value pairs S_kv, and the memory is updated by Mem = Update(S_kv, Mem_pre) as the
next segment begins (so the last query of a segment still reads the previous one).
A read attends over [memory; the current segment up to the query's position].
`update_segment(keys, values)` takes a whole segment at once; `positions()` names the
positions of the raw pairs a read attends over.
"""

from __future__ import annotations

import numpy as np

from .attention import attend
from .checks import as_pair_sequences, as_vector, positive_int
from .memory import Memory, PairStore, RingBuffer, concat_pairs


class _SegmentMemory(Memory):
    """Collects tokens into the current segment; a complete segment is handed to `_store`
    when the first token of the next segment arrives."""

    def __init__(self, n_s: int) -> None:
        super().__init__()
        self.n_s = positive_int(n_s, "n_s")
        self.segment = RingBuffer(self.n_s)

    def _update(self, key, value) -> None:
        # A finished segment moves into the memory only when the next segment's first token
        # arrives, so every query of a segment (its last one included) still sees the
        # previous segment: Transformer-XL's [cached previous segment; current segment].
        self._store_finished_segment()
        self.segment.push(key, value, self.count)

    def update_segment(self, keys, values) -> None:
        """Mem = Update(S_kv, Mem_pre) for a whole segment S_kv of n_s pairs (rows) at once.

        The same as n_s calls to `update`: the previous segment moves into the memory and S_kv
        becomes the current segment, which the queries of its own positions read.
        """
        keys, values = as_pair_sequences(keys, values)
        if keys.shape[0] != self.n_s:
            raise ValueError(f"a segment holds n_s = {self.n_s} pairs; got {keys.shape[0]} "
                             "(use update() for a last, shorter segment)")
        if self.segment.size not in (0, self.n_s):
            raise ValueError(f"the current segment holds {self.segment.size} of {self.n_s} pairs: "
                             "finish it with update() before update_segment()")
        as_vector(keys[0], "key", dim=self.d_k)  # the dimensions of the pairs before
        as_vector(values[0], "value", dim=self.d_v)
        self.d_k, self.d_v = keys.shape[1], values.shape[1]
        self._store_finished_segment()
        self.segment.extend(keys, values, np.arange(self.count, self.count + self.n_s))
        self.count += self.n_s

    def _store_finished_segment(self) -> None:
        if self.segment.size == self.n_s:
            self._store(self.segment.keys, self.segment.values, self.segment.positions)
            self.segment.clear()

    def _store(self, keys: np.ndarray, values: np.ndarray, positions: np.ndarray) -> None:
        raise NotImplementedError

    def _current(self) -> tuple[np.ndarray, np.ndarray]:
        return self.segment.keys, self.segment.values

    def positions(self) -> np.ndarray:
        """Positions of the raw pairs a read attends over, oldest first: Mem, then the current
        segment (a compressive memory's CMem pairs are pooled: see `cmem_spans`)."""
        return np.concatenate([self.mem_positions, self.segment.positions])


class FIFOMemory(_SegmentMemory):
    """Mem = FIFO(S_kv, Mem_pre): the last `n_mem` complete pairs, oldest dropped first.

    With n_mem = n_s this is Transformer-XL's cache of the previous segment: a read attends
    over [cached previous segment; current segment].
    """

    def __init__(self, n_s: int, n_mem: int | None = None) -> None:
        super().__init__(n_s)
        self.n_mem = positive_int(n_mem if n_mem is not None else n_s, "n_mem")
        self.cache = RingBuffer(self.n_mem)

    def _store(self, keys, values, positions) -> None:
        self.cache.extend(keys, values, positions)

    @property
    def mem_positions(self) -> np.ndarray:
        """Positions of the cached pairs (Mem), oldest first."""
        return self.cache.positions

    def read(self, query) -> np.ndarray:
        query = self._check_query(query)
        return attend(query, *concat_pairs((self.cache.keys, self.cache.values), self._current()))

    def _state(self) -> dict[str, np.ndarray]:
        return {**self.cache.pairs("mem_"), **self.segment.pairs("segment_")}


def compress_mean_pool(keys: np.ndarray, values: np.ndarray, c: int) -> tuple[np.ndarray, np.ndarray]:
    """The compression rule: each run of c consecutive pairs becomes their mean (n_s -> n_s / c)."""
    n = keys.shape[0] // c * c
    return (keys[:n].reshape(-1, c, keys.shape[1]).mean(axis=1),
            values[:n].reshape(-1, c, values.shape[1]).mean(axis=1))


class CompressiveMemory(_SegmentMemory):
    """Compressive Transformer memory: Mem (n_mem raw pairs) and CMem (n_cmem compressed pairs).

    Order of events when a segment S_kv completes:
      1. S_kv is appended to Mem;
      2. while Mem holds more than n_mem pairs, its oldest n_s pairs are evicted,
         compressed to n_s / c pairs by mean pooling, and appended to CMem;
      3. while CMem holds more than n_cmem pairs, its oldest pairs are dropped.
    A read attends over [CMem; Mem; current segment].
    """

    def __init__(self, n_s: int, c: int, n_mem: int | None = None, n_cmem: int | None = None) -> None:
        super().__init__(n_s)
        self.c = positive_int(c, "c")
        if self.n_s % self.c:
            raise ValueError(f"the segment size n_s={self.n_s} must be a multiple of the compression rate c={self.c}")
        self.n_mem = positive_int(n_mem if n_mem is not None else n_s, "n_mem")
        if self.n_mem % self.n_s:
            raise ValueError(f"n_mem={self.n_mem} must be a multiple of the segment size n_s={self.n_s}")
        self.n_cmem = positive_int(n_cmem if n_cmem is not None else n_s, "n_cmem")
        self.mem_keys = self.mem_values = None
        self.mem_positions = np.zeros(0, dtype=np.int64)
        self.cmem_keys = self.cmem_values = None
        self.cmem_spans = np.zeros((0, 2), dtype=np.int64)  # first and last position pooled

    def _store(self, keys, values, positions) -> None:
        if self.mem_keys is None:
            self.mem_keys, self.mem_values = keys[:0], values[:0]
            self.cmem_keys, self.cmem_values = keys[:0], values[:0]
        self.mem_keys = np.concatenate([self.mem_keys, keys])
        self.mem_values = np.concatenate([self.mem_values, values])
        self.mem_positions = np.concatenate([self.mem_positions, positions])
        while self.mem_keys.shape[0] > self.n_mem:
            self._evict_oldest_segment()

    def _evict_oldest_segment(self) -> None:
        old_k, old_v, old_pos = self.mem_keys[: self.n_s], self.mem_values[: self.n_s], self.mem_positions[: self.n_s]
        self.mem_keys, self.mem_values = self.mem_keys[self.n_s:], self.mem_values[self.n_s:]
        self.mem_positions = self.mem_positions[self.n_s:]
        comp_k, comp_v = compress_mean_pool(old_k, old_v, self.c)
        spans = np.stack([old_pos[:: self.c], old_pos[self.c - 1:: self.c]], axis=1)
        self.cmem_keys = np.concatenate([self.cmem_keys, comp_k])[-self.n_cmem:]
        self.cmem_values = np.concatenate([self.cmem_values, comp_v])[-self.n_cmem:]
        self.cmem_spans = np.concatenate([self.cmem_spans, spans])[-self.n_cmem:]

    def read(self, query) -> np.ndarray:
        query = self._check_query(query)
        return attend(query, *concat_pairs((self.cmem_keys, self.cmem_values),
                                           (self.mem_keys, self.mem_values), self._current()))

    def _state(self) -> dict[str, np.ndarray]:
        state = {}
        if self.cmem_keys is not None and self.cmem_keys.shape[0]:
            state.update(cmem_keys=self.cmem_keys, cmem_values=self.cmem_values)
        if self.mem_keys is not None and self.mem_keys.shape[0]:
            state.update(mem_keys=self.mem_keys, mem_values=self.mem_values)
        return {**state, **self.segment.pairs("segment_")}


class KNNMemory(Memory):
    """Local window plus a retrieved memory, mixed by a gate (Memorizing Transformers style).

    Mem is the last n_c pairs; every pair that leaves it goes to an external store. A read
    retrieves the top_k stored pairs whose keys score highest against q (Mem_knn) and returns
        g * Att(q, Mem) + (1 - g) * Att(q, Mem_knn),
    with g a scalar or a vector of length d_v in [0, 1]. The store grows with the sequence.
    """

    def __init__(self, n_c: int, top_k: int = 4, gate=0.5) -> None:
        super().__init__()
        self.n_c = positive_int(n_c, "n_c")
        self.top_k = positive_int(top_k, "top_k")
        self.gate = np.asarray(gate, dtype=float)
        if self.gate.ndim > 1 or not np.all((self.gate >= 0) & (self.gate <= 1)):
            raise ValueError(f"the gate g must be a number or a vector with entries in [0, 1]; got {gate}")
        self.window = RingBuffer(self.n_c)
        self.store = PairStore()

    def _update(self, key, value) -> None:
        if self.gate.ndim == 1 and self.gate.shape[0] != value.shape[0]:
            raise ValueError(f"the gate g has {self.gate.shape[0]} entries, but the values have "
                             f"dimension {value.shape[0]}: give one entry per value dimension, or a number")
        evicted = self.window.push(key, value, self.count)
        if evicted is not None:
            self.store.append(evicted[0], evicted[1])

    def retrieve(self, query) -> tuple[np.ndarray, np.ndarray]:
        """Mem_knn: the top_k stored pairs with the highest scores q . k, best first."""
        query = self._check_query(query)
        if self.store.size == 0:
            raise ValueError(f"the kNN store is empty: a pair enters it when it leaves the window of the "
                             f"last n_c = {self.n_c} pairs, and only {self.count} pairs have been seen")
        scores = self.store.keys @ query
        k = min(self.top_k, self.store.size)
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best])]
        return self.store.keys[best], self.store.values[best]

    def read(self, query) -> np.ndarray:
        query = self._check_query(query)
        local = attend(query, self.window.keys, self.window.values)
        if self.store.size == 0:
            return local
        retrieved = attend(query, *self.retrieve(query))
        return self.gate * local + (1 - self.gate) * retrieved

    def _state(self) -> dict[str, np.ndarray]:
        return {**self.window.pairs(""), **self.store.pairs("store_")}
