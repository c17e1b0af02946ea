"""Input checks shared by every memory: bad input gets a ValueError that names the problem."""

from __future__ import annotations

import numbers

import numpy as np


def as_sequence(array, name: str = "keys", check_finite: bool = True) -> np.ndarray:
    """Return `array` as a float array of shape (n, d) with n >= 1, d >= 1 and finite entries.

    With check_finite=False the caller promises to check the result instead (`check_finite`),
    which saves a pass over a large array.
    """
    seq = _as_float_array(array, name)
    if seq.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n, d), one row per position; "
            f"got {seq.ndim}-D with shape {seq.shape}"
        )
    if seq.shape[0] == 0:
        raise ValueError(f"{name} is an empty sequence (shape {seq.shape}): it needs at least one position")
    if seq.shape[1] == 0:
        raise ValueError(f"{name} has vectors of dimension 0 (shape {seq.shape})")
    if check_finite:
        check_finite_entries(seq, name)
    return seq


def as_vector(array, name: str = "key", dim: int | None = None) -> np.ndarray:
    """Return `array` as a finite float vector of shape (d,), checking d against `dim` if given."""
    vec = _as_float_array(array, name)
    if vec.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector; got {vec.ndim}-D with shape {vec.shape}")
    if vec.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {vec.shape})")
    if dim is not None and vec.shape[0] != dim:
        raise ValueError(f"{name} must have dimension {dim}; got shape {vec.shape}")
    check_finite_entries(vec, name)
    return vec


def as_entry(array, name: str = "x", shape: tuple | None = None) -> np.ndarray:
    """Return `array` as a finite float number (0-D) or vector (1-D), of `shape` if given."""
    entry = _as_float_array(array, name)
    if entry.ndim > 1:
        raise ValueError(f"{name} must be a number or a 1-D vector; got {entry.ndim}-D with shape {entry.shape}")
    if shape is not None and entry.shape != shape:
        raise ValueError(f"{name} must have the shape {shape} of the entries before it; got {entry.shape}")
    check_finite_entries(entry, name)
    return entry


def as_stream(array, name: str = "stream") -> np.ndarray:
    """Return `array` as a non-empty 1-D float array of finite numbers."""
    stream = _as_float_array(array, name)
    if stream.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of numbers; got {stream.ndim}-D with shape {stream.shape}")
    if stream.shape[0] == 0:
        raise ValueError(f"{name} is empty: a mean needs at least one number")
    check_finite_entries(stream, name)
    return stream


def as_pair_sequences(keys, values, check_finite: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Check keys (n, d_k) and values (n, d_v) and that they hold the same number of positions."""
    keys = as_sequence(keys, "keys", check_finite)
    values = as_sequence(values, "values", check_finite)
    if keys.shape[0] != values.shape[0]:
        raise ValueError(
            f"keys and values must have the same number of positions; "
            f"got keys {keys.shape} and values {values.shape}"
        )
    return keys, values


def positive_int(n, name: str = "n_c") -> int:
    """Return `n` as an int, requiring n >= 1 (a window or segment size)."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise ValueError(f"{name} must be a positive integer; got {n!r}")
    if n < 1:
        raise ValueError(f"{name} must be a positive integer; got {n}")
    return int(n)


def unit_interval(x, name: str = "beta", *, closed_left: bool = True, closed_right: bool = False) -> float:
    """Return `x` as a float in [0, 1) (by default), naming the parameter when it is outside."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not np.isfinite(x):
        raise ValueError(f"{name} must be a finite real number; got {x!r}")
    low_ok = x >= 0 if closed_left else x > 0
    high_ok = x <= 1 if closed_right else x < 1
    if not (low_ok and high_ok):
        interval = ("[" if closed_left else "(") + "0, 1" + ("]" if closed_right else ")")
        raise ValueError(f"{name} must lie in {interval}; got {x}")
    return float(x)


def _as_float_array(array, name: str) -> np.ndarray:
    try:
        arr = np.asarray(array)
    except Exception as err:  # ragged lists and the like
        raise ValueError(f"{name} could not be read as an array: {err}") from None
    if arr.dtype == object:
        raise ValueError(f"{name} must be numbers in a rectangular array; got a ragged or non-numeric array")
    if arr.dtype.kind == "c":
        raise ValueError(f"{name} must be real numbers; got complex dtype {arr.dtype}")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold numbers; got dtype {arr.dtype}")
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    return arr


def check_finite_entries(arr: np.ndarray, name: str) -> None:
    """Raise a ValueError naming the first NaN or inf in arr, if there is one."""
    bad = ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0]) if arr.ndim else ()
        kind = "NaN" if np.isnan(arr[where]) else "inf"
        at = f" (first at index {where})" if arr.ndim else ""
        raise ValueError(f"{name} contains {kind}{at}; memories need finite numbers")
