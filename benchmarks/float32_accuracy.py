"""Relative error of five float32 means of many streams, at lengths 10^3 to 10^7.

Each of N_STREAMS streams holds numbers uniform in [0, 1) (stream s is drawn by
np.random.default_rng(s)); the reference is the exact mean (math.fsum in float64). One stream
can be lucky or unlucky, so the chapter reports the median and the spread over all streams.
The two streaming updates walk all streams at once: coordinate s of one float32 RunningMean is
stream s, which gives the same bits as a RunningMean per stream (checked on stream 0 below).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from benchmarks.common import log, write_result
from kvmem.cumavg import RunningMean, prefix_mean
from kvmem.numerics import METHODS, exact_mean, incremental_mean, naive_sum_mean, pairwise_mean

N_STREAMS = 32
LENGTHS = [10**3, 10**4, 10**5, 10**6, 10**7]
N = LENGTHS[-1]
CHUNK = 100_000  # steps drawn at a time for the streaming updates (keeps memory small)

NAIVE, INCREMENTAL, PAIRWISE, COMPENSATED = METHODS  # the labels of kvmem.numerics
PREFIX = "prefix sums (chapter 2)"


def draw(s: int, n: int = N) -> np.ndarray:
    return np.random.default_rng(s).random(n, dtype=np.float32)


def batch_means(stream: np.ndarray) -> dict[str, list[float]]:
    """Means of the prefixes of one stream that need the stream in memory, one per length."""
    prefix = prefix_mean(stream[:, None], name="stream")[:, 0]  # chapter 2's all-prefix means
    return {"exact": [exact_mean(stream[:n]) for n in LENGTHS],
            NAIVE: [naive_sum_mean(stream[:n]) for n in LENGTHS],
            PAIRWISE: [pairwise_mean(stream[:n]) for n in LENGTHS],
            PREFIX: [float(prefix[n - 1]) for n in LENGTHS]}


def streaming_means() -> dict[str, np.ndarray]:
    """The incremental and the compensated update of every stream at every length: (lengths, streams)."""
    generators = [np.random.default_rng(s) for s in range(N_STREAMS)]
    plain, compensated = RunningMean(), RunningMean(compensated=True)
    out = {INCREMENTAL: [], COMPENSATED: []}
    checkpoints = set(LENGTHS)
    for _ in range(N // CHUNK):
        block = np.stack([g.random(CHUNK, dtype=np.float32) for g in generators], axis=1)
        for row in block:
            plain.add(row)
            compensated.add(row)
            if plain.count in checkpoints:
                out[INCREMENTAL].append(plain.mean.astype(np.float64))
                out[COMPENSATED].append(compensated.mean.astype(np.float64))
    return {name: np.array(means) for name, means in out.items()}


def main() -> dict:
    streaming = streaming_means()
    check = draw(0, LENGTHS[1])
    assert float(streaming[INCREMENTAL][1, 0]) == incremental_mean(check), "vector and scalar updates differ"
    per_stream = [batch_means(draw(s)) for s in range(N_STREAMS)]
    exact = np.array([m["exact"] for m in per_stream]).T  # (lengths, streams)
    means = {NAIVE: None, INCREMENTAL: streaming[INCREMENTAL], PAIRWISE: None,
             COMPENSATED: streaming[COMPENSATED], PREFIX: None}
    for name in (NAIVE, PAIRWISE, PREFIX):
        means[name] = np.array([m[name] for m in per_stream]).T
    errors = {name: np.abs(m - exact) / np.abs(exact) for name, m in means.items()}
    median = {name: np.median(e, axis=1).tolist() for name, e in errors.items()}
    for name in errors:
        log(f"  {name:26s} median over {N_STREAMS} streams: " + " ".join(f"{m:.1e}" for m in median[name]))

    from kvmem.book import setup
    from kvmem.plots import plot_float32_errors

    setup()
    fig, ax = plt.subplots()
    plot_float32_errors(ax, LENGTHS, {name: e.tolist() for name, e in errors.items()})
    at_n = {name: float(median[name][-1]) for name in errors}
    result = {
        "description": (f"relative error of float32 means of {N_STREAMS} streams of numbers uniform in [0, 1) "
                        f"(stream s from np.random.default_rng(s)), at lengths {LENGTHS}; "
                        "reference math.fsum in float64"),
        "n": N,
        "n_streams": N_STREAMS,
        "lengths": LENGTHS,
        # errors[method][length index][stream]
        "errors": {name: e.tolist() for name, e in errors.items()},
        "median": median,
        # medians over the streams at n = 10^7 (the keys of the one-stream version of this file)
        "naive_sum": at_n[NAIVE],
        "incremental_update": at_n[INCREMENTAL],
        "pairwise_np_mean": at_n[PAIRWISE],
        "compensated_streaming": at_n[COMPENSATED],
        "prefix_sums": at_n[PREFIX],
        "target_compensated_streaming": 1e-6,
    }
    write_result("float32_accuracy", result, fig)
    return result


if __name__ == "__main__":
    main()
