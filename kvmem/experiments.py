"""The experiments of chapters 4 to 7: each memory on the same seeded tasks."""

from __future__ import annotations

from typing import Callable

import numpy as np

from .checks import positive_int
from .memory import Memory
from .tasks import associative_recall, cosine, fact_at_distance, topic_shift
from .stats import mean_and_interval, mean_interval, median_and_interval, t_quantile_975  # noqa: F401  (the chapters use them from here)

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


#: Infini-attention's gate g (the weight of the local read) for chapter 8's window of n_c / 2 = 8
#: pairs: the best of the grid 0, 0.25, .., 1 on associative recall (d = 32, N = 4..128, tuning
#: seeds 1000..1009), which chapter 8 reruns and checks; chapter 6 found the same for n_c = 16.
INFINI_GATE = 0.25


def book_memories(n_c: int = 16) -> dict[str, MemoryFactory]:
    """The memories compared in chapter 8, each with the book's standard settings.

    n_c is the budget in pairs: a bounded memory of raw pairs holds at most n_c of them, counted
    by `state_size` (the compressive memory's n_s + n_mem + n_cmem = n_c; the summary takes one
    pair of the window's budget; 4 of the n_c are attention sinks). The kNN store, the full
    cache and the quantised caches grow with the sequence; the averages hold one pair; the
    matrix memories hold d x d numbers; Infini-attention gives half the budget to its window.
    The delta rule's beta = 0.1 and the MLP's defaults are the best settings of
    benchmarks/tune_neural.py (chapter 6), tuned on seeds 1000..1009, apart from the book's 0..29;
    Infini-attention's gate is INFINI_GATE, tuned the same way for its window here.
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
        "delta rule": lambda: DeltaRule(beta=0.1),
        "MLP at test time": lambda: MLPMemory(),
        "RNN state": lambda: RNNMemory(d_hidden=64),
        "Infini-attention": lambda: InfiniAttention(n_c=max(1, n_c // 2), gate=INFINI_GATE),
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
    return _propagate_reach(n_layers, reads)


def compressive_reach_by_propagation(n_layers: int, n_s: int, c: int, n_mem: int, n_cmem: int,
                                     n_tokens: int) -> np.ndarray:
    """Reach (tokens back) of every query at layers 1..L of a model whose every layer holds a
    CompressiveMemory(n_s, c, n_mem, n_cmem) of the states of the layer below.

    Layer l at position i reads the layer-(l-1) states that the memory holds after the update
    at i: the current segment, Mem, and CMem, whose pooled pairs each depend on every position
    of their span. Same result layout as `reach_by_propagation`.
    """
    from .segments import CompressiveMemory

    n_layers, n_tokens = positive_int(n_layers, "n_layers"), positive_int(n_tokens, "n_tokens")
    memory, reads = CompressiveMemory(n_s, c, n_mem, n_cmem), []
    for i in range(n_tokens):
        memory.update(np.zeros(1), np.zeros(1))
        pooled = [np.arange(first, last + 1) for first, last in memory.cmem_spans]
        reads.append(np.concatenate([*pooled, memory.positions()]))
    return _propagate_reach(n_layers, reads)


def _propagate_reach(n_layers: int, reads: list[np.ndarray]) -> np.ndarray:
    """i - (oldest token the layer-l state at i depends on), for l = 1..n_layers, when the
    state at i reads the layer-below states at positions reads[i]."""
    n_tokens = len(reads)
    oldest = np.arange(n_tokens)  # layer 0: each state is its own token
    reach = np.empty((n_layers, n_tokens), dtype=np.int64)
    for layer in range(n_layers):
        oldest = np.array([oldest[held].min() for held in reads])
        reach[layer] = np.arange(n_tokens) - oldest
    return reach


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


def crossover_length(result: dict, name: str, other: str = "full_attention", other_at: str = "median") -> float | None:
    """The sequence length at which `other` becomes slower than `name` in a scaling benchmark.

    Between the two measured lengths where the order of the two flips, log(seconds) is
    interpolated linearly in log(N). None when `other` is never slower; the first length when
    it is slower everywhere. `other_at`: "median" (the benchmark's estimate), or "q1" / "q3",
    the quartiles of `other`'s repetitions, which bracket how far the noise moves the crossover.
    """
    mine, theirs = result["runs"][name], result["runs"][other]
    n = np.log([r["n"] for r in mine])
    their_seconds = [r["seconds"] if other_at == "median" else r["seconds_spread"][other_at] for r in theirs]
    gap = np.log(their_seconds) - np.log([r["seconds"] for r in mine])
    if gap[0] > 0:
        return float(np.exp(n[0]))
    for a in range(len(gap) - 1):
        if gap[a] <= 0 < gap[a + 1]:
            return float(np.exp(n[a] - gap[a] * (n[a + 1] - n[a]) / (gap[a + 1] - gap[a])))
    return None


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
    """Recall accuracy of each memory (keys of length sqrt(d)): one row per N, one column per seed.
    `seeds` is a count (seeds 0..seeds-1) or the seeds themselves."""
    seeds = range(seeds) if isinstance(seeds, int) else seeds
    return {name: np.array([[recall_accuracy(make(), *associative_recall(n, d, seed=s, key_norm=np.sqrt(d)))
                             for s in seeds] for n in n_pairs])
            for name, make in factories.items()}


def sign_recall_accuracy(memory: Memory, directions: np.ndarray, fact_values: np.ndarray) -> float:
    """Query +u_p and -u_p for every fact p: the fraction of reads nearest (by cosine) w_p among
    all the facts' values (chance: 1 / number of facts)."""
    hits = [nearest_value_hits(np.array([memory.read(sign * u) for u in directions]), fact_values)
            for sign in (1.0, -1.0)]
    return float(np.mean(hits))


def sign_recall_curve(memory: Memory, task, checkpoints) -> np.ndarray:
    """`sign_recall_accuracy` after the first c writes of a `tasks.sign_invariant_recall` task,
    for each checkpoint c (increasing), writing the stream once."""
    accuracy, written = [], 0
    for c in checkpoints:
        if c < written or c > len(task.keys):
            raise ValueError(f"checkpoints must increase and stay within the {len(task.keys)} writes; got {list(checkpoints)}")
        for key, value in zip(task.keys[written:c], task.values[written:c]):
            memory.update(key, value)
        written = c
        accuracy.append(sign_recall_accuracy(memory, task.directions, task.fact_values))
    return np.array(accuracy)


def sign_recall_samples(factories: dict[str, MemoryFactory], n_facts: int, checkpoints, d: int = 32,
                        seeds=range(30), noise: float = 0.1) -> dict[str, np.ndarray]:
    """`sign_recall_curve` of each memory: one row per checkpoint, one column per seed."""
    from .tasks import sign_invariant_recall

    tasks_ = [sign_invariant_recall(n_facts, max(checkpoints), d, seed=s, noise=noise) for s in seeds]
    return {name: np.array([sign_recall_curve(make(), task, checkpoints) for task in tasks_]).T
            for name, make in factories.items()}


def tune(make: Callable[..., Memory], grid: dict[str, list], n_pairs, d: int = 32,
         seeds=range(1000, 1010)) -> list[tuple[dict, float]]:
    """Every combination of the settings in `grid`, scored by make(**settings)'s recall accuracy
    averaged over n_pairs and seeds; best first. Tune on seeds kept apart from the ones you report."""
    return grid_scores(make, grid, lambda factory: float(recall_samples({"": factory}, n_pairs, d, seeds)[""].mean()))


def grid_scores(make: Callable[..., Memory], grid: dict[str, list],
                score: Callable[[MemoryFactory], float]) -> list[tuple[dict, float]]:
    """(settings, score(factory)) for every combination of the settings in `grid`, the factory
    making make(**settings); best first (equal scores in the grid's order)."""
    import itertools

    names = list(grid)
    scored = []
    for combination in itertools.product(*(grid[name] for name in names)):
        settings = dict(zip(names, combination))
        scored.append((settings, score(lambda: make(**settings))))
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


def interval_order(mean_a, half_a, mean_b, half_b) -> np.ndarray:
    """+1 where a's 95% interval lies wholly above b's, -1 wholly below, 0 where they overlap."""
    return np.where(np.asarray(mean_a) - half_a > np.asarray(mean_b) + half_b, 1,
                    np.where(np.asarray(mean_a) + half_a < np.asarray(mean_b) - half_b, -1, 0))


def intervals_apart(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`interval_order` of two sets of samples, row by row (seeds along the last axis)."""
    return interval_order(*mean_interval(a), *mean_interval(b))


def separated(mean_a: float, half_a: float, mean_b: float, half_b: float) -> bool:
    """True when two 95% intervals do not overlap: only then does the book call it a difference."""
    return bool(interval_order(mean_a, half_a, mean_b, half_b) != 0)


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
