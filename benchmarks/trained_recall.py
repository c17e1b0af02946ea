"""Trained multi-query associative recall: the held-out accuracy of a one-layer model around each
memory (kvmem.trained), as the number of key-value pairs N grows past what a fixed-size memory
of d^2 numbers holds; mean and 95% t-interval over the seeds.

Every model trains for STEPS steps of Adam with a cosine decay of the rate (from lr to 0), on
SEEDS seeds per (memory, N); at N = 2d, where the study's conclusions rest (the delta rule
against linear attention, and linear attention's three feature maps), the memories of
KEY_MEMORIES get KEY_SEEDS seeds. A convergence check trains seeds 0..CHECK_SEEDS-1 of the
memories of CHECK_MEMORIES at N = 2d for CHECK_FACTOR times the steps and records both accuracies.

Run: python -m benchmarks.trained_recall (or make benchmarks). Trains the jobs on WORKERS
processes, one BLAS thread each. Finished runs are appended to CHECKPOINT (one JSON per line),
and a rerun skips the jobs found there, so an interrupted run can be resumed; delete the file
to start afresh.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from benchmarks.common import ONE_THREAD, RESULTS, log, write_result
from kvmem.book import memory_style
from kvmem.trained import (MEMORIES, RecallConfig, held_out_accuracy, memory_dims, query_blind_accuracy,
                           state_size, t_interval, train)

SIZES = (4, 8, 16, 32)
SEEDS = 10
KEY_SEEDS = 30
KEY_MEMORIES = ("linear", "linear_identity", "linear_unit", "delta")
CHECK_SEEDS = 3
CHECK_FACTOR = 4
CHECK_MEMORIES = ("linear", "linear_unit", "delta")
WORKERS = 2
CONFIG = dict(vocab_size=80, d_model=16, d=16, steps=400, batch=16, lr=0.03, n_test=256, schedule="cosine")
CHECKPOINT = Path(os.environ.get("TRAINED_RECALL_CHECKPOINT", RESULTS / ".trained_recall_runs.jsonl"))


def seeds_for(name: str, n_pairs: int) -> int:
    return KEY_SEEDS if name in KEY_MEMORIES and n_pairs == 2 * CONFIG["d"] else SEEDS


def one_run(job: tuple[str, int, int, int]) -> dict:
    """Train memory `name` on MQAR with n_pairs pairs from seed `seed` for `steps` steps; its held-out accuracy."""
    name, n_pairs, seed, steps = job
    config = RecallConfig(n_pairs=n_pairs, **{**CONFIG, "steps": steps})
    start = time.process_time()
    params, losses = train(name, config, seed)
    return {"memory": name, "n_pairs": n_pairs, "seed": seed, "steps": steps,
            "accuracy": held_out_accuracy(name, params, config, seed),
            "final_loss": float(losses[-20:].mean()), "cpu_seconds": time.process_time() - start}


def summarise(values) -> dict:
    mean, half = t_interval(values)
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": len(values)}


def all_jobs() -> list[tuple[str, int, int, int]]:
    """Every (memory, N, seed, steps), seed by seed: seed 0 of every (memory, N), then seed 1, and
    so on, so that a run stopped early leaves every point with nearly the same number of seeds;
    after seed SEEDS - 1 come the convergence check and then the further seeds of KEY_MEMORIES
    at N = 2d. Within a seed the long jobs come first, so that the workers finish together."""
    steps, n_key = CONFIG["steps"], 2 * CONFIG["d"]
    jobs = []
    for seed in range(KEY_SEEDS):
        if seed == SEEDS:
            jobs += [(name, n_key, s, CHECK_FACTOR * steps) for s in range(CHECK_SEEDS) for name in CHECK_MEMORIES]
        jobs += sorted(((name, n, seed, steps) for n in SIZES for name in MEMORIES if seed < seeds_for(name, n)),
                       key=lambda job: -job[1])
    return jobs


def finished_runs() -> list[dict]:
    if not CHECKPOINT.exists():
        return []
    runs = [json.loads(line) for line in CHECKPOINT.read_text().splitlines() if line.strip()]
    return [r for r in runs if r.get("config") == CONFIG]  # runs of another configuration are ignored


def convergence_check(runs: list[dict], name: str, n_pairs: int, steps: int, longer: int) -> dict:
    """The held-out accuracy after `steps` and after `longer` steps, seed by seed, for the seeds trained both ways."""
    def by_seed(n_steps):
        return {r["seed"]: r["accuracy"] for r in runs
                if r["memory"] == name and r["n_pairs"] == n_pairs and r["steps"] == n_steps}

    short, long = by_seed(steps), by_seed(longer)
    seeds = sorted(set(short) & set(long))
    return {"n_pairs": n_pairs, "seeds": seeds, "steps": [steps, longer],
            "accuracy": [[short[s] for s in seeds], [long[s] for s in seeds]]}


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


def main(train_missing: bool = True) -> dict:
    """Train the jobs not yet in CHECKPOINT (none with train_missing=False), then summarise
    every finished run into results/trained_recall.json."""
    os.environ.update(ONE_THREAD)  # read by the workers
    done = finished_runs()
    seen = {(r["memory"], r["n_pairs"], r["seed"], r["steps"]) for r in done}
    jobs = [job for job in all_jobs() if job not in seen] if train_missing else []
    log(f"  {len(done)} runs found in {CHECKPOINT}, {len(jobs)} to train")
    start = time.perf_counter()
    if jobs:
        with multiprocessing.get_context("spawn").Pool(WORKERS) as pool, CHECKPOINT.open("a") as checkpoint:
            for run in pool.imap_unordered(one_run, jobs, chunksize=1):
                checkpoint.write(json.dumps({**run, "config": CONFIG}) + "\n")
                checkpoint.flush()
                done.append(run)
    seconds = time.perf_counter() - start
    runs = sorted(({k: v for k, v in r.items() if k != "config"} for r in done),
                  key=lambda r: (MEMORIES.index(r["memory"]), r["n_pairs"], r["steps"], r["seed"]))
    steps = CONFIG["steps"]

    def accuracies(name, n, n_steps=steps):
        return [r["accuracy"] for r in runs if r["memory"] == name and r["n_pairs"] == n and r["steps"] == n_steps]

    configs = {n: RecallConfig(n_pairs=n, **CONFIG) for n in SIZES}
    n_key = 2 * CONFIG["d"]
    result = {
        "description": "held-out MQAR accuracy of a one-layer model trained around each memory; "
                       f"{SEEDS} seeds per (memory, N), {KEY_SEEDS} for {', '.join(KEY_MEMORIES)} at N = {n_key}; "
                       "mean and 95% t-interval",
        "config": {**CONFIG, "sizes": list(SIZES), "seeds": SEEDS, "key_seeds": KEY_SEEDS,
                   "key_memories": list(KEY_MEMORIES), "key_n_pairs": n_key, "workers": WORKERS,
                   "memories": list(MEMORIES), "n_queries": "n_pairs", "seq_len": "3 n_pairs",
                   "window_n_c": memory_dims("window", CONFIG["d"]).n_c, "ema_beta": RecallConfig().ema_beta},
        "state_size": {name: [state_size(name, configs[n]) for n in SIZES] for name in MEMORIES},
        "accuracy": {name: [summarise(accuracies(name, n)) for n in SIZES] for name in MEMORIES},
        "query_blind": [summarise([query_blind_accuracy(configs[n], seed) for seed in range(KEY_SEEDS)])
                        for n in SIZES],
        "convergence_check": {name: convergence_check(runs, name, n_key, steps, CHECK_FACTOR * steps)
                              for name in CHECK_MEMORIES},
        "runs": runs,
        "seconds": seconds,
        "cpu_seconds": sum(r["cpu_seconds"] for r in runs),
    }
    for name in MEMORIES:
        log(f"  {name:16s} state {result['state_size'][name]}  accuracy "
            + "  ".join(f"{s['mean']:.2f} [{s['low']:.2f}, {s['high']:.2f}]" for s in result["accuracy"][name]))
    log(f"  {len(runs)} trainings, {result['cpu_seconds'] / 60:.0f} CPU minutes; this call {seconds:.0f} s on {WORKERS} workers")
    fig = plot(result)
    write_result("trained_recall", result, fig)
    return result


if __name__ == "__main__":
    import sys

    main(train_missing="--summarise-only" not in sys.argv[1:])
