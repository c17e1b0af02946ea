"""Tuning the memories of chapter 6's sign-invariant recall task before they are compared.

The task (kvmem.tasks.sign_invariant_recall): 8 facts in d = 32, each written under a key
+u_p or -u_p (random sign, noise 0.1 per entry) with a value w_p that does not depend on the
sign; a memory is asked for w_p with both +u_p and -u_p. Every combination of a small grid is
scored by its accuracy averaged over the checkpoints 64 .. 2048 writes and over tuning seeds
1000..1009; chapter 6 reports its comparison on seeds 0..29, kept apart from these. The MLP has
16 hidden units (1,072 parameters, about the d x d = 1,024 numbers of a matrix memory), no
momentum (eta = 0, so that the momentum is not part of the state) and no decay; it is tuned
with its first layer trained and, separately, with its first layer fixed. The delta rule is
tuned on the raw keys and on the even feature map phi(k) = k*k / ||k*k|| chosen by hand
(kvmem.neural.unit_squares), which does not change when k changes sign. Settings that diverge
(NaN reads) score at chance.

With the best settings, the benchmark then measures how many writes the trained MLP and the
delta rule on squared keys need as the number of facts grows (4, 8, 16 facts, up to 4,096
writes, seeds 0..29: the chapter's seeds, with settings tuned at 8 facts only).
"""

from __future__ import annotations

import numpy as np

import kvmem
from benchmarks.common import log, write_result
from kvmem.experiments import grid_scores, sign_recall_samples

D = 32
N_FACTS = 8
CHECKPOINTS = [64, 128, 256, 512, 1024, 2048]
SEEDS = range(1000, 1010)
FACTS_SWEEP = [4, 8, 16]
SWEEP_CHECKPOINTS = [256, 512, 1024, 2048, 4096]
REPORT_SEEDS = range(30)

MLP_GRID = {"theta": [0.005, 0.01, 0.02, 0.04, 0.08], "output_scale": [0.0, 1.0]}
GRIDS = {
    "mlp": (lambda **s: kvmem.MLPMemory(d_hidden=16, eta=0.0, **s), MLP_GRID),
    "mlp_fixed": (lambda **s: kvmem.MLPMemory(d_hidden=16, eta=0.0, train_first_layer=False, **s), MLP_GRID),
    "delta": (kvmem.DeltaRule, {"beta": [0.05, 0.1, 0.2, 0.5, 1.0]}),
    "delta_even": (lambda beta: kvmem.DeltaRule(beta=beta, phi=kvmem.neural.unit_squares),
                   {"beta": [0.05, 0.1, 0.2, 0.5, 1.0]}),
}


def score(make) -> float:
    """Mean accuracy over the checkpoints and the tuning seeds (a NaN read counts as chance)."""
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            samples = sign_recall_samples({"": make}, N_FACTS, CHECKPOINTS, D, SEEDS)[""]
        except ValueError:  # the delta rule reports a divergence
            return 1.0 / N_FACTS
    return float(samples.mean())


def facts_sweep(best: dict) -> dict:
    """Accuracy of the tuned MLP and of the delta rule on squared keys for each number of facts:
    {n_facts: {name: samples (one row per checkpoint, one column per seed)}}."""
    make_mlp, _ = GRIDS["mlp"]
    make_even, _ = GRIDS["delta_even"]
    factories = {"mlp": lambda: make_mlp(**best["mlp"]), "delta_even": lambda: make_even(**best["delta_even"])}
    out = {}
    for n_facts in FACTS_SWEEP:
        log(f"  {n_facts} facts, up to {SWEEP_CHECKPOINTS[-1]} writes, {len(REPORT_SEEDS)} seeds")
        with np.errstate(over="ignore", invalid="ignore"):
            samples = sign_recall_samples(factories, n_facts, SWEEP_CHECKPOINTS, D, REPORT_SEEDS)
        out[str(n_facts)] = {name: rows.tolist() for name, rows in samples.items()}
    return out


def main() -> None:
    result = {"description": __doc__.strip().splitlines()[0], "d": D, "n_facts": N_FACTS,
              "checkpoints": CHECKPOINTS, "tuning_seeds": [SEEDS.start, SEEDS.stop - 1], "memories": {}}
    for name, (make, grid) in GRIDS.items():
        log(f"  tuning {name} over {grid}")
        scores = [{"settings": settings, "accuracy": accuracy} for settings, accuracy in grid_scores(make, grid, score)]
        result["memories"][name] = {"grid": grid, "scores": scores, "best": scores[0]["settings"]}
        log(f"  best {name}: {scores[0]}")
    result["facts_sweep"] = {"checkpoints": SWEEP_CHECKPOINTS, "seeds": [REPORT_SEEDS.start, REPORT_SEEDS.stop - 1],
                             "accuracy": facts_sweep({name: entry["best"] for name, entry in result["memories"].items()})}
    write_result("tune_sign_recall", result)


if __name__ == "__main__":
    main()
