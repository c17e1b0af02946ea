"""Time per streaming update as i grows, against recomputing the batch average at every step.

One stream is advanced to each checkpoint i; there, REPEATS times and in turn, a copy of the
memory takes WINDOW more updates (timed together) and the batch mean of pairs 0..i is
recomputed (timed over RECOMPUTE_CALLS calls). CPU time, median of the repetitions; see
benchmarks.common.interleaved_times.
"""

from __future__ import annotations

import copy
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import kvmem
from benchmarks.common import REPEATS, log, spread, write_result

D = 64
CHECKPOINTS = [10, 100, 1_000, 10_000, 100_000, 1_000_000]
RECOMPUTE_UP_TO = 100_000
WINDOW = 200  # updates timed together after each checkpoint
RECOMPUTE_CALLS = 20


def cpu_seconds(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def measure(memory, keys, values, i: int) -> dict:
    """Per-token CPU seconds of the update just after position i and of recomputing Mem_i."""
    def updates(m):
        for j in range(i, i + WINDOW):
            m.update(keys[j % len(keys)], values[j % len(values)])

    def recompute():
        for _ in range(RECOMPUTE_CALLS):
            keys[: i + 1].mean(axis=0), values[: i + 1].mean(axis=0)

    stream, again = [], []
    for _ in range(REPEATS):
        fresh = copy.deepcopy(memory)  # the same state, position i, for every repetition
        stream.append(cpu_seconds(lambda: updates(fresh)) / WINDOW)
        if i <= RECOMPUTE_UP_TO:
            again.append(cpu_seconds(recompute) / RECOMPUTE_CALLS)
    return {"stream": stream, "recompute": again}


def main() -> dict:
    rng = np.random.default_rng(0)
    keys, values = rng.normal(size=(RECOMPUTE_UP_TO + 1, D)), rng.normal(size=(RECOMPUTE_UP_TO + 1, D))
    memory = kvmem.CumulativeAverage()
    samples = {}
    for checkpoint in CHECKPOINTS:
        for j in range(memory.count, checkpoint):  # advance the stream to the checkpoint
            memory.update(keys[j % len(keys)], values[j % len(values)])
        samples[checkpoint] = measure(memory, keys, values, checkpoint)
    stream = {i: float(np.median(s["stream"])) for i, s in samples.items()}
    recompute = {i: float(np.median(s["recompute"])) for i, s in samples.items() if s["recompute"]}
    at_1e4 = np.array(samples[10_000]["recompute"]) / np.array(samples[10_000]["stream"])  # paired
    ratio = stream[1_000_000] / stream[10]
    speedup = float(np.median(at_1e4))
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
        "description": f"CumulativeAverage.update (d = {D}): {WINDOW} updates after each position i, "
                       f"against recomputing Mem_i; CPU time, median of {REPEATS} repetitions timed in turn",
        "ratio_late_to_early": ratio,
        "target_ratio_late_to_early": 1.5,
        "speedup_at_1e4": speedup,
        "speedup_at_1e4_spread": spread(at_1e4),
        "streaming_s_per_token": {str(k): v for k, v in stream.items()},
        "recompute_s_per_token": {str(k): v for k, v in recompute.items()},
        "streaming_spread": {str(k): spread(s["stream"]) for k, s in samples.items()},
        "recompute_spread": {str(k): spread(s["recompute"]) for k, s in samples.items() if s["recompute"]},
    }
    write_result("streaming_flat", result, fig)
    return result


if __name__ == "__main__":
    main()
