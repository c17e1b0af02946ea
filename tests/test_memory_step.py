"""The diagram of one memory step (chapter 1) holds what each memory keeps."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
from matplotlib.colors import to_hex
from matplotlib.patches import Rectangle

from kvmem.book import COLORS
from kvmem.plots import plot_memory_step


@pytest.mark.parametrize("i, n_c", [(11, 4), (7, 3)])
def test_each_row_fills_the_pairs_its_memory_keeps(i, n_c):
    fig, axes = plt.subplots(2, 1)
    plot_memory_step(axes, i=i, n_c=n_c)
    squares = [p for p in axes[1].patches if isinstance(p, Rectangle)]
    filled = {name: sum(to_hex(p.get_facecolor()) == COLORS[name] for p in squares)
              for name in ("full", "window", "cumavg")}
    plt.close(fig)
    # all i + 1 pairs; the last n_c; one averaged pair (beside i + 1 empty positions)
    assert filled == {"full": i + 1, "window": n_c, "cumavg": 1}
    assert len(squares) == 3 * (i + 1) + 1
