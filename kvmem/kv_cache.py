"""How much a KV cache and a fixed-size memory cost in bytes (chapter 1)."""

from __future__ import annotations

import numpy as np

from .checks import positive_int


def kv_bytes_per_token(layers: int, kv_heads: int, d_head: int, bytes_per_number: int = 2) -> int:
    """2 * layers * kv_heads * d_head * bytes: one key and one value per head, per layer."""
    for name, x in (("layers", layers), ("kv_heads", kv_heads), ("d_head", d_head),
                    ("bytes_per_number", bytes_per_number)):
        positive_int(x, name)
    return 2 * layers * kv_heads * d_head * bytes_per_number


def memory_bytes(n_tokens, per_token: int, kind: str = "full", n_c: int | None = None) -> np.ndarray:
    """Bytes held after n tokens: the full cache keeps n pairs, a window min(n, n_c), a summary 1."""
    n = np.asarray(n_tokens)
    if kind == "full":
        pairs = n
    elif kind == "window":
        pairs = np.minimum(n, positive_int(n_c, "n_c"))
    elif kind == "summary":
        pairs = np.ones_like(n)
    else:
        raise ValueError(f"kind must be 'full', 'window' or 'summary'; got {kind!r}")
    return pairs * per_token
