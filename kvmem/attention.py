"""Scaled dot-product attention: the read Att(q, Mem) and the full causal baseline."""

from __future__ import annotations

import numpy as np

from .checks import as_pair_sequences, as_sequence, as_vector, positive_int


def softmax(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    """softmax(s)_j = exp(s_j - max s) / sum_l exp(s_l - max s), stable for large scores."""
    shifted = scores - scores.max(axis=axis, keepdims=True)
    weights = np.exp(shifted)
    return weights / weights.sum(axis=axis, keepdims=True)


def attention_weights(query, keys) -> np.ndarray:
    """alpha_j = softmax_j(q . k_j / sqrt(d)): how much the query reads from each stored pair."""
    keys = as_sequence(keys, "keys")
    query = as_vector(query, "query", dim=keys.shape[1])
    return softmax(keys @ query / np.sqrt(keys.shape[1]))


def attend(query, keys, values) -> np.ndarray:
    """Att(q, Mem) = sum_j alpha_j v_j over the pairs (k_j, v_j) that the memory holds."""
    keys, values = as_pair_sequences(keys, values)
    return attention_weights(query, keys) @ values


def causal_attention(queries, keys, values, block: int = 256) -> np.ndarray:
    """Full causal attention, the baseline: output i = Att(q_i, (K_{<=i}, V_{<=i})).

    Queries are processed in blocks of `block` rows, so that the score matrix never holds
    more than block x n numbers: time grows as n^2, memory as block * n.
    """
    keys, values = as_pair_sequences(keys, values)
    queries = as_sequence(queries, "queries")
    if queries.shape != keys.shape:
        raise ValueError(f"queries must have the shape of keys {keys.shape}; got {queries.shape}")
    block = positive_int(block, "block")
    n, d = keys.shape
    out = np.empty((n, values.shape[1]), dtype=np.result_type(keys, values))
    scale = 1.0 / np.sqrt(d)
    for start in range(0, n, block):
        stop = min(start + block, n)
        # Rows start..stop-1 see keys 0..stop-1; the mask hides each row's future.
        scores = queries[start:stop] @ keys[:stop].T * scale
        future = np.arange(stop)[None, :] > np.arange(start, stop)[:, None]
        scores[future] = -np.inf
        out[start:stop] = softmax(scores) @ values[:stop]
    return out
