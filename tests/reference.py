"""Independent reference computations the tests compare the library against: plain Python,
written from the definitions, sharing no code with kvmem."""

from __future__ import annotations

import math

import numpy as np


def attend_by_definition(q, keys, values) -> np.ndarray:
    """sum_j alpha_j v_j with alpha_j = exp(q.k_j/sqrt d) / sum_l exp(q.k_l/sqrt d), in plain Python."""
    d = len(q)
    scores = [sum(float(qi) * float(ki) for qi, ki in zip(q, k)) / math.sqrt(d) for k in keys]
    top = max(scores)
    weights = [math.exp(s - top) for s in scores]
    total = sum(weights)
    return np.array([sum(w * float(v[c]) for w, v in zip(weights, values)) / total for c in range(len(values[0]))])
