"""The chapters' helpers in kvmem.book: cost tables and figure styles."""

import pytest

from kvmem.book import COSTS, STYLES, complexity_table, memory_style


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
