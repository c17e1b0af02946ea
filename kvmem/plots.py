"""Figures the chapters draw, one function each, shared by static figures and explorers."""

from __future__ import annotations

import numpy as np

from .book import COLORS
from .kv_cache import memory_bytes

GIB = 2**30


def plot_memory_growth(ax, per_token: int, n_c: int, n_max: int = 131_072, label_suffix: str = ""):
    """Memory (GiB) against tokens read: full KV cache, a window of n_c pairs, one summary pair."""
    n = np.unique(np.geomspace(1, n_max, 200).astype(int))
    curves = (("full", "full KV cache", COLORS["full"]),
              ("window", f"window, $n_c$ = {n_c:,}", COLORS["window"]),
              ("summary", "one summary pair", COLORS["cumavg"]))
    for kind, name, color in curves:
        ax.plot(n, memory_bytes(n, per_token, kind, n_c) / GIB, color=color, label=name + label_suffix)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tokens read, $i + 1$")
    ax.set_ylabel("memory (GiB)")
    ax.legend(loc="upper left")
    return ax
