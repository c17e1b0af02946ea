"""The experiment helpers of chapters 4 to 7."""

import numpy as np
import pytest

import kvmem
from kvmem import experiments as ex


def test_steps_to_follow_counts_tokens_after_the_shift():
    curve = np.array([-1, -1, -1, -0.5, 0.2, -0.1, 0.3, 0.4])
    assert ex.steps_to_follow(curve, shift_at=3) == 3  # behind at 3 and at 5, ahead from 6 on
    assert ex.steps_to_follow(np.array([-1, 1, 1.0]), shift_at=1) == 0
    assert ex.steps_to_follow(np.array([-1, -1, -1.0]), shift_at=1) is None


def test_a_window_follows_a_topic_shift_and_the_average_does_not():
    result = ex.topic_shift_experiment({"average": kvmem.CumulativeAverage,
                                        "window": lambda: kvmem.WindowAverage(20)},
                                       n=400, shift_at=300)
    assert result["steps_to_follow"]["average"] is None
    assert result["steps_to_follow"]["window"] is not None and result["steps_to_follow"]["window"] <= 20


def test_recall_accuracy_is_perfect_for_the_full_cache_and_chance_for_the_average():
    keys, values = kvmem.tasks.associative_recall(16, 32, seed=0, key_norm=np.sqrt(32))
    assert ex.recall_accuracy(kvmem.FullCache(), keys, values) == 1.0
    assert ex.recall_accuracy(kvmem.CumulativeAverage(), keys, values) <= 2 / 16


def test_fact_inside_the_window_is_recalled():
    assert ex.fact_recall(kvmem.SlidingWindow(16), distance=8) > 0.99
    assert ex.fact_recall(kvmem.SlidingWindow(16), distance=64) < 0.5


def test_every_book_memory_runs_the_recall_task():
    results = ex.recall_experiment(ex.book_memories(), [8], d=16, seeds=1)
    assert set(results) == set(ex.book_memories())
    assert all(0.0 <= r[0] <= 1.0 for r in results.values())
    assert results["full cache"][0] == 1.0


def test_t_quantile_matches_the_table():
    # Student's t, 97.5% quantiles from a printed table (e.g. Abramowitz and Stegun, table 26.10)
    for dof, t in ((5, 2.5706), (9, 2.2622), (29, 2.0452), (100, 1.9840)):
        assert abs(ex.t_quantile_975(dof) - t) < 3e-3


def test_mean_interval_is_t_times_the_standard_error():
    samples = np.array([[1.0, 2.0, 3.0, 4.0, 6.0]] * 2)
    mean, half = ex.mean_interval(samples, axis=1)
    sd = np.sqrt(((samples[0] - 3.2) ** 2).sum() / 4)
    np.testing.assert_allclose(mean, [3.2, 3.2])
    np.testing.assert_allclose(half, ex.t_quantile_975(4) * sd / np.sqrt(5))
    assert ex.separated(1.0, 0.1, 1.5, 0.1) and not ex.separated(1.0, 0.3, 1.5, 0.3)
    with pytest.raises(ValueError, match="at least 2"):
        ex.mean_interval([1.0])


def test_bounded_book_memories_keep_to_the_budget():
    budget = 16 * 2 * 32
    for name in ("sliding window", "summary + window", "compressive", "attention sinks + window", "delta rule"):
        assert ex.peak_state_size(ex.book_memories(16)[name], n=200) == budget, name
    assert ex.peak_state_size(ex.book_memories(16)["full cache"], n=200) == 200 * 64


def test_an_opening_keeps_the_fact_out_of_the_sinks_and_consulting_keeps_it_in_h2o():
    sinks = ex.book_memories(16)["attention sinks + window"]
    h2o = ex.book_memories(16)["heavy hitters (H2O)"]
    assert ex.fact_recall(sinks(), 128, prefix=0) > 0.99
    assert ex.fact_recall(sinks(), 128, prefix=8) < 0.5
    assert ex.fact_recall(h2o(), 128, prefix=8, consult_every=4) > 0.99
    # the reads that consult the fact change nothing for a memory whose read has no side effect
    assert ex.fact_recall(kvmem.FullCache(), 64, prefix=8, consult_every=4) == ex.fact_recall(kvmem.FullCache(), 64, prefix=8)


def test_median_interval_uses_the_order_statistics_of_the_binomial():
    """n = 32: from the 10th smallest to the 10th largest, since P(Bin(32, 1/2) <= 9) = 0.010 <= 0.025
    < P(Bin(32, 1/2) <= 10) = 0.02505."""
    from math import comb
    below = lambda j: sum(comb(32, m) for m in range(j + 1)) / 2**32
    assert below(9) <= 0.025 < below(10)
    median, low, high = ex.median_and_interval(np.arange(32.0)[::-1])
    assert (median, low, high) == (15.5, 9.0, 22.0)  # the 10th smallest and the 10th largest


def test_median_interval_covers_the_true_median_at_least_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    samples = rng.exponential(size=(4000, 32))  # skewed: the true median is ln 2
    _, low, high = ex.median_and_interval(samples, axis=1)
    coverage = np.mean((low <= np.log(2)) & (np.log(2) <= high))
    assert 0.95 <= coverage <= 0.99  # the exact coverage for n = 32 is 1 - 2 * 0.010 = 0.980


def test_median_interval_needs_enough_samples():
    with pytest.raises(ValueError, match="at least 6"):
        ex.median_and_interval([1.0, 2.0, 3.0, 4.0, 5.0])


def test_book_memories_use_the_tuned_delta_rule_of_chapter_6():
    """Chapter 8 compares the delta rule at the beta that benchmarks/tune_neural.py found best,
    as chapter 6 does: a drift between the two would make one chapter a strawman."""
    import json
    from pathlib import Path

    tuned = json.loads((Path(__file__).parents[1] / "benchmarks/results/tune_neural.json").read_text())
    assert ex.book_memories(16)["delta rule"]().beta == tuned["memories"]["delta"]["best"]["beta"]


def test_plot_curves_draws_each_memory_in_the_book_style():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    from kvmem.book import memory_style
    from kvmem.plots import plot_curves

    fig, ax = plt.subplots()
    names = ["delta rule", "sliding window", "heavy hitters (H2O)"]
    plot_curves(ax, [1, 2], {name: [0.1 * k, 0.2] for k, name in enumerate(names)}, "N", "recall")
    for line, name in zip(ax.get_lines(), names):
        style = memory_style(name)
        assert to_hex(line.get_color()) == to_hex(style["color"]) and line.get_label() == style["label"]
        assert line.get_linestyle() == matplotlib.lines.Line2D([], [], ls=style["ls"]).get_linestyle()
    plt.close(fig)
