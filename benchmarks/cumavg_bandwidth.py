"""The all-prefix cumulative average of a 256 MiB float64 array, against a plain copy of it.

ratio_to_copy = copy time / cumulative-average time (1 would be as fast as copying). Both
write into an output allocated beforehand, so neither pays for fresh pages.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import kvmem
from benchmarks.common import best_time, log, write_result

TOTAL = 2**25  # float64 numbers: 256 MiB
SHAPES = {"wide": (TOTAL // 16384, 16384), "narrow": (TOTAL // 64, 64)}


def measure(shape) -> dict:
    x = np.random.default_rng(0).random(shape)
    out = np.empty_like(x)
    copy = best_time(lambda: np.copyto(out, x))
    cumavg = best_time(lambda: kvmem.prefix_mean(x, out=out))
    expected_last = x.mean(axis=0)
    assert np.allclose(out[-1], expected_last), "prefix_mean gave a wrong last row"
    return {"shape": list(shape), "mib": x.nbytes / 2**20, "copy_s": copy, "cumavg_s": cumavg,
            "ratio_to_copy": copy / cumavg, "gb_per_s_cumavg": 2 * x.nbytes / cumavg / 1e9}


def main() -> dict:
    runs = {}
    for name, shape in SHAPES.items():
        runs[name] = measure(shape)
        log(f"  {name} {shape}: ratio_to_copy = {runs[name]['ratio_to_copy']:.2f}")
    fig, ax = plt.subplots(figsize=(6, 3))
    labels = [f"{n}\n{r['shape'][0]:,} x {r['shape'][1]:,}" for n, r in runs.items()]
    ax.bar([l + "\ncopy" for l in labels], [r["copy_s"] for r in runs.values()], color="#999999")
    ax.bar([l + "\ncumavg" for l in labels], [r["cumavg_s"] for r in runs.values()], color="#d55e00")
    ax.set_ylabel("seconds (best of 5)")
    ax.set_title("All-prefix cumulative average of 256 MiB vs a copy")
    result = {
        "description": "prefix_mean of a 256 MiB float64 array (rows = positions) vs np.copyto of it",
        "ratio_to_copy": runs["wide"]["ratio_to_copy"],
        "target_ratio_to_copy": 0.4,
        "runs": runs,
        "note": "ratio_to_copy is for the wide shape (2,048 positions of dimension 16,384). Narrow "
                "rows go through np.cumsum along axis 0, which numpy runs column by column.",
    }
    write_result("cumavg_bandwidth", result, fig)
    plt.close(fig)
    return result


if __name__ == "__main__":
    main()
