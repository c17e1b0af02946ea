"""The cumulative average of keys and values, batch and streaming.

    Mem_i = ( (1/(i+1)) sum_{j<=i} k_j , (1/(i+1)) sum_{j<=i} v_j )            (batch)
    Mem_i = Mem_{i-1} + ((k_i, v_i) - Mem_{i-1}) / (i+1)                       (recursive)
"""

from __future__ import annotations

import numpy as np

from .checks import as_entry, as_pair_sequences, as_sequence, check_finite_entries
from .memory import AveragedPair

# Below this many columns a row is too short to amortise one numpy call per row, and the
# prefix sums are taken over chunks of rows that stay in cache instead.
_WIDE_ROW = 2048
_COLUMN_BLOCK = 16384        # wide rows are swept this many columns at a time, so the running
                             # sum stays in cache
_CHUNK_BYTES = 1 << 22       # narrow rows: chunks of about 4 MiB. Measured on 524,288 x 64 (AMD
                             # EPYC, 1 MiB L2 per core, 32 MiB L3): 1 MiB chunks were 15-20% slower,
                             # 2 MiB 0-5%, 8 MiB the same; fewer, longer numpy calls beat staying in L2
_BLOCK_ROWS = 32             # ... cut into blocks of this many rows, scanned side by side


def prefix_mean(x, out: np.ndarray | None = None, name: str = "x") -> np.ndarray:
    """All prefix means of the rows of x: out[i] = (1/(i+1)) sum_{j<=i} x[j], by prefix sums.

    Both paths read x once and write out once; which one is faster depends on the row width
    (see benchmarks/cumavg_bandwidth.py). Where the sums overflow the dtype (float32 values
    near 1e38, say), x is scaled down by a power of two, which is exact, and the means scaled
    back up.
    """
    x = as_sequence(x, name, check_finite=False)
    if out is None:
        out = np.empty_like(x)
    elif out.shape != x.shape or out.dtype != x.dtype:
        raise ValueError(f"out must have the shape {x.shape} and dtype {x.dtype} of x; "
                         f"got {out.shape} and {out.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is handled below
        finite = _prefix_mean(x, out)
    # A NaN or inf anywhere in x (or an overflow of the sums) reaches the end of its block or
    # the last prefix sum, so checking those rows replaces a check of every entry.
    if not finite:
        check_finite_entries(x, name)
        scale = x.dtype.type(2.0) ** -int(np.ceil(np.log2(x.shape[0] + 1)))
        _prefix_mean(x * scale, out)  # |sum of n scaled rows| <= largest |x| <= the dtype's max
        out /= scale
    return out


def _prefix_mean(x: np.ndarray, out: np.ndarray) -> bool:
    """Fill out with the prefix means; return False where a prefix sum was not finite."""
    if x.shape[1] >= _WIDE_ROW:
        _prefix_mean_row_by_row(x, out)  # one chain: a NaN or inf stays to the last row
        return bool(np.isfinite(out[-1]).all())
    return _prefix_mean_blocked(x, out)


def _prefix_mean_row_by_row(x: np.ndarray, out: np.ndarray) -> None:
    """S_i = S_{i-1} + x_i and out_i = S_i / (i+1), one whole row (a vector operation) per step."""
    n, d = x.shape
    for start in range(0, d, _COLUMN_BLOCK):
        cols = slice(start, start + _COLUMN_BLOCK)
        running = np.zeros(min(_COLUMN_BLOCK, d - start), dtype=x.dtype)
        for i in range(n):
            np.add(running, x[i, cols], out=running)
            np.multiply(running, 1.0 / (i + 1), out=out[i, cols])


def _prefix_mean_blocked(x: np.ndarray, out: np.ndarray) -> bool:
    """Prefix means of narrow rows, one cache-sized chunk of rows at a time.

    np.cumsum along the positions is one serial chain of additions per column: each sum waits
    for the one before it. Here a chunk is cut into B blocks of R rows, and all B blocks are
    scanned at once: step r adds row r - 1 to row r in every block, B * d independent sums in
    one numpy call (R - 1 calls). Each block starts from the sum of everything before it (a
    short prefix sum over the B block totals, plus the sum carried from earlier chunks), and
    each row is multiplied by 1/(i+1) on its way out. Returns False where a prefix sum was not
    finite: a NaN or inf stays to the end of its block, so the blocks' last rows tell.
    """
    n, d = x.shape
    R = _BLOCK_ROWS
    rows = max(R, min(_CHUNK_BYTES // (d * x.itemsize), n) // R * R)  # no bigger than x
    B = rows // R
    scan = np.empty((R, B, d), dtype=x.dtype)  # scan[r, b] is row r of block b
    counts = np.arange(1, rows + 1, dtype=np.float64).reshape(B, R).T  # i + 1 - start, as scan
    inverse = np.empty((R, B, 1), dtype=x.dtype)  # 1/(i+1), as scan
    carry = np.zeros(d, dtype=x.dtype)  # sum of all rows before the chunk
    finite = True
    start = 0
    while n - start >= R:  # the last chunk may hold fewer blocks
        size = min(rows, (n - start) // R * R)
        chunk, blocks = slice(start, start + size), slice(0, size // R)
        _copy_rows(scan[:, blocks], x[chunk].reshape(-1, R, d).transpose(1, 0, 2))
        carry = _scan_chunk(scan[:, blocks], carry)
        finite = finite and bool(np.isfinite(scan[-1, blocks]).all())
        np.divide(1.0, counts[:, blocks] + start, out=inverse[:, blocks, 0], casting="same_kind")
        np.multiply(scan[:, blocks], inverse[:, blocks], out=scan[:, blocks])
        _copy_rows(out[chunk].reshape(-1, R, d).transpose(1, 0, 2), scan[:, blocks])
        start += size
    tail = slice(start, n)  # fewer than R rows: a plain cumsum
    np.cumsum(x[tail], axis=0, out=out[tail])
    out[tail] += carry
    out[tail] *= (1.0 / np.arange(start + 1, n + 1)).astype(x.dtype)[:, None]
    return finite and bool(np.isfinite(out[-1]).all())


def _scan_chunk(scan: np.ndarray, carry: np.ndarray) -> np.ndarray:
    """scan[r, b] = carry + sum of the chunk's rows up to row r of block b; returns the new carry.

    scan has shape (R, B, d): row r of every block side by side, so that every addition of the
    scan runs over B * d numbers at once.
    """
    offsets = np.empty(scan.shape[1:], dtype=scan.dtype)  # carry + sum of the blocks before b
    offsets[0] = carry
    np.sum(scan[:, :-1], axis=0, out=offsets[1:])
    scan[0] += _running_sum(offsets)
    for r in range(1, scan.shape[0]):
        np.add(scan[r - 1], scan[r], out=scan[r])
    return scan[-1, -1].copy()


def _running_sum(a: np.ndarray) -> np.ndarray:
    """Inclusive prefix sums of the rows of a, in log2(len(a)) whole-array additions.

    Step s adds to every row the row s places above it (s = 1, 2, 4, ...): after the step
    with s, row i holds the sum of rows i - 2s + 1 .. i (Hillis and Steele). np.cumsum would
    walk each column one row at a time; these additions run over all rows at once, and each
    sum is a tree of about log2(len(a)) additions rather than a chain, which is also more
    accurate in float32.
    """
    b = np.empty_like(a)
    s = 1
    while s < a.shape[0]:
        np.add(a[s:], a[:-s], out=b[s:])
        b[:s] = a[:s]
        a, b = b, a
        s *= 2
    return a


def _copy_rows(dst: np.ndarray, src: np.ndarray) -> None:
    """np.copyto(dst, src) for arrays of rows (the last axis), moving each row as one item.

    A transposing copy of rows of 64 numbers spends more time in numpy's loop over the 64
    numbers of each row than in moving them; viewed as one opaque item per row (a void dtype),
    the loop runs over rows instead. Arrays whose rows are not contiguous are copied as they are.
    """
    if dst.strides[-1] == dst.itemsize and src.strides[-1] == src.itemsize:
        row = np.dtype((np.void, src.shape[-1] * src.itemsize))
        dst, src = dst.view(row)[..., 0], src.view(row)[..., 0]
    np.copyto(dst, src)


def cumulative_average(keys, values) -> tuple[np.ndarray, np.ndarray]:
    """Mem_i for every prefix at once: row i of each result is (1/(i+1)) sum_{j<=i} of the rows."""
    keys, values = as_pair_sequences(keys, values, check_finite=False)  # prefix_mean checks
    return prefix_mean(keys, name="keys"), prefix_mean(values, name="values")


class RunningMean:
    """m_i = m_{i-1} + (x_i - m_{i-1}) / (i+1): O(d) time and state per step.

    With `compensated=True` each addition carries its rounding error forward (Kahan), so a long
    float32 stream keeps the accuracy of the float32 format instead of drifting. The mean keeps
    the dtype of the first x (integers and lists become float64).
    """

    def __init__(self, compensated: bool = False) -> None:
        self.compensated = compensated
        self.count = 0
        self.mean: np.ndarray | None = None
        self.carry: np.ndarray | None = None  # rounding error not yet added back (compensated)

    def add(self, x) -> None:
        """Add one number or vector x, checked: finite, of the shape of the ones before."""
        x = as_entry(x, "x", shape=None if self.mean is None else self.mean.shape)
        self._add(x if self.mean is None else x.astype(self.mean.dtype, copy=False))

    def _add(self, x: np.ndarray) -> None:
        if self.mean is None:
            self.mean = np.zeros_like(x)
            self.carry = np.zeros_like(x)
        self.count += 1
        step = (x - self.mean) / x.dtype.type(self.count)
        if not self.compensated:
            self.mean += step
            return
        step -= self.carry
        total = self.mean + step
        self.carry = (total - self.mean) - step
        self.mean = total


class CumulativeAverage(AveragedPair):
    """The streaming cumulative average: one averaged pair, updated by the recursive formula.

    Keeps the dtype of the first pair (float32 stays float32). The read Att(q, Mem) over a
    single pair gives that pair's value whatever the query is. The compensated form also holds
    the carries of its two running means.
    """

    def __init__(self, compensated: bool = False) -> None:
        super().__init__()
        self._keys = RunningMean(compensated)
        self._values = RunningMean(compensated)

    def _update(self, key, value) -> None:
        if self.count:  # later pairs take the first pair's dtype
            key, value = key.astype(self._keys.mean.dtype, copy=False), value.astype(self._values.mean.dtype, copy=False)
        self._keys._add(key)
        self._values._add(value)

    def _mem(self):
        return self._keys.mean, self._values.mean

    def _state(self) -> dict[str, np.ndarray]:
        state = super()._state()
        if state and self._keys.compensated:
            state.update(key_carry=self._keys.carry, value_carry=self._values.carry)
        return state
