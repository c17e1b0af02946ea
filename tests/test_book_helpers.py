"""The chapters' helpers in kvmem.book: confidence intervals, cost tables, figure styles."""

import numpy as np
import pytest

from kvmem.book import COSTS, STYLES, complexity_table, mean_interval, memory_style


@pytest.mark.parametrize("n, t_quantile", [(10, 2.262157), (30, 2.045230), (100, 1.984217)])
def test_interval_uses_students_t(n, t_quantile):
    # Quantiles from a t table (t_{0.975, n-1}); samples with a known standard deviation.
    samples = np.tile([0.0, 2.0], n // 2)
    mean, half_width = mean_interval(samples)
    assert mean == 1.0
    assert half_width == pytest.approx(t_quantile * samples.std(ddof=1) / np.sqrt(n), rel=2e-3)


def test_interval_rejects_a_single_sample():
    with pytest.raises(ValueError, match="at least 2"):
        mean_interval([1.0])


def test_cost_table_counts_the_kv_cache_of_chapter_1():
    # 2 * (i+1) * d numbers per layer and head: 64 GiB at 2 bytes for the LLaMA-7B shape.
    state = COSTS["full"][2](128, 4096, 131_071) * 32 * 32
    assert state * 2 == 64 * 2**30
    table = complexity_table(["full", "cumavg"], d=128, n_c=4096, i=131_071).data
    assert table.count("\n") == 3 and "cumulative average" in table


def test_a_name_with_details_takes_its_memorys_style():
    style = memory_style("window, n_c = 20")
    assert style["label"] == "window, n_c = 20"
    assert style["color"] == STYLES["window"]["color"]
    with pytest.raises(KeyError, match="no figure style"):
        memory_style("no such memory")
