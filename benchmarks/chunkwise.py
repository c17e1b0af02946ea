"""The recurrent, parallel and chunkwise forms of one gated linear memory, timed against n.

A RetNet-style row (scalar decay gamma, beta = 1) with d_k = d_v = 64 on n = 1,024 ... 32,768
random pairs. The parallel form builds its n x n masked matrix 1,024 query rows at a time, so
its memory stays at about 1,024 x n numbers and it runs at every n. The chunk size C is chosen
by timing a few sizes at n = 8,192. A Gated DeltaNet row is timed at the largest n in the
recurrent and chunkwise forms only (its parallel form solves an n x n system).

All forms run on one core: the timings run in a child process with the BLAS libraries set to
one thread. On a small shared machine a multi-threaded BLAS spins waiting for a busy second
core and makes the large matrix products of the parallel form (and of chunks of 128 or more)
erratically slow; one thread measures the algorithms, not the scheduler.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from benchmarks.common import interleaved_times, log, on_one_thread, write_result
from kvmem import recurrence as R
from kvmem.book import memory_style

D = 64
N_VALUES = [1_024, 2_048, 4_096, 8_192, 16_384, 32_768]
CHUNKS = [16, 32, 64, 128, 256]
CHUNK_TRIAL_N = 8_192
GAMMA = 0.999
BLOCK = 1_024  # query rows per block of the parallel form
REPEAT = 5
# one row (RetNet) computed three ways: the row's colour from the book's palette, a line style per form
# (as in benchmarks/chunk_sizes.py: chunkwise solid with squares, recurrent dotted)
FORM_STYLES = {
    "recurrent": dict(color=memory_style("retnet")["color"], ls=":", marker="^", label="recurrent (one token at a time)"),
    "parallel": dict(color=memory_style("retnet")["color"], ls="--", marker="o", label="parallel (masked n x n matrix)"),
    "chunkwise": dict(color=memory_style("retnet")["color"], ls="-", marker="s", label="chunkwise"),
}


def median_time(fn, repeat: int = REPEAT) -> float:
    """The median of `repeat` runs of fn(), in seconds of this process's CPU time (time.process_time):
    on a shared machine, the time other programs hold the core does not count."""
    cpu, _ = interleaved_times({"fn": fn}, repeat)
    return float(np.median(cpu["fn"]))


def inputs(n: int, seed: int = 0, unit_keys: bool = False):
    rng = np.random.default_rng(seed)
    queries, keys, values = (rng.normal(size=(n, D)) / np.sqrt(D) for _ in range(3))
    if unit_keys:
        keys /= np.linalg.norm(keys, axis=1, keepdims=True)
    return queries, keys, values


def forms(chunk: int) -> dict:
    """form name -> function(queries, keys, values, alpha, beta, delta)."""
    return {
        "recurrent": R.recurrent_outputs,
        "parallel": lambda *args: R.parallel_outputs(*args, block=BLOCK),
        "chunkwise": lambda *args: R.chunkwise_outputs(*args, chunk=chunk),
    }


def choose_chunk() -> tuple[int, dict[int, float]]:
    """The chunk size with the shortest median time at n = CHUNK_TRIAL_N."""
    queries, keys, values = inputs(CHUNK_TRIAL_N)
    alpha, beta = R.retnet(GAMMA)(keys)
    times = {C: median_time(lambda: R.chunkwise_outputs(queries, keys, values, alpha, beta, chunk=C))
             for C in CHUNKS}
    return min(times, key=times.get), times


def max_difference(chunk: int, n: int = 1_024) -> float:
    """Largest |difference| between the forms' outputs (they compute the same numbers)."""
    queries, keys, values = inputs(n, seed=1)
    alpha, beta = R.retnet(GAMMA)(keys)
    outs = [f(queries, keys, values, alpha, beta, False) for f in forms(chunk).values()]
    return float(max(np.abs(o - outs[0]).max() for o in outs[1:]))


def time_forms(chunk: int) -> dict[str, dict[int, float]]:
    times = {name: {} for name in FORM_STYLES}
    for n in N_VALUES:
        queries, keys, values = inputs(n)
        alpha, beta = R.retnet(GAMMA)(keys)
        for name, form in forms(chunk).items():
            times[name][n] = median_time(lambda: form(queries, keys, values, alpha, beta, False))
        log(f"  n = {n:6d}: " + ", ".join(f"{name} {times[name][n]:.3f} s" for name in times))
    return times


def time_gated_deltanet(chunk: int) -> dict[str, float]:
    n = N_VALUES[-1]
    queries, keys, values = inputs(n, unit_keys=True)
    row = R.gated_deltanet(D)
    alpha, beta = row(keys)
    return {
        "recurrent": median_time(lambda: R.recurrent_outputs(queries, keys, values, alpha, beta, True)),
        "chunkwise": median_time(lambda: R.chunkwise_outputs(queries, keys, values, alpha, beta, True, chunk=chunk)),
    }


def plot(times: dict) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for name, by_n in times.items():
        ax.plot(list(by_n), list(by_n.values()), **FORM_STYLES[name])
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("sequence length n")
    ax.set_ylabel("CPU seconds for all n outputs")
    ax.legend(loc="upper left")
    return fig


def main() -> dict:
    """Run `measure` with BLAS on one thread (in a child process if need be); return its results."""
    return on_one_thread("chunkwise", measure)


def measure() -> dict:
    chunk, chunk_times = choose_chunk()
    log(f"  chunk size C = {chunk} ({', '.join(f'{C}: {t:.3f} s' for C, t in chunk_times.items())})")
    difference = max_difference(chunk)
    times = time_forms(chunk)
    delta_times = time_gated_deltanet(chunk)
    n = N_VALUES[-1]
    result = {
        "description": (f"RetNet-style row (gamma = {GAMMA}, beta = 1), d_k = d_v = {D}, float64, random inputs; "
                        f"median CPU time of {REPEAT} runs per form and n; parallel form in blocks of {BLOCK} query rows; "
                        "BLAS on one thread"),
        "blas_threads": 1,
        "d": D,
        "repeat": REPEAT,
        "chunk": chunk,
        "chunk_trial_n": CHUNK_TRIAL_N,
        "chunk_trial_s": {str(C): t for C, t in chunk_times.items()},
        "parallel_block": BLOCK,
        "max_abs_difference_between_forms_n1024": difference,
        "seconds": {name: {str(k): v for k, v in by_n.items()} for name, by_n in times.items()},
        "speedup_chunkwise_vs_recurrent_at_max_n": times["recurrent"][n] / times["chunkwise"][n],
        "speedup_chunkwise_vs_parallel_at_max_n": times["parallel"][n] / times["chunkwise"][n],
        "goal_speedup_chunkwise_vs_recurrent": 10.0,
        "goal_speedup_chunkwise_vs_parallel": 3.0,
        "gated_deltanet_seconds_at_max_n": delta_times,
        "gated_deltanet_speedup_chunkwise_vs_recurrent_at_max_n": delta_times["recurrent"] / delta_times["chunkwise"],
    }
    log(f"  speed-ups at n = {n}: chunkwise vs recurrent {result['speedup_chunkwise_vs_recurrent_at_max_n']:.1f}, "
        f"vs parallel {result['speedup_chunkwise_vs_parallel_at_max_n']:.1f}; Gated DeltaNet chunkwise vs recurrent "
        f"{result['gated_deltanet_speedup_chunkwise_vs_recurrent_at_max_n']:.1f}")
    fig = plot(times)
    write_result("chunkwise", result, fig)
    return result


if __name__ == "__main__":
    main()
