"""Per-sequence time, peak memory and state size of every memory against full causal attention.

Each memory reads a sequence of N (q_i, k_i, v_i) token by token: update with (k_i, v_i), then
read with q_i, as a decoder does. Full attention is computed in blocks of queries
(kvmem.causal_attention) so that it fits in memory. The fitted log-log slope of time against N
is about 1 for a fixed-size memory and about 2 for full attention, once N is large enough that
the cost of the N x N scores outweighs the per-token overhead: the slopes are fitted over the
largest sizes only (N >= SLOPE_FROM_N). At each N all of them are
timed in turn, REPEATS_SCALING times; the estimate is the median CPU time (see
benchmarks.common.interleaved_times), the same estimator at every N.
"""

from __future__ import annotations

import tracemalloc

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import kvmem
from benchmarks.common import fit_slope, interleaved_times, log, spread, write_result
from kvmem.book import COLORS

D = 64
SIZES = [1024, 2048, 4096, 8192, 16384, 32768]

MEMORIES = {
    "cumavg": lambda: kvmem.CumulativeAverage(),
    "window_average": lambda: kvmem.WindowAverage(64),
    "ema": lambda: kvmem.ExponentialAverage(0.99),
    "sliding_window": lambda: kvmem.SlidingWindow(256),
    "summary_window": lambda: kvmem.SummaryWindow(256),
    "fifo": lambda: kvmem.FIFOMemory(n_s=256),
    "compressive": lambda: kvmem.CompressiveMemory(n_s=256, c=4, n_mem=256, n_cmem=256),
    "linear": lambda: kvmem.LinearAttention(),
    "delta": lambda: kvmem.DeltaRule(beta=0.5),
    "rnn": lambda: kvmem.RNNMemory(d_hidden=128),
    "knn": lambda: kvmem.KNNMemory(n_c=256, top_k=8),
}
GROWING = {"knn", "full_attention"}
REPEATS_SCALING = 5
# The slopes are fitted over N >= SLOPE_FROM_N, where the times have reached their asymptotic
# growth. Below it, the parts of full attention's cost that grow more slowly than N^2 (the loop
# over blocks of queries, per-call overhead) are not yet small, and they flatten the fit: over
# all six sizes its slope was 1.79, over the largest three 1.99 (AMD EPYC, 2026-11-26).
SLOPE_FROM_N = 8192


def sequence(n: int):
    rng = np.random.default_rng(n)
    return rng.normal(size=(3, n, D))


def run_memory(name: str, queries, keys, values) -> int:
    """Stream the sequence through a memory; return its state size (numbers) at the end."""
    if name == "full_attention":
        kvmem.causal_attention(queries, keys, values, block=256)
        return keys.size + values.size
    memory = MEMORIES[name]()
    kvmem.run(memory, keys, values, queries)
    return memory.state_size


def measure(names, n: int) -> dict[str, dict]:
    """Every memory at length n: median and spread of the CPU seconds, peak bytes, state size."""
    queries, keys, values = sequence(n)
    state = {}

    def timed(name):
        def run_and_keep_state_size():
            state[name] = run_memory(name, queries, keys, values)
        return run_and_keep_state_size

    cpu, wall = interleaved_times({name: timed(name) for name in names}, REPEATS_SCALING)
    results = {}
    for name in names:
        tracemalloc.start()
        run_memory(name, queries, keys, values)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        results[name] = {"n": n, "seconds": float(np.median(cpu[name])), "seconds_spread": spread(cpu[name]),
                         "wall_seconds": float(np.median(wall[name])), "peak_bytes": peak,
                         "state_numbers": state[name]}
    return results


DESCRIPTION = (f"token-by-token update + read for N = {SIZES[0]:,}..{SIZES[-1]:,}, d = {D}; "
               "full attention in blocks of 256 queries (numpy's BLAS on one thread); CPU time, "
               f"median of {REPEATS_SCALING} repetitions with all memories timed in turn; "
               "peak_bytes from tracemalloc (it includes the N x d reads returned); "
               f"slope_<name>: log-log slope of the time against N fitted over N >= {SLOPE_FROM_N:,} only "
               "(slope_fit_sizes), the asymptotic range: at smaller N the costs that grow more slowly than "
               "N^2 hide part of full attention's growth")


def asymptotic_slopes(runs: dict) -> dict[str, float]:
    """slope_<name>: the log-log slope of the median time against N, over N >= SLOPE_FROM_N."""
    slopes = {}
    for name, results in runs.items():
        fitted = [r for r in results if r["n"] >= SLOPE_FROM_N]
        slopes[f"slope_{name}"] = fit_slope([r["n"] for r in fitted], [r["seconds"] for r in fitted])
    return slopes


def main() -> dict:
    names = list(MEMORIES) + ["full_attention"]
    runs = {name: [] for name in names}
    for n in SIZES:
        for name, result in measure(names, n).items():
            runs[name].append(result)
        log(f"  N = {n:,} done")
    slopes = asymptotic_slopes(runs)
    for name in names:
        log(f"  {name:15s} slope {slopes['slope_' + name]:.2f}   {runs[name][-1]['seconds']:.2f} s at N = {SIZES[-1]:,}")
    full_at_max = runs["full_attention"][-1]["seconds"]
    speedups = {name: full_at_max / runs[name][-1]["seconds"] for name in MEMORIES}
    fig, (ax_time, ax_state) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name in names:
        color = COLORS.get(name.split("_")[0], None) if name != "full_attention" else COLORS["full"]
        style = "--" if name in GROWING else "-"
        ax_time.plot(SIZES, [r["seconds"] for r in runs[name]], style, marker="o", ms=3, color=color, label=name)
        ax_state.plot(SIZES, [r["state_numbers"] for r in runs[name]], style, marker="o", ms=3, color=color)
    for ax, ylabel in ((ax_time, "CPU seconds per sequence"), (ax_state, "numbers held at the end")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("sequence length N")
        ax.set_ylabel(ylabel)
    ax_time.legend(fontsize=7, ncol=2)
    result = {
        "description": DESCRIPTION,
        **slopes,
        "slope_fit_sizes": [n for n in SIZES if n >= SLOPE_FROM_N],
        "target_slope_fixed_size_max": 1.15,
        "target_slope_full_attention_min": 1.8,
        "speedup_at_max_n": speedups["cumavg"],
        "speedup_at_max_n_by_memory": speedups,
        "runs": runs,
    }
    write_result("scaling", result, fig)
    return result


if __name__ == "__main__":
    main()
