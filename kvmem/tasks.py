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


class SignTask(NamedTuple):
    keys: np.ndarray         # (n_writes, d): s u_p plus noise, for the fact p and the sign s of each write
    values: np.ndarray       # (n_writes, d): w_p, the value of the fact written
    facts: np.ndarray        # (n_writes,): which fact each write holds
    directions: np.ndarray   # (n_facts, d): the key direction u_p of each fact, of length sqrt(d)
    fact_values: np.ndarray  # (n_facts, d): the value w_p of each fact, of length 1


def sign_invariant_recall(n_facts: int, n_writes: int, d: int, seed=0, noise: float = 0.1) -> SignTask:
    """Facts whose value does not depend on the sign of their key: a task no linear memory can store.

    Fact p has a key direction u_p (length sqrt(d)) and a value w_p (length 1). Each of the
    n_writes writes picks a fact p and a sign s = +-1 at random and writes the key s u_p plus
    Gaussian noise (standard deviation `noise` per entry) with the value w_p. A memory is then
    asked for w_p with both queries +u_p and -u_p. A linear read obeys read(-q) = -read(q), so it
    can answer at most one of the two.
    """
    rng = rng_from(seed)
    n_facts, n_writes, d = positive_int(n_facts, "n_facts"), positive_int(n_writes, "n_writes"), positive_int(d, "d")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0; got {noise}")
    directions = np.sqrt(d) * unit_vectors(n_facts, d, rng)
    fact_values = unit_vectors(n_facts, d, rng)
    facts = rng.integers(n_facts, size=n_writes)
    signs = rng.choice([-1.0, 1.0], size=n_writes)
    keys = signs[:, None] * directions[facts] + rng.normal(0.0, noise, (n_writes, d))
    return SignTask(keys, fact_values[facts], facts, directions, fact_values)


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


class MQAR(NamedTuple):
    inputs: np.ndarray   # (n_sequences, seq_len) token ids
    targets: np.ndarray  # (n_sequences, seq_len): the value stored with the key at a query position, -1 elsewhere


FILLER = 0  # the token at the positions of the query part that hold no query


def mqar_vocabulary(vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(key tokens, value tokens) of multi-query associative recall: token 0 is the filler,
    keys are 1 .. vocab_size//2 - 1 and values vocab_size//2 .. vocab_size - 1."""
    vocab_size = positive_int(vocab_size, "vocab_size")
    if vocab_size < 4:
        raise ValueError(f"vocab_size must be at least 4 (a filler, keys and values); got {vocab_size}")
    half = vocab_size // 2
    return np.arange(1, half), np.arange(half, vocab_size)


def mqar(vocab_size: int, n_pairs: int, seq_len: int, n_queries: int, n_sequences: int = 1,
         seed=0) -> MQAR:
    """Multi-query associative recall (MQAR, Arora et al. 2023): n_pairs key-value token pairs,
    then n_queries of their keys, each to be answered with its value.

    Each sequence is  k_0 v_0 k_1 v_1 ... k_{N-1} v_{N-1}  followed by seq_len - 2N positions
    that hold the queries (at random positions, in random order) and the filler token 0 elsewhere.
    The keys of one sequence are distinct; values are drawn with replacement. The target at a
    query position is the value stored with that key; every other target is -1 (no target).
    """
    keys, values = mqar_vocabulary(vocab_size)
    n_pairs = positive_int(n_pairs, "n_pairs")
    n_queries = positive_int(n_queries, "n_queries")
    seq_len = positive_int(seq_len, "seq_len")
    n_sequences = positive_int(n_sequences, "n_sequences")
    if n_pairs > keys.size:
        raise ValueError(f"n_pairs={n_pairs} distinct keys do not fit in a vocabulary of {vocab_size} "
                         f"tokens, which has {keys.size} key tokens; use vocab_size >= {2 * n_pairs + 2}")
    if n_queries > n_pairs:
        raise ValueError(f"n_queries={n_queries} must not exceed n_pairs={n_pairs}: each query asks for a distinct stored key")
    if seq_len < 2 * n_pairs + n_queries:
        raise ValueError(f"seq_len={seq_len} is too short for {n_pairs} pairs (2 tokens each) and "
                         f"{n_queries} queries; it must be at least {2 * n_pairs + n_queries}")
    rng = rng_from(seed)
    B, N, tail = n_sequences, n_pairs, seq_len - 2 * n_pairs
    rows = np.arange(B)[:, None]
    stored_keys = keys[np.argsort(rng.random((B, keys.size)), axis=1)[:, :N]]
    stored_values = rng.choice(values, size=(B, N))
    asked = np.argsort(rng.random((B, N)), axis=1)[:, :n_queries]  # which pairs are queried
    where = 2 * N + np.sort(np.argsort(rng.random((B, tail)), axis=1)[:, :n_queries], axis=1)

    inputs = np.full((B, seq_len), FILLER, dtype=np.int64)
    inputs[:, 0:2 * N:2], inputs[:, 1:2 * N:2] = stored_keys, stored_values
    inputs[rows, where] = stored_keys[rows, asked]
    targets = np.full((B, seq_len), -1, dtype=np.int64)
    targets[rows, where] = stored_values[rows, asked]
    return MQAR(inputs, targets)
