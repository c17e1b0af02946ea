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


def recall_experiment(factories: dict[str, MemoryFactory], n_pairs: list[int], d: int = 32,
                      seeds: int = 3) -> dict[str, list[float]]:
    """Mean recall accuracy of each memory against the number of stored pairs (keys of length sqrt(d))."""
    return {name: [float(np.mean([recall_accuracy(make(), *associative_recall(n, d, seed=s, key_norm=np.sqrt(d)))
                                  for s in range(seeds)])) for n in n_pairs]
            for name, make in factories.items()}


def fact_recall(memory: Memory, distance: int, d: int = 32, seed: int = 0) -> float:
    """cos(read(k*), v*) after a fact and `distance` distractor pairs (keys of length sqrt(d))."""
    task = fact_at_distance(distance, d, seed, key_norm=np.sqrt(d))
    for k, v in zip(task.keys, task.values):
        memory.update(k, v)
    return float(cosine(memory.read(task.query), task.target))


def distance_experiment(factories: dict[str, MemoryFactory], distances: list[int], d: int = 32,
                        seeds: int = 3) -> dict[str, list[float]]:
    """Mean fact-recall cosine of each memory against the distance to the fact."""
    return {name: [float(np.mean([fact_recall(make(), D, d, s) for s in range(seeds)])) for D in distances]
            for name, make in factories.items()}


def transformer_xl_reach(n_layers: int, n_s: int, n_mem: int | None = None) -> np.ndarray:
    """Shortest and longest reach (tokens back) of a query at layers l = 1..L of a Transformer-XL.

    The reach of a query at position i in layer l is i - j for the oldest token j that its
    output depends on. Layer l at position p attends over the layer-(l-1) states of positions
    s(p) - n_mem .. p, where s(p) is the first position of p's segment. For a query at offset
    o = p - s(p) (0 <= o < n_s), far enough from the start of the sequence, this gives
        reach = n_mem + (l - 1) * n_s * ceil(n_mem / n_s) + o,
    which is l * n_mem + o when n_mem is a multiple of n_s. With n_mem = n_s (one cached
    segment, Transformer-XL in training) a query at layer l reaches between l * n_s and
    (l + 1) * n_s - 1 tokens back. Row l - 1 of the result is (shortest, longest): o = 0 and
    o = n_s - 1.
    """
    n_layers, n_s = positive_int(n_layers, "n_layers"), positive_int(n_s, "n_s")
    n_mem = positive_int(n_mem if n_mem is not None else n_s, "n_mem")
    step = n_s * -(-n_mem // n_s)  # the oldest cached position moves back to a segment start
    shortest = n_mem + step * np.arange(n_layers)
    return np.stack([shortest, shortest + n_s - 1], axis=1)


def book_memories(n_c: int = 16) -> dict[str, MemoryFactory]:
    """The memories compared in chapter 8, each with the book's standard settings.

    n_c is the budget of raw pairs for the memories that keep some (window, segments, hybrids).
    """
    from .cache import FullCache, SlidingWindow
    from .cumavg import CumulativeAverage
    from .hybrid import InfiniAttention, SummaryWindow
    from .neural import DeltaRule, LinearAttention, MLPMemory, RNNMemory
    from .segments import CompressiveMemory, KNNMemory
    from .windows import ExponentialAverage

    return {
        "full cache": FullCache,
        "cumulative average": CumulativeAverage,
        "exponential average": lambda: ExponentialAverage(1 - 1 / n_c),
        "sliding window": lambda: SlidingWindow(n_c),
        "summary + window": lambda: SummaryWindow(n_c),
        "compressive": lambda: CompressiveMemory(n_s=n_c // 2, c=4, n_mem=n_c // 2, n_cmem=n_c // 2),
        "kNN + window": lambda: KNNMemory(n_c=n_c, top_k=4, gate=0.5),
        "linear attention": lambda: LinearAttention(phi="identity", normalise=False),
        "delta rule": lambda: DeltaRule(beta=0.5),
        "MLP at test time": lambda: MLPMemory(),
        "RNN state": lambda: RNNMemory(d_hidden=64),
        "Infini-attention": lambda: InfiniAttention(n_c=n_c),
    }


def capacity_curve(d: int, n_pairs, seeds: int = 3, orthogonal: bool = False) -> np.ndarray:
    """Mean recall cosine of an outer-product memory (phi = identity, no normaliser) against N."""
    from .neural import LinearAttention
    from .tasks import recall_cosines

    return np.array([np.mean([recall_cosines(LinearAttention(phi="identity", normalise=False),
                                             *associative_recall(n, d, seed=s, orthogonal=orthogonal)).mean()
                              for s in range(seeds)]) for n in n_pairs])


def reach_by_propagation(n_layers: int, n_s: int, n_mem: int | None, n_tokens: int) -> np.ndarray:
    """Reach (tokens back) of every query at layers 1..L, found by propagating dependencies.

    Layer l at position i reads the layer-(l-1) states of exactly the positions that a
    FIFOMemory(n_s, n_mem) holds after the update at i (n_mem = 0: the current segment only).
    The oldest token each layer-l state depends on is the oldest among those it reads.
    Returns an array of shape (n_layers, n_tokens): row l - 1 holds i - (oldest token).
    """
    from .segments import FIFOMemory

    n_layers, n_s, n_tokens = positive_int(n_layers, "n_layers"), positive_int(n_s, "n_s"), positive_int(n_tokens, "n_tokens")
    if n_mem == 0:
        reads = [np.arange(i - i % n_s, i + 1) for i in range(n_tokens)]
    else:
        memory, reads = FIFOMemory(n_s, n_mem), []
        for i in range(n_tokens):
            memory.update(np.zeros(1), np.zeros(1))
            reads.append(memory.positions())
    oldest = np.arange(n_tokens)  # layer 0: each state is its own token
    reach = np.empty((n_layers, n_tokens), dtype=np.int64)
    for layer in range(n_layers):
        oldest = np.array([oldest[held].min() for held in reads])
        reach[layer] = np.arange(n_tokens) - oldest
    return reach


def mean_and_interval(samples, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and half-width of its 95% confidence interval (Student's t) along `axis`.

    The half-width is t_{0.975, n-1} * s / sqrt(n), with s the sample standard deviation.
    """
    samples = np.asarray(samples, dtype=float)
    n = samples.shape[axis]
    if n < 2:
        raise ValueError(f"a confidence interval needs at least 2 samples along axis {axis}; got {n}")
    half = _t_975(n - 1) * samples.std(axis=axis, ddof=1) / np.sqrt(n)
    return samples.mean(axis=axis), half


def median_and_interval(samples, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and a 95% confidence interval for it along `axis`, free of any distribution.

    With n samples sorted, the interval runs from the r-th smallest to the r-th largest, with r
    the largest rank for which P(Binomial(n, 1/2) < r) <= 0.025: the true median lies below the
    r-th smallest sample only when fewer than r samples fall below it. Needs n >= 6.
    """
    from math import comb

    samples = np.sort(np.asarray(samples, dtype=float), axis=axis)
    n = samples.shape[axis]
    below = np.cumsum([comb(n, j) for j in range(n + 1)]) / 2**n  # below[j] = P(Bin(n, 1/2) <= j)
    ranks = [r for r in range(1, n // 2 + 1) if below[r - 1] <= 0.025]
    if not ranks:
        raise ValueError(f"a 95% interval for the median needs at least 6 samples along axis {axis}; got {n}")
    r = ranks[-1]
    low, high = np.take(samples, r - 1, axis=axis), np.take(samples, n - r, axis=axis)
    return np.median(samples, axis=axis), low, high


def _t_975(df: int) -> float:
    """The 0.975 quantile of Student's t with df degrees of freedom (bisection on its CDF)."""
    from math import lgamma, pi

    def density(x):
        return np.exp(lgamma((df + 1) / 2) - lgamma(df / 2)) / np.sqrt(df * pi) * (1 + x * x / df) ** (-(df + 1) / 2)

    grid = np.linspace(0.0, 1.0, 2001)

    def cdf_above_half(t):  # P(0 < T < t) by Simpson's rule
        x = grid * t
        y = density(x)
        return t / 6000 * (y[0] + y[-1] + 4 * y[1:-1:2].sum() + 2 * y[2:-1:2].sum())

    low, high = 0.0, 20.0  # t_{0.975} < 12.71 for every df >= 1
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if cdf_above_half(mid) < 0.475 else (low, mid)
    return (low + high) / 2


def fact_recall_curve(memory: Memory, distances, d: int = 32, seed: int = 0) -> np.ndarray:
    """cos(read(k*), v*) at every distance D in `distances`, from one stream.

    The fact (k*, v*) is at position 0 and random pairs follow (keys of length sqrt(d)); the
    memory is read with q = k* after the update at position D. Reads do not change the memory,
    so one stream of max(D) + 1 pairs serves every distance.
    """
    distances = sorted(int(D) for D in distances)
    task = fact_at_distance(distances[-1], d, seed, key_norm=np.sqrt(d))
    wanted, out = set(distances), {}
    for i, (k, v) in enumerate(zip(task.keys, task.values)):
        memory.update(k, v)
        if i in wanted:
            out[i] = float(cosine(memory.read(task.query), task.target))
    return np.array([out[D] for D in distances])


def distance_experiment_with_intervals(factories: dict[str, MemoryFactory], distances, d: int = 32,
                                       seeds: int = 30) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Mean fact-recall cosine and its 95% half-width, per memory, at each distance (seeds 0..seeds-1)."""
    return {name: mean_and_interval([fact_recall_curve(make(), distances, d, s) for s in range(seeds)])
            for name, make in factories.items()}


def state_in_pairs(factories: dict[str, MemoryFactory], n_tokens: int, d: int = 32, warm_up: int = 0,
                   seed: int = 0) -> dict[str, tuple[int, int]]:
    """(fewest, most) pairs each memory holds after the updates at positions warm_up..n_tokens-1.

    Pairs are counted from `state_size` (numbers held) divided by d_k + d_v.
    """
    rng = np.random.default_rng(seed)
    keys, values = rng.normal(size=(2, n_tokens, d))
    sizes = {}
    for name, make in factories.items():
        memory, held = make(), []
        for i in range(n_tokens):
            memory.update(keys[i], values[i])
            if i >= warm_up:
                held.append(memory.state_size / (2 * d))
        sizes[name] = (min(held), max(held))
    return sizes


def crossover_length(result: dict, name: str, other: str = "full_attention") -> float | None:
    """The sequence length at which `other` becomes slower than `name` in a scaling benchmark.

    Between the two measured lengths where the order of the two flips, log(seconds) is
    interpolated linearly in log(N). None when `other` is never slower; the first length when
    it is slower everywhere.
    """
    mine, theirs = result["runs"][name], result["runs"][other]
    n = np.log([r["n"] for r in mine])
    gap = np.log([r["seconds"] for r in theirs]) - np.log([r["seconds"] for r in mine])
    if gap[0] > 0:
        return float(np.exp(n[0]))
    for a in range(len(gap) - 1):
        if gap[a] <= 0 < gap[a + 1]:
            return float(np.exp(n[a] - gap[a] * (n[a + 1] - n[a]) / (gap[a + 1] - gap[a])))
    return None
