"""The one small interface every memory shares: update with a pair, read with a query.

A memory conforms to the recurrent update Mem_i = f((k_i, v_i), Mem_{i-1}): `update` sees the
newest pair and the memory's own state, never the raw pairs that came before. That state is
`memory.state`: named arrays, copies that later updates leave alone.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import MappingProxyType
from typing import Mapping, NamedTuple

import numpy as np

from .attention import attend
from .checks import as_pair_sequences, as_sequence, as_vector, positive_int


class Memory(ABC):
    """Base class: subclasses implement `_update`, `read` and `_state`."""

    def __init__(self) -> None:
        self.d_k: int | None = None
        self.d_v: int | None = None
        self.count = 0  # pairs seen so far: after position i, count = i + 1

    def update(self, key, value) -> None:
        """Mem_i = f((k_i, v_i), Mem_{i-1})."""
        key = as_vector(key, "key", dim=self.d_k)
        value = as_vector(value, "value", dim=self.d_v)
        if self.d_k is None:
            self.d_k, self.d_v = key.shape[0], value.shape[0]
        self._update(key, value)
        self.count += 1

    @abstractmethod
    def _update(self, key: np.ndarray, value: np.ndarray) -> None: ...

    @abstractmethod
    def read(self, query) -> np.ndarray:
        """What the memory returns for the query q_i (a vector of dimension d_v)."""

    @abstractmethod
    def _state(self) -> dict[str, np.ndarray]:
        """The live arrays the next update and read need, by name (empty before any update)."""

    @property
    def state(self) -> Mapping[str, np.ndarray]:
        """What the memory holds, by name: read-only copies that later updates do not change."""
        return MappingProxyType({name: read_only_copy(a) for name, a in self._state().items()})

    @property
    def state_size(self) -> int:
        """How many numbers the memory holds now: every entry of `state`, which is everything its
        next update needs (besides `count`, the one integer every memory keeps)."""
        return sum(a.size for a in self._state().values())

    def _check_nonempty(self) -> None:
        if self.count == 0:
            raise ValueError(f"{type(self).__name__} is empty: update it with at least one pair before reading")

    def _check_query(self, query) -> np.ndarray:
        self._check_nonempty()
        return as_vector(query, "query", dim=self.d_k)


def read_only_copy(array: np.ndarray) -> np.ndarray:
    """A copy that cannot be written to (so a caller cannot mistake it for the live state)."""
    copy = np.array(array)
    copy.flags.writeable = False
    return copy


class LastPairs(Memory):
    """A memory whose state is the last n_c raw pairs (a FIFO); subclasses say how to read them."""

    def __init__(self, n_c: int) -> None:
        super().__init__()
        self.n_c = positive_int(n_c, "n_c")
        self.window = RingBuffer(self.n_c)

    def _update(self, key, value) -> None:
        self.window.push(key, value, self.count)

    def _state(self) -> dict[str, np.ndarray]:
        return self.window.pairs("")


class AveragedPair(Memory):
    """A memory whose state is one averaged pair Mem = (k_bar, v_bar).

    Att(q, Mem) over a single pair puts softmax weight 1 on it, so the read returns v_bar
    whatever the query is.
    """

    @property
    def mem(self) -> tuple[np.ndarray, np.ndarray]:
        """(averaged key, averaged value) after the last update, as read-only copies."""
        self._check_nonempty()
        return tuple(read_only_copy(a) for a in self._mem())

    @abstractmethod
    def _mem(self) -> tuple[np.ndarray, np.ndarray]: ...

    def _state(self) -> dict[str, np.ndarray]:
        if self.count == 0:
            return {}
        mem_key, mem_value = self._mem()
        return {"key": mem_key, "value": mem_value}

    def read(self, query) -> np.ndarray:
        query = self._check_query(query)
        mem_key, mem_value = self._mem()
        return attend(query, mem_key[None, :], mem_value[None, :])


class Trajectory(NamedTuple):
    """What `run(..., record=True)` returns: the reads (or None) and the state after each step."""

    reads: np.ndarray | None
    states: list[Mapping[str, np.ndarray]]


def run(memory: Memory, keys, values, queries=None, record: bool = False):
    """Step `memory` through the sequence; with queries, return the read after each update.

    Row i of the reads is the memory's answer to q_i once (k_i, v_i) is stored. With
    record=True, return Trajectory(reads, states) instead: states[i] is `memory.state` after
    (k_i, v_i), for example `np.stack([s["key"] for s in states])` for the averaged keys.
    """
    keys, values = as_pair_sequences(keys, values)
    if queries is not None:
        queries = as_sequence(queries, "queries")
        if queries.shape[0] != keys.shape[0]:
            raise ValueError(f"queries must have one row per position ({keys.shape[0]}); got {queries.shape}")
    reads, states = [], []
    for i in range(keys.shape[0]):
        memory.update(keys[i], values[i])
        if queries is not None:
            reads.append(memory.read(queries[i]))
        if record:
            states.append(memory.state)
    reads = np.array(reads) if queries is not None else None
    return Trajectory(reads, states) if record else reads


class RingBuffer:
    """The last `capacity` pairs, oldest first, with their positions: a FIFO of raw pairs."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._keys: np.ndarray | None = None
        self._values: np.ndarray | None = None
        self._positions = np.full(capacity, -1, dtype=np.int64)
        self._next = 0  # slot the next pair goes to
        self.size = 0

    def push(self, key: np.ndarray, value: np.ndarray, position: int):
        """Store a pair; return the (key, value, position) it evicted, or None."""
        if self._keys is None:
            self._keys = np.zeros((self.capacity, key.shape[0]), dtype=key.dtype)
            self._values = np.zeros((self.capacity, value.shape[0]), dtype=value.dtype)
        evicted = None
        if self.size == self.capacity:
            slot = self._next
            evicted = (self._keys[slot].copy(), self._values[slot].copy(), int(self._positions[slot]))
        self._keys[self._next] = key
        self._values[self._next] = value
        self._positions[self._next] = position
        self._next = (self._next + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)
        return evicted

    def extend(self, keys: np.ndarray, values: np.ndarray, positions: np.ndarray) -> None:
        """Push the rows in order, as that many calls to `push` would (evicted pairs are dropped)."""
        keep = slice(max(0, keys.shape[0] - self.capacity), None)  # only the newest can stay
        keys, values, positions = keys[keep], values[keep], positions[keep]
        if self._keys is None:
            self._keys = np.zeros((self.capacity, keys.shape[1]), dtype=keys.dtype)
            self._values = np.zeros((self.capacity, values.shape[1]), dtype=values.dtype)
        slots = (self._next + np.arange(keys.shape[0])) % self.capacity
        self._keys[slots], self._values[slots], self._positions[slots] = keys, values, positions
        self._next = (self._next + keys.shape[0]) % self.capacity
        self.size = min(self.size + keys.shape[0], self.capacity)

    def _order(self) -> np.ndarray:
        start = (self._next - self.size) % self.capacity
        return (start + np.arange(self.size)) % self.capacity

    @property
    def keys(self) -> np.ndarray:
        return self._keys[self._order()] if self.size else np.zeros((0, 0))

    @property
    def values(self) -> np.ndarray:
        return self._values[self._order()] if self.size else np.zeros((0, 0))

    def pairs(self, prefix: str) -> dict[str, np.ndarray]:
        """{prefix + "keys": ..., prefix + "values": ...} oldest first, or {} while empty."""
        return {prefix + "keys": self.keys, prefix + "values": self.values} if self.size else {}

    @property
    def positions(self) -> np.ndarray:
        return self._positions[self._order()]

    def clear(self) -> None:
        self.size = 0
        self._next = 0


class PairStore:
    """An append-only store of pairs that grows by doubling: O(d) amortised per append."""

    def __init__(self) -> None:
        self._keys: np.ndarray | None = None
        self._values: np.ndarray | None = None
        self.size = 0

    def append(self, key: np.ndarray, value: np.ndarray) -> None:
        if self._keys is None:
            self._keys = np.zeros((16, key.shape[0]), dtype=key.dtype)
            self._values = np.zeros((16, value.shape[0]), dtype=value.dtype)
        elif self.size == self._keys.shape[0]:
            self._keys = np.concatenate([self._keys, np.zeros_like(self._keys)])
            self._values = np.concatenate([self._values, np.zeros_like(self._values)])
        self._keys[self.size] = key
        self._values[self.size] = value
        self.size += 1

    @property
    def keys(self) -> np.ndarray:
        return self._keys[: self.size] if self.size else np.zeros((0, 0))

    @property
    def values(self) -> np.ndarray:
        return self._values[: self.size] if self.size else np.zeros((0, 0))

    def pairs(self, prefix: str) -> dict[str, np.ndarray]:
        """{prefix + "keys": ..., prefix + "values": ...}, or {} while empty."""
        return {prefix + "keys": self.keys, prefix + "values": self.values} if self.size else {}


def concat_pairs(*parts: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack the non-empty (keys, values) parts in order: the pairs a read attends over."""
    parts = [p for p in parts if p[0] is not None and p[0].shape[0] > 0]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
