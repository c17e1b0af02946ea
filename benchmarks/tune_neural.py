"""Tuning the neural memories of chapter 6 before they are compared (no strawmen).

For each memory with settings (the MLP trained at test time, the delta rule, the RNN state,
Infini-attention), every combination of a small grid is scored by its associative-recall
accuracy (d = 32, keys of length sqrt(d), N = 4..128 stored pairs), averaged over N and over
tuning seeds 1000..1009. Chapter 6 reports its comparison on seeds 0..29, kept apart from these.
"""

from __future__ import annotations

import kvmem
from benchmarks.common import log, write_result
from kvmem.experiments import tune

D = 32
N_PAIRS = [4, 8, 16, 32, 64, 128]
SEEDS = range(1000, 1010)

GRIDS = {
    "mlp": (kvmem.MLPMemory, {"d_hidden": [16, 128, 512], "theta": [0.001, 0.003, 0.01, 0.03],
                              "eta": [0.0, 0.5, 0.9], "alpha": [0.0, 0.003, 0.01, 0.03]}),
    "delta": (kvmem.DeltaRule, {"beta": [0.05, 0.1, 0.2, 0.3, 0.5, 1.0]}),
    "rnn": (kvmem.RNNMemory, {"d_hidden": [32, 64, 256], "rho": [0.0, 0.5, 0.9, 0.99]}),
    "infini": (lambda gate: kvmem.InfiniAttention(n_c=16, gate=gate), {"gate": [0.0, 0.25, 0.5, 0.75, 0.9, 1.0]}),
}


def main() -> None:
    result = {"description": __doc__.strip().splitlines()[0], "d": D, "n_pairs": N_PAIRS,
              "tuning_seeds": [SEEDS.start, SEEDS.stop - 1], "memories": {}}
    for name, (make, grid) in GRIDS.items():
        log(f"  tuning {name} over {grid}")
        scored = tune(make, grid, N_PAIRS, D, SEEDS)
        result["memories"][name] = {"grid": grid, "best": scored[0][0],
                                    "scores": [{"settings": s, "accuracy": a} for s, a in scored]}
        log(f"  best {name}: {scored[0]}")
    write_result("tune_neural", result)


if __name__ == "__main__":
    main()
