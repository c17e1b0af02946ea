"""Seeded synthetic tasks on which the memories are measured."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .checks import as_pair_sequences, positive_int
from .memory import Memory, run


def rng_from(seed) -> np.random.Generator:
    """A numpy Generator from an int seed (or the Generator itself)."""
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def unit_vectors(n: int, d: int, seed=0) -> np.ndarray:
    """n random directions in R^d, each of length 1."""
    x = rng_from(seed).normal(size=(n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def orthonormal_vectors(n: int, d: int, seed=0) -> np.ndarray:
    """n orthonormal rows in R^d (needs n <= d)."""
    if n > d:
        raise ValueError(f"at most d={d} vectors in R^{d} can be orthogonal; asked for n={n}")
    q, _ = np.linalg.qr(rng_from(seed).normal(size=(d, n)))
    return q.T


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """cos(a, b) = a . b / (||a|| ||b||), row by row for 2-D inputs."""
    return np.sum(a * b, axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


class PairsTask(NamedTuple):
    keys: np.ndarray
    values: np.ndarray


def associative_recall(n_pairs: int, d: int, seed=0, orthogonal: bool = False,
                       key_norm: float = 1.0) -> PairsTask:
    """N key-value pairs to store and then recall by querying with each key.

    Keys have length `key_norm`. Softmax attention needs long keys to pick one pair out: with
    key_norm = sqrt(d) a matching score q . k / sqrt(d) is sqrt(d), far above the others.
    """
    rng = rng_from(seed)
    n_pairs, d = positive_int(n_pairs, "n_pairs"), positive_int(d, "d")
    keys = orthonormal_vectors(n_pairs, d, rng) if orthogonal else unit_vectors(n_pairs, d, rng)
    return PairsTask(key_norm * keys, unit_vectors(n_pairs, d, rng))


def recall_cosines(memory: Memory, keys, values) -> np.ndarray:
    """Store every pair, then query with each key: cos(read(k_j), v_j) for every j."""
    keys, values = as_pair_sequences(keys, values)
    run(memory, keys, values)
    reads = np.array([memory.read(k) for k in keys])
    return cosine(reads, values)


def expected_recall_cosine(n_pairs, d) -> np.ndarray:
    """1 / sqrt(1 + (N - 1)/d): the crosstalk law of an outer-product memory with random keys."""
    return 1.0 / np.sqrt(1.0 + (np.asarray(n_pairs) - 1.0) / d)


class TopicShift(NamedTuple):
    keys: np.ndarray
    values: np.ndarray
    topics: np.ndarray  # (2, d): the topic before and after the shift
    shift_at: int


def topic_shift(n: int, d: int, shift_at: int, noise: float = 0.5, seed=0) -> TopicShift:
    """Tokens near topic A up to position shift_at - 1, then near topic B.

    Each key is the topic plus Gaussian noise of standard deviation noise/sqrt(d) per entry;
    values equal keys, so a memory's value tells which topic it holds.
    """
    rng = rng_from(seed)
    if not 0 < shift_at < n:
        raise ValueError(f"shift_at must lie strictly between 0 and n={n}; got {shift_at}")
    topics = unit_vectors(2, d, rng)
    which = (np.arange(n) >= shift_at).astype(int)
    keys = topics[which] + rng.normal(0, noise / np.sqrt(d), (n, d))
    return TopicShift(keys, keys.copy(), topics, shift_at)


class FactTask(NamedTuple):
    keys: np.ndarray  # the fact at position 0, then the distractors
    values: np.ndarray
    query: np.ndarray
    target: np.ndarray


def fact_at_distance(distance: int, d: int, seed=0, key_norm: float = 1.0) -> FactTask:
    """One fact (k*, v*) at position 0 followed by `distance` random distractor pairs; query k*."""
    rng = rng_from(seed)
    keys = key_norm * unit_vectors(distance + 1, d, rng)
    values = unit_vectors(distance + 1, d, rng)
    return FactTask(keys, values, keys[0].copy(), values[0].copy())


def generate_themes(memory: Memory, themes: np.ndarray, prompt: np.ndarray, n_steps: int,
                    temperature: float = 0.05, noise: float = 0.3, seed=0) -> np.ndarray:
    """The toy generator of the semantic-repetition case study.

    After reading the prompt (a sequence of theme indices), each step reads the memory, picks a
    theme with probability softmax(themes . read / temperature), and emits a token near that
    theme, which the memory then stores (as key and value). Returns the generated theme indices.
    """
    rng = rng_from(seed)
    d = themes.shape[1]

    def token(theme: int) -> np.ndarray:
        return themes[theme] + rng.normal(0, noise / np.sqrt(d), d)

    last = None
    for theme in prompt:
        last = token(int(theme))
        memory.update(last, last)
    chosen = []
    for _ in range(positive_int(n_steps, "n_steps")):
        scores = themes @ memory.read(last) / temperature
        p = np.exp(scores - scores.max())
        theme = int(rng.choice(len(themes), p=p / p.sum()))
        chosen.append(theme)
        last = token(theme)
        memory.update(last, last)
    return np.array(chosen)
