"""The memories serving systems use instead of a full KV cache.

    attention sinks + window (StreamingLLM, Xiao et al. 2023): keep the first n_sink pairs and the
        last n_c pairs; read by attention over [sinks; window].
    heavy hitters (H2O, Zhang et al. 2023): keep at most `budget` pairs: the n_recent newest, and
        of the older ones those with the largest accumulated attention.
    quantised KV cache (KIVI, Liu et al. 2024): keep every pair, in b-bit integers; keys quantised
        per channel (over a group of G tokens), values per token; the newest pairs (fewer than G)
        stay in full precision until their group is complete (KIVI's residual of R recent
        tokens, a setting of its own; here R = G).
"""

from __future__ import annotations

import numbers

import numpy as np

from .attention import attend, attention_weights
from .checks import as_sequence, positive_int
from .memory import LastPairs, Memory, concat_pairs

#: Bytes per number of a full-precision serving cache (fp16), the unit of `bytes_held`.
FULL_PRECISION_BYTES = 2


class SinkWindow(LastPairs):
    """Attention sinks plus a window: Mem = [(k_0, v_0) .. (k_{n_sink-1}, v_{n_sink-1}); last n_c pairs].

    StreamingLLM keeps the first few tokens because trained models park attention on them; without
    them a pure window's read degrades once they leave it. The state is at most n_sink + n_c pairs.
    """

    def __init__(self, n_sink: int, n_c: int) -> None:
        super().__init__(n_c)
        self.n_sink = positive_int(n_sink, "n_sink")
        self.sink_keys: np.ndarray | None = None
        self.sink_values: np.ndarray | None = None

    def _update(self, key, value) -> None:
        if self.count < self.n_sink:
            if self.sink_keys is None:
                self.sink_keys, self.sink_values = key[None, :].copy(), value[None, :].copy()
            else:
                self.sink_keys = np.concatenate([self.sink_keys, key[None, :]])
                self.sink_values = np.concatenate([self.sink_values, value[None, :]])
        else:
            super()._update(key, value)

    def positions(self) -> np.ndarray:
        """Positions held, oldest first: the sinks, then the window."""
        n_sinks = 0 if self.sink_keys is None else self.sink_keys.shape[0]
        return np.concatenate([np.arange(n_sinks), self.window.positions]).astype(np.int64)

    def read(self, query) -> np.ndarray:
        query = self._check_query(query)
        return attend(query, *concat_pairs((self.sink_keys, self.sink_values),
                                           (self.window.keys, self.window.values)))

    def _state(self) -> dict[str, np.ndarray]:
        sinks = {} if self.sink_keys is None else {"sink_keys": self.sink_keys, "sink_values": self.sink_values}
        return sinks | super()._state()


class HeavyHitters(Memory):
    """H2O: at most `budget` raw pairs, evicting the old pair that has drawn the least attention.

    Every kept pair j carries a score A_j, the attention it has received so far. When pair i
    arrives it is scored like a decoding token's query (q = k_i, the key standing in for the
    query an update has no access to): A_j += softmax_j(k_i . k_j / sqrt(d)) over the kept
    pairs and itself. Every read adds its own weights the same way. If more than `budget`
    pairs are kept, the pair with the smallest A_j among all but the n_recent newest is
    evicted (the oldest of equal scores). The state is `budget` pairs and their scores.
    """

    def __init__(self, budget: int, n_recent: int | None = None) -> None:
        super().__init__()
        self.budget = positive_int(budget, "budget")
        self.n_recent = positive_int(n_recent if n_recent is not None else max(1, self.budget // 2), "n_recent")
        if self.n_recent >= self.budget:
            raise ValueError(f"n_recent={self.n_recent} must be smaller than the budget={self.budget}, "
                             "or no pair would ever be chosen for its attention")
        self.keys: np.ndarray | None = None
        self.values: np.ndarray | None = None
        self.scores = np.zeros(0)
        self.kept = np.zeros(0, dtype=np.int64)  # the position of each kept pair, oldest first

    def _update(self, key, value) -> None:
        if self.keys is None:
            self.keys, self.values = key[None, :].copy(), value[None, :].copy()
        else:
            self.keys = np.concatenate([self.keys, key[None, :]])
            self.values = np.concatenate([self.values, value[None, :]])
        self.scores = np.append(self.scores, 0.0)
        self.kept = np.append(self.kept, self.count)
        self.scores += attention_weights(key, self.keys)
        if self.keys.shape[0] > self.budget:
            self._evict()

    def positions(self) -> np.ndarray:
        """Positions held, oldest first."""
        return self.kept.copy()

    def _evict(self) -> None:
        candidates = self.scores[: -self.n_recent]
        drop = int(np.argmin(candidates))  # argmin returns the first (oldest) of equal scores
        keep = np.arange(self.keys.shape[0]) != drop
        self.keys, self.values = self.keys[keep], self.values[keep]
        self.scores, self.kept = self.scores[keep], self.kept[keep]

    def read(self, query) -> np.ndarray:
        query = self._check_query(query)
        weights = attention_weights(query, self.keys)
        self.scores += weights
        return weights @ self.values

    def _state(self) -> dict[str, np.ndarray]:
        if self.keys is None:
            return {}
        return {"keys": self.keys, "values": self.values, "scores": self.scores}


def check_bits(bits) -> int:
    """The number of bits per code: 2, 4 or 8."""
    if isinstance(bits, bool) or not isinstance(bits, numbers.Integral) or bits not in (2, 4, 8):
        raise ValueError(f"bits must be 2, 4 or 8; got {bits!r}")
    return int(bits)


def quantise(x, bits: int, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Asymmetric b-bit quantisation along `axis`: codes, scale s and zero point z.

        z = min x,  s = (max x - min x) / (2^b - 1),  code = round((x - z) / s) in {0, .., 2^b - 1}

    min and max run along `axis` (axis=0: one (s, z) per channel, over tokens; axis=1: one per
    token, over channels). Where max = min, s = 0 and every code is 0.
    """
    x = as_sequence(x, "x")
    bits = check_bits(bits)
    if axis not in (0, 1):
        raise ValueError(f"axis must be 0 (per channel) or 1 (per token); got {axis!r}")
    zero = x.min(axis=axis, keepdims=True)
    scale = (x.max(axis=axis, keepdims=True) - zero) / (2**bits - 1)
    safe = np.where(scale > 0, scale, 1.0)
    codes = np.clip(np.rint((x - zero) / safe), 0, 2**bits - 1).astype(np.uint8)
    return codes, scale, zero


def dequantise(codes: np.ndarray, scale: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """x_hat = code * s + z: within s / 2 of x in every entry."""
    return codes * scale + zero


class QuantisedCache(Memory):
    """A full KV cache held in b-bit integers, KIVI style.

    Pairs arrive in a full-precision residual of at most `group` pairs. When it holds `group`
    pairs they are quantised: the keys per channel (one scale and zero point per channel for
    the group: outliers in a channel stay in that channel), the values per token (one scale and
    zero point per token). A read dequantises every group and attends over them and the
    residual (KIVI fuses the dequantisation into the attention kernel; numpy does it apart).
    """

    def __init__(self, bits: int = 8, group: int = 32) -> None:
        super().__init__()
        self.bits = check_bits(bits)
        self.group = positive_int(group, "group")
        # Group g's key codes, key scale and zero, value codes, value scale and zero: six arrays
        # whose first axis is the group (grown by doubling), so one expression dequantises all.
        self._blocks: list[np.ndarray] | None = None
        self.n_groups = 0
        self._residual_keys: list[np.ndarray] = []
        self._residual_values: list[np.ndarray] = []

    def _update(self, key, value) -> None:
        self._residual_keys.append(key)
        self._residual_values.append(value)
        if len(self._residual_keys) == self.group:
            block = (quantise(np.array(self._residual_keys), self.bits, axis=0)
                     + quantise(np.array(self._residual_values), self.bits, axis=1))
            self._store(block)
            self._residual_keys, self._residual_values = [], []

    def _store(self, block: tuple) -> None:
        if self._blocks is None:
            self._blocks = [np.zeros((4,) + part.shape, dtype=part.dtype) for part in block]
        elif self.n_groups == self._blocks[0].shape[0]:
            self._blocks = [np.concatenate([part, np.zeros_like(part)]) for part in self._blocks]
        for stored, part in zip(self._blocks, block):
            stored[self.n_groups] = part
        self.n_groups += 1

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """The keys and values a read attends over: dequantised groups, then the residual."""
        parts = []
        if self.n_groups:
            key_codes, key_scale, key_zero, value_codes, value_scale, value_zero = (
                part[: self.n_groups] for part in self._blocks)
            parts.append((dequantise(key_codes, key_scale, key_zero).reshape(-1, self.d_k),
                          dequantise(value_codes, value_scale, value_zero).reshape(-1, self.d_v)))
        if self._residual_keys:
            parts.append((np.array(self._residual_keys), np.array(self._residual_values)))
        return concat_pairs(*parts)

    def read(self, query) -> np.ndarray:
        query = self._check_query(query)
        return attend(query, *self.pairs())

    def _state(self) -> dict[str, np.ndarray]:
        """One code per key and value entry, the scales and zero points of every group, and the
        residual pairs not yet quantised."""
        state = {}
        if self.n_groups:
            names = ("key_codes", "key_scale", "key_zero", "value_codes", "value_scale", "value_zero")
            state = {name: part[: self.n_groups] for name, part in zip(names, self._blocks)}
        if self._residual_keys:
            state |= {"residual_keys": np.array(self._residual_keys), "residual_values": np.array(self._residual_values)}
        return state

    @property
    def bytes_held(self) -> float:
        """Bytes: b bits per code; scales, zero points and the residual in fp16."""
        d = (self.d_k or 0) + (self.d_v or 0)
        codes = self.n_groups * self.group * d * self.bits / 8
        side = self.n_groups * (2 * (self.d_k or 0) + 2 * self.group) * FULL_PRECISION_BYTES
        return codes + side + len(self._residual_keys) * d * FULL_PRECISION_BYTES


def bytes_held(memory: Memory) -> float:
    """The bytes a memory's state takes in a serving system: fp16 numbers, except where the
    memory says otherwise (a quantised cache counts its codes at their width)."""
    own = getattr(memory, "bytes_held", None)
    return float(own) if own is not None else float(memory.state_size * FULL_PRECISION_BYTES)
