"""Tuning the neural memories of chapter 6 before they are compared (no strawmen).

For each memory with settings (the MLP trained at test time, including whether its output
layer starts at zero or random; the delta rule; the RNN state; Infini-attention), every
combination of a small grid is scored by its associative-recall accuracy (d = 32, keys of
length sqrt(d), N = 4..128 stored pairs), averaged over N and over tuning seeds 1000..1009.
Chapter 6 reports its comparison on seeds 0..29, kept apart from these. The MLP's grid is
searched twice: a coarse grid, then, for each hidden size, a finer grid around that size's
best (hidden sizes up to 512, a state of 32 times the d x d matrix memories'). Settings that
diverge (NaN reads) score at chance. Ties are broken by a stated rule (TIE_BREAK), not by the
order of the grid.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

import kvmem
from benchmarks.common import log, write_result
from kvmem.experiments import tune

D = 32
N_PAIRS = [4, 8, 16, 32, 64, 128]
SEEDS = range(1000, 1010)

GRIDS = {
    "mlp": (kvmem.MLPMemory, {"d_hidden": [16, 128, 512], "output_scale": [0.0, 1.0],
                              "theta": [0.0003, 0.001, 0.003, 0.01], "eta": [0.0, 0.5, 0.9], "alpha": [0.0, 0.01]}),
    "delta": (kvmem.DeltaRule, {"beta": [0.05, 0.1, 0.2, 0.3, 0.5, 1.0]}),
    "rnn": (kvmem.RNNMemory, {"d_hidden": [32, 64, 256], "rho": [0.0, 0.5, 0.9, 0.99]}),
    "infini": (functools.partial(kvmem.InfiniAttention, n_c=16), {"gate": [0.0, 0.25, 0.5, 0.75, 0.9, 1.0]}),
}
TIE_BREAK = ("settings with equal tuning accuracy are ranked by how close they are to the memory's "
             "defaults (the fewest settings that differ from the constructor's default value), then "
             "by their order in the grid; so where every setting scores the same (the untrained RNN) "
             "the best is the library's default")


def defaults(make) -> dict:
    """The default value of every keyword of make (a class or a functools.partial of one)."""
    return {name: p.default for name, p in inspect.signature(make).parameters.items()
            if p.default is not inspect.Parameter.empty}


def ranked(scores: list[dict], default: dict) -> list[dict]:
    """Best accuracy first; among equal accuracies, fewest settings away from `default` first
    (a stable sort: what is still tied keeps its order)."""
    def away(settings):
        return sum(default.get(name, object()) != value for name, value in settings.items())
    return sorted(scores, key=lambda s: (-s["accuracy"], away(s["settings"])))


def finer_mlp_grid(best: dict) -> dict:
    """Around a coarse best: theta times 0.3 .. 4, eta +- 0.2, alpha halved and doubled (or 0.003
    if it was 0)."""
    alphas = {0.0, best["alpha"], best["alpha"] / 2, best["alpha"] * 2} if best["alpha"] > 0 else {0.0, 0.003}
    return {"d_hidden": [best["d_hidden"]], "output_scale": [best["output_scale"]],
            "theta": [round(best["theta"] * f, 6) for f in (0.3, 0.5, 1.0, 2.0, 4.0)],
            "eta": sorted({min(max(best["eta"] + step, 0.0), 0.9) for step in (-0.2, 0.0, 0.2)}),
            "alpha": sorted(alphas)}


def scored_grid(make, grid) -> list[dict]:
    with np.errstate(over="ignore", invalid="ignore"):
        scored = tune(make, grid, N_PAIRS, D, SEEDS)
    return [{"settings": s, "accuracy": a} for s, a in scored]


def record_best(entry: dict, default: dict) -> None:
    """Rank entry["scores"] (see ranked) and record the best, and how many settings tie with it."""
    entry["scores"] = ranked(entry["scores"], default)
    entry["best"] = entry["scores"][0]["settings"]
    entry["tied_with_best"] = sum(s["accuracy"] == entry["scores"][0]["accuracy"] for s in entry["scores"])


def main() -> None:
    result = {"description": __doc__.strip().splitlines()[0], "d": D, "n_pairs": N_PAIRS,
              "tuning_seeds": [SEEDS.start, SEEDS.stop - 1], "tie_break": TIE_BREAK, "memories": {}}
    for name, (make, grid) in GRIDS.items():
        log(f"  tuning {name} over {grid}")
        entry = {"grid": grid, "scores": ranked(scored_grid(make, grid), defaults(make))}
        if name == "mlp":  # refine around the best of each hidden size, so that every size is tuned
            entry["finer_grids"] = []
            for d_hidden in grid["d_hidden"]:
                best_here = next(s["settings"] for s in entry["scores"] if s["settings"]["d_hidden"] == d_hidden)
                finer = finer_mlp_grid(best_here)
                log(f"  then over {finer}")
                tried = {str(s["settings"]) for s in entry["scores"]}
                entry["scores"] += [s for s in scored_grid(make, finer) if str(s["settings"]) not in tried]
                entry["finer_grids"].append(finer)
        record_best(entry, defaults(make))
        result["memories"][name] = entry
        log(f"  best {name}: {entry['scores'][0]}")
    write_result("tune_neural", result)


if __name__ == "__main__":
    main()
