"""Rules the benchmarks state in their results, checked on small made-up inputs."""

import kvmem
from benchmarks.tune_neural import defaults, ranked


def test_tuning_ties_go_to_the_settings_closest_to_the_defaults():
    """RNNMemory's defaults are d_hidden = 64, rho = 0.9: among equal accuracies, the defaults
    first, then one setting away, then two; a higher accuracy always comes first."""
    scores = [{"settings": {"d_hidden": 32, "rho": 0.0}, "accuracy": 0.5},
              {"settings": {"d_hidden": 64, "rho": 0.0}, "accuracy": 0.5},
              {"settings": {"d_hidden": 64, "rho": 0.9}, "accuracy": 0.5},
              {"settings": {"d_hidden": 256, "rho": 0.5}, "accuracy": 0.6}]
    order = [s["settings"] for s in ranked(scores, defaults(kvmem.RNNMemory))]
    assert order == [{"d_hidden": 256, "rho": 0.5}, {"d_hidden": 64, "rho": 0.9},
                     {"d_hidden": 64, "rho": 0.0}, {"d_hidden": 32, "rho": 0.0}]


def test_defaults_of_a_partial_keep_the_bound_and_the_default_keywords():
    import functools

    assert defaults(functools.partial(kvmem.InfiniAttention, n_c=16)) == {
        "n_c": 16, "gate": 0.5, "phi": "elu+1", "normalise": True}
