"""Trained multi-query associative recall: the held-out accuracy of a one-layer model around each
memory (kvmem.trained), as the number of key-value pairs N grows past what a fixed-size memory
of d^2 numbers holds; SEEDS seeds per (memory, N), mean and 95% t-interval.

Run: python -m benchmarks.trained_recall (or make benchmarks). Trains len(MEMORIES) x len(SIZES)
x SEEDS small models on WORKERS processes, one BLAS thread each.
"""

from __future__ import annotations

import multiprocessing
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from benchmarks.common import log, write_result
from kvmem.book import memory_style
from kvmem.trained import (MEMORIES, RecallConfig, held_out_accuracy, memory_dims, query_blind_accuracy,
                           state_size, t_interval, train)

SIZES = (4, 8, 16, 32)
SEEDS = 5
WORKERS = 2
CONFIG = dict(vocab_size=80, d_model=16, d=16, steps=300, batch=16, lr=0.03, n_test=256)


def one_run(job: tuple[str, int, int]) -> dict:
    """Train memory `name` on MQAR with n_pairs pairs from seed `seed`; its held-out accuracy."""
    name, n_pairs, seed = job
    config = RecallConfig(n_pairs=n_pairs, **CONFIG)
    start = time.perf_counter()
    params, losses = train(name, config, seed)
    return {"memory": name, "n_pairs": n_pairs, "seed": seed,
            "accuracy": held_out_accuracy(name, params, config, seed),
            "final_loss": float(losses[-20:].mean()), "seconds": time.perf_counter() - start}


def summarise(values) -> dict:
    mean, half = t_interval(values)
    return {"mean": mean, "low": mean - half, "high": mean + half}


def plot(result: dict):
    fig, ax = plt.subplots(figsize=(7.5, 4))
    sizes = result["config"]["sizes"]
    for name in MEMORIES:
        stats = result["accuracy"][name]
        style = memory_style(name)
        ax.plot(sizes, [s["mean"] for s in stats], **style)
        low, high = np.clip([s["low"] for s in stats], 0, 1), np.clip([s["high"] for s in stats], 0, 1)
        ax.fill_between(sizes, low, high, color=style["color"], alpha=0.15)  # an accuracy lies in [0, 1]
    blind = result["query_blind"]
    ax.plot(sizes, [s["mean"] for s in blind], color="#999999", ls=":", label="most common stored value")
    d = result["config"]["d"]
    ax.axvline(d, color="#bbbbbb", lw=1)
    ax.text(d, 1.02, " N = d", color="#777777", va="bottom", fontsize=8)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.set_xlabel("key-value pairs N in the sequence")
    ax.set_ylabel("held-out recall accuracy")
    ax.set_ylim(-0.02, 1.08)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return fig


def main() -> dict:
    os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")  # read by the workers
    jobs = [(name, n, seed) for n in reversed(SIZES) for name in MEMORIES for seed in range(SEEDS)]
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(WORKERS) as pool:
        runs = pool.map(one_run, jobs, chunksize=1)
    seconds = time.perf_counter() - start

    def accuracies(name, n):
        return [r["accuracy"] for r in runs if r["memory"] == name and r["n_pairs"] == n]

    configs = {n: RecallConfig(n_pairs=n, **CONFIG) for n in SIZES}
    result = {
        "description": "held-out MQAR accuracy of a one-layer model trained around each memory; "
                       f"{SEEDS} seeds per (memory, N), mean and 95% t-interval",
        "config": {**CONFIG, "sizes": list(SIZES), "seeds": SEEDS, "workers": WORKERS, "memories": list(MEMORIES),
                   "n_queries": "n_pairs", "seq_len": "3 n_pairs", "window_n_c": memory_dims("window", CONFIG["d"]).n_c,
                   "ema_beta": RecallConfig().ema_beta},
        "state_size": {name: [state_size(name, configs[n]) for n in SIZES] for name in MEMORIES},
        "accuracy": {name: [summarise(accuracies(name, n)) for n in SIZES] for name in MEMORIES},
        "query_blind": [summarise([query_blind_accuracy(configs[n], seed) for seed in range(SEEDS)]) for n in SIZES],
        "runs": runs,
        "seconds": seconds,
    }
    for name in MEMORIES:
        log(f"  {name:12s} state {result['state_size'][name]}  accuracy "
            + "  ".join(f"{s['mean']:.2f} [{s['low']:.2f}, {s['high']:.2f}]" for s in result["accuracy"][name]))
    log(f"  {len(runs)} trainings in {seconds:.0f} s on {WORKERS} workers")
    fig = plot(result)
    write_result("trained_recall", result, fig)
    return result


if __name__ == "__main__":
    main()
