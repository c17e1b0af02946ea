"""The experiments of chapters 4 to 7: each memory on the same seeded tasks."""

from __future__ import annotations

from typing import Callable

import numpy as np

from .checks import positive_int
from .memory import Memory
from .tasks import associative_recall, cosine, fact_at_distance, topic_shift

MemoryFactory = Callable[[], Memory]


def tracking_curve(memory: Memory, keys: np.ndarray, values: np.ndarray, topics: np.ndarray) -> np.ndarray:
    """After each token, cos(read, topic B) - cos(read, topic A), reading with the newest key.

    Positive means the memory's answer is closer to the new topic than to the old one.
    """
    out = np.empty(len(keys))
    for i in range(len(keys)):
        memory.update(keys[i], values[i])
        read = memory.read(keys[i])
        out[i] = cosine(read, topics[1]) - cosine(read, topics[0])
    return out


def steps_to_follow(curve: np.ndarray, shift_at: int) -> int | None:
    """How many tokens after the shift until the memory stays closer to the new topic (None: never)."""
    after = curve[shift_at:] > 0
    if not after[-1]:
        return None
    last_behind = np.flatnonzero(~after)
    return 0 if len(last_behind) == 0 else int(last_behind[-1]) + 1


def topic_shift_experiment(factories: dict[str, MemoryFactory], n: int = 400, d: int = 32,
                           shift_at: int = 300, noise: float = 0.5, seed: int = 0) -> dict:
    """Tracking curves and steps-to-follow of every memory on one topic-shift sequence."""
    task = topic_shift(n, d, shift_at, noise, seed)
    curves = {name: tracking_curve(make(), task.keys, task.values, task.topics) for name, make in factories.items()}
    return {"curves": curves, "shift_at": shift_at,
            "steps_to_follow": {name: steps_to_follow(c, shift_at) for name, c in curves.items()}}


def nearest_value_accuracy(reads: np.ndarray, values: np.ndarray) -> float:
    """The fraction of rows j whose read is nearest (by cosine) to values[j] among all values."""
    def unit(x):
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-300)

    nearest = np.argmax(unit(reads) @ unit(values).T, axis=1)
    return float(np.mean(nearest == np.arange(len(values))))


def recall_accuracy(memory: Memory, keys: np.ndarray, values: np.ndarray) -> float:
    """Store every pair, query every key: the fraction whose read is nearest (by cosine) its own value."""
    for k, v in zip(keys, values):
        memory.update(k, v)
    return nearest_value_accuracy(np.array([memory.read(k) for k in keys]), values)


def recall_samples(factories: dict[str, MemoryFactory], n_pairs: list[int], d: int = 32,
                   seeds: int = 30) -> dict[str, np.ndarray]:
    """Recall accuracy of each memory, one row per number of stored pairs, one column per seed."""
    return {name: np.array([[recall_accuracy(make(), *associative_recall(n, d, seed=s, key_norm=np.sqrt(d)))
                             for s in range(seeds)] for n in n_pairs])
            for name, make in factories.items()}


def recall_experiment(factories: dict[str, MemoryFactory], n_pairs: list[int], d: int = 32,
                      seeds: int = 3) -> dict[str, list[float]]:
    """Mean recall accuracy of each memory against the number of stored pairs (keys of length sqrt(d))."""
    return {name: samples.mean(axis=1).tolist()
            for name, samples in recall_samples(factories, n_pairs, d, seeds).items()}


def fact_recall(memory: Memory, distance: int, d: int = 32, seed: int = 0, prefix: int = 0,
                consult_every: int | None = None) -> float:
    """cos(read(k*), v*) after a fact and `distance` distractor pairs (keys of length sqrt(d)).

    With `prefix` > 0 the fact comes after that many random opening pairs (so that it is not
    among the first tokens); with `consult_every` = m the memory is also read with k* after every
    m-th distractor (the reads are discarded), as when later text keeps referring to the fact.
    """
    task = fact_at_distance(distance, d, seed, key_norm=np.sqrt(d))
    if prefix:
        opening = associative_recall(prefix, d, seed=np.random.default_rng([seed, 1]), key_norm=np.sqrt(d))
        for k, v in zip(*opening):
            memory.update(k, v)
    for j, (k, v) in enumerate(zip(task.keys, task.values)):
        memory.update(k, v)
        if consult_every and j > 0 and j % consult_every == 0:
            memory.read(task.query)
    return float(cosine(memory.read(task.query), task.target))


def distance_samples(factories: dict[str, MemoryFactory], distances: list[int], d: int = 32,
                     seeds: int = 30, prefix: int = 0, consult_every: int | None = None) -> dict[str, np.ndarray]:
    """Fact-recall cosine of each memory, one row per distance, one column per seed (see fact_recall)."""
    return {name: np.array([[fact_recall(make(), D, d, s, prefix, consult_every) for s in range(seeds)]
                            for D in distances])
            for name, make in factories.items()}


def distance_experiment(factories: dict[str, MemoryFactory], distances: list[int], d: int = 32,
                        seeds: int = 3) -> dict[str, list[float]]:
    """Mean fact-recall cosine of each memory against the distance to the fact."""
    return {name: samples.mean(axis=1).tolist()
            for name, samples in distance_samples(factories, distances, d, seeds).items()}


def transformer_xl_reach(n_layers: int, n_mem: int) -> np.ndarray:
    """How far back (in tokens) layer l = 1..L can see with a cache of n_mem states per layer.

    A query at layer l attends to n_mem cached states of layer l - 1, each of which already saw
    (l - 1) * n_mem tokens back: the reach grows as l * n_mem (Dai et al., 2019).
    """
    return positive_int(n_mem, "n_mem") * np.arange(1, positive_int(n_layers, "n_layers") + 1)


def book_memories(n_c: int = 16) -> dict[str, MemoryFactory]:
    """The memories compared in chapter 8, each with the book's standard settings.

    n_c is the budget in pairs: a bounded memory of raw pairs holds at most n_c of them, counted
    by `state_size` (the compressive memory's n_s + n_mem + n_cmem = n_c; the summary takes one
    pair of the window's budget; 4 of the n_c are attention sinks). The kNN store, the full
    cache and the quantised caches grow with the sequence; the averages hold one pair; the
    matrix memories hold d x d numbers; Infini-attention gives half the budget to its window.
    """
    from .cache import FullCache, SlidingWindow
    from .cumavg import CumulativeAverage
    from .hybrid import InfiniAttention, SummaryWindow
    from .neural import DeltaRule, LinearAttention, MLPMemory, RNNMemory
    from .segments import CompressiveMemory, KNNMemory
    from .serving import HeavyHitters, QuantisedCache, SinkWindow
    from .windows import ExponentialAverage

    n_s = max(1, n_c // 4)  # the compressive memory: 1 segment raw, n_c/2 compressed pairs, 1 current
    n_sink = min(4, n_s)    # StreamingLLM keeps 4 sink tokens

    return {
        "full cache": FullCache,
        "cumulative average": CumulativeAverage,
        "exponential average": lambda: ExponentialAverage(1 - 1 / n_c),
        "sliding window": lambda: SlidingWindow(n_c),
        "summary + window": lambda: SummaryWindow(max(1, n_c - 1)),
        "compressive": lambda: CompressiveMemory(n_s=n_s, c=n_s, n_mem=n_s, n_cmem=max(1, n_c - 2 * n_s)),
        "kNN + window": lambda: KNNMemory(n_c=n_c, top_k=4, gate=0.5),
        "linear attention": lambda: LinearAttention(phi="identity", normalise=False),
        "delta rule": lambda: DeltaRule(beta=0.5),
        "MLP at test time": lambda: MLPMemory(),
        "RNN state": lambda: RNNMemory(d_hidden=64),
        "Infini-attention": lambda: InfiniAttention(n_c=max(1, n_c // 2)),
        "attention sinks + window": lambda: SinkWindow(n_sink=n_sink, n_c=max(1, n_c - n_sink)),
        "heavy hitters (H2O)": lambda: HeavyHitters(budget=max(2, n_c)),
        "int8 KV cache": lambda: QuantisedCache(bits=8, group=n_c),
        "int4 KV cache": lambda: QuantisedCache(bits=4, group=n_c),
    }


def capacity_curve(d: int, n_pairs, seeds: int = 3, orthogonal: bool = False) -> np.ndarray:
    """Mean recall cosine of an outer-product memory (phi = identity, no normaliser) against N."""
    from .neural import LinearAttention
    from .tasks import recall_cosines

    return np.array([np.mean([recall_cosines(LinearAttention(phi="identity", normalise=False),
                                             *associative_recall(n, d, seed=s, orthogonal=orthogonal)).mean()
                              for s in range(seeds)]) for n in n_pairs])


def t_quantile_975(dof: int) -> float:
    """The 97.5% quantile of Student's t with `dof` degrees of freedom (Cornish-Fisher expansion,
    Abramowitz and Stegun 26.7.5; within 0.003 of the exact value for dof >= 5, 2.0452 for dof = 29)."""
    z = 1.959963984540054
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    return z + g1 / dof + g2 / dof**2 + g3 / dof**3


def mean_interval(samples, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Mean and half-width of its 95% confidence interval, t * s / sqrt(n), along `axis`."""
    samples = np.asarray(samples, dtype=float)
    n = samples.shape[axis]
    if n < 2:
        raise ValueError(f"a confidence interval needs at least 2 samples; got {n}")
    half = t_quantile_975(n - 1) * samples.std(axis=axis, ddof=1) / np.sqrt(n)
    return samples.mean(axis=axis), half


def separated(mean_a: float, half_a: float, mean_b: float, half_b: float) -> bool:
    """True when two 95% intervals do not overlap: only then does the book call it a difference."""
    return mean_a - half_a > mean_b + half_b or mean_b - half_b > mean_a + half_a


def topic_shift_samples(factories: dict[str, MemoryFactory], seeds: int = 30, n: int = 400, d: int = 32,
                        shift_at: int = 300, noise: float = 0.5) -> dict[str, list[int | None]]:
    """Steps to follow the topic shift of each memory, one entry per seed (None: never follows)."""
    return {name: [topic_shift_experiment({name: make}, n, d, shift_at, noise, seed=s)["steps_to_follow"][name]
                   for s in range(seeds)]
            for name, make in factories.items()}


def peak_state_size(make: MemoryFactory, n: int = 1000, d: int = 32, seed: int = 0) -> int:
    """The most numbers (`state_size`) a memory holds at any step of n random pairs of dimension d."""
    from .tasks import rng_from

    rng = rng_from(seed)
    memory, peak = make(), 0
    for key, value in zip(rng.normal(size=(n, d)), rng.normal(size=(n, d))):
        memory.update(key, value)
        peak = max(peak, memory.state_size)
    return peak


def read_error(make: MemoryFactory, reference: MemoryFactory, n: int, d: int = 32, seed: int = 0) -> float:
    """max_j ||read(k_j) - reference read(k_j)|| / ||reference read(k_j)|| after the recall task's n pairs."""
    keys, values = associative_recall(n, d, seed=seed, key_norm=np.sqrt(d))
    memory, exact = make(), reference()
    for k, v in zip(keys, values):
        memory.update(k, v)
        exact.update(k, v)
    return float(max(np.linalg.norm(memory.read(k) - exact.read(k)) / np.linalg.norm(exact.read(k)) for k in keys))
