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


def nearest_value_hits(reads: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each row j: True where reads[j] is nearest (by cosine) to values[j] among all values."""
    def unit(x):
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-300)

    return np.argmax(unit(reads) @ unit(values).T, axis=1) == np.arange(len(values))


def nearest_value_accuracy(reads: np.ndarray, values: np.ndarray) -> float:
    """The fraction of rows j whose read is nearest (by cosine) to values[j] among all values."""
    return float(np.mean(nearest_value_hits(reads, values)))


def recall_hits(memory: Memory, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Store every pair, query every key: True where the read is nearest (by cosine) its own value."""
    for k, v in zip(keys, values):
        memory.update(k, v)
    return nearest_value_hits(np.array([memory.read(k) for k in keys]), values)


def recall_accuracy(memory: Memory, keys: np.ndarray, values: np.ndarray) -> float:
    """Store every pair, query every key: the fraction whose read is nearest (by cosine) its own value."""
    return float(np.mean(recall_hits(memory, keys, values)))


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


def transformer_xl_reach(n_layers: int, n_mem: int) -> np.ndarray:
    """How far back (in tokens) layer l = 1..L can see with a cache of n_mem states per layer.

    A query at layer l attends to n_mem cached states of layer l - 1, each of which already saw
    (l - 1) * n_mem tokens back: the reach grows as l * n_mem (Dai et al., 2019).
    """
    return positive_int(n_mem, "n_mem") * np.arange(1, positive_int(n_layers, "n_layers") + 1)


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


# --- Statistics over seeds (chapter 6 on): every conclusion rests on at least 30 seeds. ---


def t_quantile_975(df: int) -> float:
    """The 97.5% quantile of Student's t with `df` degrees of freedom, by the Cornish-Fisher
    expansion around the normal quantile z = 1.959964 (Abramowitz and Stegun 26.7.5):

    t = z + g1/df + g2/df^2 + g3/df^3 + g4/df^4, with g1 = (z^3 + z)/4,
    g2 = (5z^5 + 16z^3 + 3z)/96, g3 = (3z^7 + 19z^5 + 17z^3 - 15z)/384,
    g4 = (79z^9 + 776z^7 + 1482z^5 - 1920z^3 - 945z)/92160.
    Within 1e-3 of the exact value for df >= 4, and 1e-6 for df >= 29 (30 seeds); for df <= 3,
    where the expansion is poor, the printed table's values.
    """
    df = positive_int(df, "df")
    if df <= 3:
        return (12.7062, 4.3027, 3.1824)[df - 1]
    z = 1.959963984540054
    g = ((z**3 + z) / 4, (5 * z**5 + 16 * z**3 + 3 * z) / 96, (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384,
         (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160)
    return float(z + sum(g_k / df ** (k + 1) for k, g_k in enumerate(g)))


def mean_interval(samples, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Mean over `axis` and the half-width of its 95% confidence interval, t * s / sqrt(n)."""
    samples = np.asarray(samples, dtype=float)
    n = samples.shape[axis]
    if n < 2:
        raise ValueError(f"a confidence interval needs at least 2 samples along axis {axis}; got {n}")
    half = t_quantile_975(n - 1) * samples.std(axis=axis, ddof=1) / np.sqrt(n)
    return samples.mean(axis=axis), half


def capacity_samples(d: int, n_pairs, seeds=range(30), orthogonal: bool = False) -> np.ndarray:
    """Recall cosine of an outer-product memory (phi = identity, no normaliser), averaged over
    the stored pairs: one row per N in n_pairs, one column per seed."""
    from .neural import LinearAttention
    from .tasks import recall_cosines

    return np.array([[recall_cosines(LinearAttention(phi="identity", normalise=False),
                                     *associative_recall(n, d, seed=s, orthogonal=orthogonal)).mean()
                      for s in seeds] for n in n_pairs])


def recall_samples(factories: dict[str, MemoryFactory], n_pairs, d: int = 32,
                   seeds=range(30)) -> dict[str, np.ndarray]:
    """Recall accuracy of each memory (keys of length sqrt(d)): one row per N, one column per seed."""
    return {name: np.array([[recall_accuracy(make(), *associative_recall(n, d, seed=s, key_norm=np.sqrt(d)))
                             for s in seeds] for n in n_pairs])
            for name, make in factories.items()}


def tune(make: Callable[..., Memory], grid: dict[str, list], n_pairs, d: int = 32,
         seeds=range(1000, 1010)) -> list[tuple[dict, float]]:
    """Every combination of the settings in `grid`, scored by make(**settings)'s recall accuracy
    averaged over n_pairs and seeds; best first. Tune on seeds kept apart from the ones you report."""
    import itertools

    names = list(grid)
    scored = []
    for combination in itertools.product(*(grid[name] for name in names)):
        settings = dict(zip(names, combination))
        samples = recall_samples({"": lambda: make(**settings)}, n_pairs, d, seeds)[""]
        scored.append((settings, float(samples.mean())))
    return sorted(scored, key=lambda pair: -pair[1])


def recall_by_age(factories: dict[str, MemoryFactory], n_pairs: int, n_recent: int, d: int = 32,
                  seeds=range(30)) -> dict[str, np.ndarray]:
    """Recall accuracy of the older pairs (all but the last n_recent) and of the n_recent newest,
    per seed: for each memory an array of shape (2, seeds), row 0 old, row 1 recent."""
    out = {}
    for name, make in factories.items():
        hits = [recall_hits(make(), *associative_recall(n_pairs, d, seed=s, key_norm=np.sqrt(d))) for s in seeds]
        out[name] = np.array([[h[:-n_recent].mean() for h in hits], [h[-n_recent:].mean() for h in hits]])
    return out


def interval_table(samples: dict[str, np.ndarray], columns: list[str], digits: int = 2,
                   first: str = "memory", labels: dict | None = None) -> str:
    """A Markdown table: one row per name, one column per row of its samples, each cell
    'mean ± half-width of the 95% interval' over the seeds (the samples' last axis)."""
    lines = [f"| {first} | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for name, rows in samples.items():
        mean, half = mean_interval(rows)
        cells = " | ".join(f"{m:.{digits}f} ± {h:.{digits}f}" for m, h in zip(mean, half))
        lines.append(f"| {(labels or {}).get(name, name)} | {cells} |")
    return "\n".join(lines)


def intervals_apart(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each row: +1 where a's 95% interval lies wholly above b's, -1 wholly below, 0 where they overlap."""
    mean_a, half_a = mean_interval(a)
    mean_b, half_b = mean_interval(b)
    return np.where(mean_a - half_a > mean_b + half_b, 1, np.where(mean_a + half_a < mean_b - half_b, -1, 0))
