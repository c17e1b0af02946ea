"""The all-prefix cumulative average against a plain copy of the same array.

ratio_to_copy = copy time / prefix-mean time (1 would be as fast as copying, the limit set by
memory bandwidth: both read the array once and write it once). The headline is the shape of one
attention head, 524,288 positions of dimension 64 ("narrow"); the "wide" shape, 2,048 positions
of dimension 16,384, is reported beside it. np.cumsum along the positions (one serial chain of
additions per column) is timed too, as the yardstick that blocking improves on, and so is
np.cumsum on the same numbers stored column by column (np.asfortranarray), to show how much of
its time goes to reading each column across the rows. The copy, the prefix mean and the two
cumsums are timed in turn in the same loop, REPEATS times; every one writes
into an output allocated beforehand, so none pays for fresh pages. Ratios are of CPU time (see
benchmarks.common.interleaved_times); the wall-clock ratios are recorded beside them.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import kvmem
from benchmarks.common import REPEATS, interleaved_times, load_average, log, spread, write_result

TOTAL = 2**25  # numbers: 256 MiB in float64, 128 MiB in float32
SHAPES = {"narrow": (TOTAL // 64, 64), "wide": (TOTAL // 16384, 16384)}
DTYPES = ("float64", "float32")
TARGETS = {"narrow": 0.2, "wide": 0.4}


def measure(shape, dtype) -> dict:
    load_before = load_average()
    x = np.random.default_rng(0).random(shape).astype(dtype)
    out = np.empty_like(x)
    by_column = np.asfortranarray(x)  # the same numbers, each column contiguous
    out_by_column = np.empty_like(by_column)
    kvmem.prefix_mean(x, out=out)
    expected_last = x.mean(axis=0, dtype=np.float64)
    assert np.allclose(out[-1], expected_last, rtol=1e-4), "prefix_mean gave a wrong last row"
    times, wall = interleaved_times({
        "copy": lambda: np.copyto(out, x),
        "prefix_mean": lambda: kvmem.prefix_mean(x, out=out),
        "cumsum": lambda: np.cumsum(x, axis=0, out=out),
        "cumsum_by_column": lambda: np.cumsum(by_column, axis=0, out=out_by_column),
    }, progress=lambda k, cpu: log(f"    repetition {k}/{REPEATS}: copy {cpu['copy'][-1] * 1e3:.1f} ms, "
                                   f"prefix_mean {cpu['prefix_mean'][-1] * 1e3:.1f} ms, "
                                   f"cumsum {cpu['cumsum'][-1] * 1e3:.1f} ms, "
                                   f"by column {cpu['cumsum_by_column'][-1] * 1e3:.1f} ms"))
    # out holds np.cumsum(x) from the last repetition: the two orders must give the same sums
    assert np.array_equal(out_by_column, out), "np.cumsum differs between the two memory orders"
    copy, cumavg, cumsum = (np.array(times[k]) for k in ("copy", "prefix_mean", "cumsum"))
    ratios, cumsum_ratios = copy / cumavg, copy / cumsum  # paired: same repetition
    wall_ratios = np.array(wall["copy"]) / np.array(wall["prefix_mean"])
    return {
        "shape": list(shape), "dtype": dtype, "mib": x.nbytes / 2**20,
        "copy_s": float(np.median(copy)), "cumavg_s": float(np.median(cumavg)),
        "cumsum_s": float(np.median(cumsum)),
        "ratio_to_copy": float(np.median(ratios)), "ratio_to_copy_spread": spread(ratios),
        "cumsum_ratio_to_copy": float(np.median(cumsum_ratios)),
        "cumsum_ratio_to_copy_spread": spread(cumsum_ratios),
        "cumsum_by_column_s": float(np.median(times["cumsum_by_column"])),
        "gb_per_s_copy": 2 * x.nbytes / float(np.median(copy)) / 1e9,
        "gb_per_s_cumavg": 2 * x.nbytes / float(np.median(cumavg)) / 1e9,
        "wall_ratio_to_copy": float(np.median(wall_ratios)), "wall_ratio_to_copy_spread": spread(wall_ratios),
        "cpu_seconds": {k: spread(v) for k, v in times.items()},
        "wall_seconds": {k: spread(v) for k, v in wall.items()},
        "load_average_before": load_before, "load_average_after": load_average(),
    }


def figure(runs: dict):
    fig, ax = plt.subplots(figsize=(7, 3.4))
    names = list(runs)
    at = np.arange(len(names))
    for offset, key, label, color in ((-0.2, "cumsum_ratio_to_copy", "np.cumsum along positions", "#999999"),
                                      (0.2, "ratio_to_copy", "kvmem.prefix_mean", "#d55e00")):
        medians = [runs[n][key] for n in names]
        low = [runs[n][key] - runs[n][key + "_spread"]["min"] for n in names]
        high = [runs[n][key + "_spread"]["max"] - runs[n][key] for n in names]
        ax.bar(at + offset, medians, width=0.4, color=color, label=label, yerr=[low, high], capsize=3)
    for shape, target in TARGETS.items():
        ax.axhline(target, color="#1b1b1b", ls=":", lw=1)
        ax.annotate(f"goal, {shape}", (len(names) - 0.5, target), fontsize=8, va="bottom", ha="right")
    ax.set_xticks(at)
    ax.set_xticklabels([f"{runs[n]['shape'][0]:,} x {runs[n]['shape'][1]:,}\n{runs[n]['dtype']}" for n in names])
    ax.set_ylabel("copy time / kernel time")
    ax.set_title(f"All prefix means against a copy (median of {REPEATS}, bars min..max)", fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return fig


def main() -> dict:
    runs = {}
    for shape_name, shape in SHAPES.items():
        for dtype in DTYPES:
            name = shape_name if dtype == "float64" else f"{shape_name}_{dtype}"
            log(f"  {name} {shape}: {REPEATS} repetitions of copy, prefix_mean, cumsum, cumsum by column "
                f"(load average {load_average()})")
            runs[name] = measure(shape, dtype)
            log(f"  {name} {shape}: ratio_to_copy = {runs[name]['ratio_to_copy']:.2f} "
                f"(cumsum {runs[name]['cumsum_ratio_to_copy']:.2f})")
    runs = {name: runs[name] for name in ("narrow", "narrow_float32", "wide", "wide_float32")}
    fig = figure(runs)
    result = {
        "description": f"prefix_mean of {TOTAL:,} numbers (rows = positions) vs np.copyto of them, "
                       f"timed in turn; CPU time, median of {REPEATS} paired ratios",
        "ratio_to_copy": runs["narrow"]["ratio_to_copy"],
        "ratio_to_copy_float32": runs["narrow_float32"]["ratio_to_copy"],
        "ratio_to_copy_wide": runs["wide"]["ratio_to_copy"],
        "ratio_to_copy_wide_float32": runs["wide_float32"]["ratio_to_copy"],
        "target_ratio_to_copy": TARGETS["narrow"],
        "target_ratio_to_copy_wide": TARGETS["wide"],
        "runs": runs,
        "note": "ratio_to_copy is for the narrow shape (524,288 positions of dimension 64, one "
                "attention head), in float64; the other ratio_to_copy_* keys give float32 and the wide "
                "shape (2,048 positions of dimension 16,384). Narrow rows are scanned in blocks of rows "
                "side by side (kvmem.cumavg._prefix_mean_blocked); wide rows one whole row per step. "
                "The copy shares the memory bus with whatever else runs: read the ratios with the load "
                "averages (machine: when the file was written; runs: before and after each shape).",
    }
    write_result("cumavg_bandwidth", result, fig)
    return result


if __name__ == "__main__":
    main()
