"""Relative error of four float32 means of a stream of 10^7 numbers, against an exact reference."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from benchmarks.common import log, write_result
from kvmem.numerics import relative_errors

N = 10_000_000


def main() -> dict:
    stream = np.random.default_rng(0).random(N, dtype=np.float32)  # uniform in [0, 1)
    errors = relative_errors(stream)
    for name, err in errors.items():
        log(f"  {name}: {err:.2e}")
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.barh(list(errors), [max(e, 1e-12) for e in errors.values()], color="#0072b2")
    ax.axvline(np.finfo(np.float32).eps, color="#999999", ls="--", label="float32 epsilon")
    ax.set_xscale("log")
    ax.set_xlabel("relative error of the mean")
    ax.legend()
    result = {
        "description": f"mean of {N:,} float32 numbers uniform in [0, 1); reference math.fsum in float64",
        "n": N,
        "naive_sum": errors["naive sum"],
        "incremental_update": errors["incremental update"],
        "pairwise_np_mean": errors["pairwise (np.mean)"],
        "compensated_streaming": errors["compensated update"],
        "target_compensated_streaming": 1e-6,
    }
    write_result("float32_accuracy", result, fig)
    plt.close(fig)
    return result


if __name__ == "__main__":
    main()
