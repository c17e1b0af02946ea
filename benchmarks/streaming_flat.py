"""Time per streaming update as i grows, against recomputing the batch average at every step."""

from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import kvmem
from benchmarks.common import log, write_result

D = 64
CHECKPOINTS = [10, 100, 1_000, 10_000, 100_000, 1_000_000]
RECOMPUTE_UP_TO = 100_000
WINDOW = 200  # updates timed around each checkpoint


def streaming_times(keys: np.ndarray, values: np.ndarray) -> dict[int, float]:
    """Seconds per update near each checkpoint, in one pass of the stream to 10^6 + WINDOW."""
    memory = kvmem.CumulativeAverage()
    times = {}
    i = 0
    for checkpoint in CHECKPOINTS:
        while i < checkpoint:  # advance to the checkpoint
            memory.update(keys[i % len(keys)], values[i % len(values)])
            i += 1
        samples = []
        for _ in range(WINDOW):
            start = time.perf_counter()
            memory.update(keys[i % len(keys)], values[i % len(values)])
            samples.append(time.perf_counter() - start)
            i += 1
        times[checkpoint] = float(np.median(samples))
    return times


def recompute_times(keys: np.ndarray, values: np.ndarray) -> dict[int, float]:
    """Seconds to recompute Mem_i = batch mean of pairs 0..i from scratch, at each checkpoint."""
    times = {}
    for checkpoint in [c for c in CHECKPOINTS if c <= RECOMPUTE_UP_TO]:
        samples = []
        for _ in range(7):
            start = time.perf_counter()
            keys[: checkpoint + 1].mean(axis=0), values[: checkpoint + 1].mean(axis=0)
            samples.append(time.perf_counter() - start)
        times[checkpoint] = float(np.median(samples))
    return times


def main() -> dict:
    rng = np.random.default_rng(0)
    keys, values = rng.normal(size=(RECOMPUTE_UP_TO + 1, D)), rng.normal(size=(RECOMPUTE_UP_TO + 1, D))
    stream = streaming_times(keys, values)
    recompute = recompute_times(keys, values)
    ratio = stream[1_000_000] / stream[10]
    speedup = recompute[10_000] / stream[10_000]
    log(f"  ratio_late_to_early = {ratio:.2f}, speedup_at_1e4 = {speedup:.0f}")
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(list(stream), [t * 1e6 for t in stream.values()], "o-", color="#d55e00", label="streaming update")
    ax.plot(list(recompute), [t * 1e6 for t in recompute.values()], "s-", color="#1b1b1b",
            label="recompute the batch mean")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("position i")
    ax.set_ylabel("microseconds per token")
    ax.legend()
    result = {
        "description": f"CumulativeAverage.update (d = {D}) timed near each position, median of {WINDOW}",
        "ratio_late_to_early": ratio,
        "target_ratio_late_to_early": 1.5,
        "speedup_at_1e4": speedup,
        "streaming_s_per_token": {str(k): v for k, v in stream.items()},
        "recompute_s_per_token": {str(k): v for k, v in recompute.items()},
    }
    write_result("streaming_flat", result, fig)
    plt.close(fig)
    return result


if __name__ == "__main__":
    main()
