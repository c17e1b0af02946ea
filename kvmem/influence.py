"""How much each token weighs in an averaging memory, measured by feeding impulses."""

from __future__ import annotations

from typing import Callable

import numpy as np

from .checks import positive_int

BatchAverage = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def influence(batch_average: BatchAverage, n: int) -> np.ndarray:
    """W[i, j] = the weight of token j in Mem_i, for i, j < n.

    An averaging memory is linear in the keys, so feeding the impulses k_j = e_j (the j-th unit
    vector) makes coordinate j of the memory's key at position i equal to token j's weight.
    `batch_average(keys, values)` returns the memory at every position, for example
    `kvmem.cumulative_average` or `lambda k, v: kvmem.window_average(k, v, 3)`.
    """
    impulses = np.eye(positive_int(n, "n"))
    mem_keys, _ = batch_average(impulses, impulses)
    return mem_keys
