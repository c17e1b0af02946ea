"""Time per token of the step-by-step (recurrent) form and of the chunkwise form, for chunk sizes
C = 1 ... 512, on one sequence of n = 8,192 tokens with d_k = d_v = 64.

Two rows: RetNet (scalar decay gamma, beta = 1) and Gated DeltaNet (input-dependent gate and
write strength, unit keys), whose chunks also solve a C x C triangular system. All timings of
one repetition run in turn (recurrent, C = 1, C = 2, ...), seven repetitions; the estimate is the
median of the process's CPU time, so other programs on a shared machine inflate it less than
the wall clock (both are recorded, with their quartiles).

The per-token time of the chunkwise form is fitted by the cost model
    tau(C) = t_chunk / C + t_token + t_pair C      (a, b, c in the results file):
t_chunk is what one chunk costs however long it is (the Python loop step and the numpy calls
made once per chunk), t_token what every token costs (the state's d^2 work), t_pair one
query-key pair of the masked C x C matrix, of which a token meets C. The model's best chunk size
is sqrt(t_chunk / t_pair). The conclusions that carry over
to other machines are its shape and the ratios, not the microseconds.

All forms run on one core (BLAS on one thread, in a child process), as in benchmarks/chunkwise.py.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from benchmarks.chunkwise import inputs
from benchmarks.common import fit_slope, interleaved_times, log, on_one_thread, spread, write_result
from kvmem import recurrence as R

N = 8_192
D = 64
GAMMA = 0.999
CHUNKS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
REPEAT = 7
ROWS = {"RetNet": lambda: R.retnet(GAMMA), "Gated DeltaNet": lambda: R.gated_deltanet(D)}
ROW_STYLES = {"RetNet": dict(color="#cc3311", marker="s"), "Gated DeltaNet": dict(color="#117733", marker="h")}


def functions(row_name: str) -> dict:
    """name -> function computing all N outputs of the row in that form."""
    row = ROWS[row_name]()
    queries, keys, values = inputs(N, unit_keys=row.delta)
    alpha, beta = row(keys)
    fns = {"recurrent": lambda: R.recurrent_outputs(queries, keys, values, alpha, beta, row.delta)}
    for C in CHUNKS:
        fns[f"C={C}"] = (lambda C=C: R.chunkwise_outputs(queries, keys, values, alpha, beta, row.delta, chunk=C))
    return fns


def fit_cost_model(chunks, per_token) -> dict:
    """Fit of tau(C) = a / C + b + c C (seconds per token) by least squares on the relative
    errors tau_model / tau_measured - 1, so that the short times count as much as the long ones."""
    chunks, per_token = np.asarray(chunks, dtype=float), np.asarray(per_token, dtype=float)
    design = np.stack([1 / chunks, np.ones_like(chunks), chunks], axis=1)
    (a, b, c), *_ = np.linalg.lstsq(design / per_token[:, None], np.ones_like(per_token), rcond=None)
    best = float(np.sqrt(a / c)) if a > 0 and c > 0 else None
    relative_error = np.abs(design @ [a, b, c] / per_token - 1)
    return {"a_per_chunk_s": float(a), "b_per_token_s": float(b), "c_per_token_per_C_s": float(c),
            "model_best_chunk": best, "model_max_relative_error": float(relative_error.max())}


def model_per_token(model: dict, chunks) -> np.ndarray:
    """tau(C) = a / C + b + c C of a fitted cost model, in seconds per token."""
    chunks = np.asarray(chunks, dtype=float)
    return model["a_per_chunk_s"] / chunks + model["b_per_token_s"] + model["c_per_token_per_C_s"] * chunks


def measure_row(row_name: str) -> dict:
    cpu, wall = interleaved_times(functions(row_name), REPEAT)
    per_token = {name: spread(np.array(samples) / N) for name, samples in cpu.items()}
    per_token_wall = {name: spread(np.array(samples) / N) for name, samples in wall.items()}
    chunk_medians = [per_token[f"C={C}"]["median"] for C in CHUNKS]
    best = CHUNKS[int(np.argmin(chunk_medians))]
    recurrent = per_token["recurrent"]["median"]
    log(f"  {row_name}: recurrent {recurrent * 1e6:.1f} us/token; "
        + ", ".join(f"C={C} {t * 1e6:.2f}" for C, t in zip(CHUNKS, chunk_medians)))
    return {
        "seconds_per_token_cpu": per_token,
        "seconds_per_token_wall": per_token_wall,
        "best_chunk": best,
        "speedup_best_chunk_vs_recurrent": recurrent / min(chunk_medians),
        "speedup_by_chunk_vs_recurrent": {str(C): recurrent / t for C, t in zip(CHUNKS, chunk_medians)},
        "ratio_chunk1_vs_recurrent": per_token["C=1"]["median"] / recurrent,
        # log-log slopes of time per token against C: -1 where the per-chunk cost dominates, +1 where
        # the C x C matrix inside the chunk does
        "slope_small_chunks_1_to_8": fit_slope(CHUNKS[:4], chunk_medians[:4]),
        "slope_large_chunks_128_to_512": fit_slope(CHUNKS[-3:], chunk_medians[-3:]),
        "cost_model": fit_cost_model(CHUNKS, chunk_medians),
    }


def plot(results: dict) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6.5, 4.6))
    for row_name, result in results.items():
        per_token = result["seconds_per_token_cpu"]
        medians = np.array([per_token[f"C={C}"]["median"] for C in CHUNKS]) * 1e6
        low = medians - np.array([per_token[f"C={C}"]["q1"] for C in CHUNKS]) * 1e6
        high = np.array([per_token[f"C={C}"]["q3"] for C in CHUNKS]) * 1e6 - medians
        style = ROW_STYLES[row_name]
        ax.errorbar(CHUNKS, medians, yerr=[low, high], ls="-", capsize=2, label=f"{row_name}, chunkwise", **style)
        grid = np.geomspace(CHUNKS[0], CHUNKS[-1], 100)
        ax.plot(grid, model_per_token(result["cost_model"], grid) * 1e6, color=style["color"], ls="--", lw=0.8,
                label=f"{row_name}, fitted cost model")
        ax.axhline(per_token["recurrent"]["median"] * 1e6, color=style["color"], ls=":",
                   label=f"{row_name}, recurrent (one token at a time)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("chunk size C")
    ax.set_ylabel("microseconds per token (CPU)")
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda k: (labels[k].split(",")[0] != "RetNet", "chunkwise" not in labels[k]))
    ax.legend([handles[k] for k in order], [labels[k] for k in order], loc="upper center", bbox_to_anchor=(0.5, -0.16),
              ncol=2, fontsize=8)
    return fig


def main() -> dict:
    """Run `measure` with BLAS on one thread (in a child process if need be); return its results."""
    return on_one_thread("chunk_sizes", measure)


def measure() -> dict:
    results = {row_name: measure_row(row_name) for row_name in ROWS}
    result = {
        "description": (f"time per token of the recurrent and chunkwise forms, n = {N}, d_k = d_v = {D}, float64, "
                        f"random inputs; RetNet (gamma = {GAMMA}) and Gated DeltaNet rows; {REPEAT} repetitions "
                        "timed in turn, median of the process CPU time; BLAS on one thread"),
        "n": N, "d": D, "chunks": CHUNKS, "repeat": REPEAT, "blas_threads": 1,
        "rows": results,
    }
    write_result("chunk_sizes", result, plot(results))
    return result


if __name__ == "__main__":
    main()
