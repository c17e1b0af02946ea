"""Interactive explorers. They need a running kernel; each chapter shows a static figure beside."""

from __future__ import annotations

import matplotlib.pyplot as plt

from .kv_cache import kv_bytes_per_token
from .plots import GIB, plot_memory_growth


def kv_cache_explorer():
    """Sliders for a model's shape; plots the memory of a full cache, a window and a summary."""
    import ipywidgets as widgets

    def draw(layers=32, kv_heads=32, d_head=128, bytes_per_number=2, n_c=4096, log2_tokens=17):
        per_token = kv_bytes_per_token(layers, kv_heads, d_head, bytes_per_number)
        n_max = 2**log2_tokens
        fig, ax = plt.subplots()
        plot_memory_growth(ax, per_token, n_c, n_max)
        ax.set_title(f"{per_token / 2**20:.3g} MiB per token; full cache at {n_max:,} tokens: "
                     f"{per_token * n_max / GIB:.3g} GiB")
        plt.show()

    return widgets.interactive(
        draw,
        layers=widgets.IntSlider(32, 1, 128, description="layers"),
        kv_heads=widgets.IntSlider(32, 1, 128, description="kv_heads"),
        d_head=widgets.IntSlider(128, 16, 256, step=16, description="d_head"),
        bytes_per_number=widgets.Dropdown(options=[("fp32", 4), ("fp16/bf16", 2), ("int8", 1)], value=2,
                                          description="number"),
        n_c=widgets.IntSlider(4096, 128, 32768, step=128, description="n_c"),
        log2_tokens=widgets.IntSlider(17, 10, 21, description="log2 tokens"),
    )


def token_weight_explorer():
    """Sliders for i, j and n_c: the weight of token j in Mem_i, cumulative average vs window."""
    import ipywidgets as widgets

    from .plots import plot_token_weights

    def draw(i=20, j=0, n_c=5):
        j = min(j, i)
        fig, ax = plt.subplots()
        plot_token_weights(ax, i, n_c, highlight=j)
        in_window = i - n_c < j
        ax.set_title(f"token {j} in Mem_{i}: {1 / (i + 1):.4f} in the average, "
                     f"{1 / min(i + 1, n_c) if in_window else 0:.4f} in the window")
        plt.show()

    return widgets.interactive(
        draw,
        i=widgets.IntSlider(20, 0, 60, description="i"),
        j=widgets.IntSlider(0, 0, 60, description="token j"),
        n_c=widgets.IntSlider(5, 1, 30, description="n_c"),
    )


def recursive_step_explorer(keys):
    """Step the recursive update by hand through `keys` (n, 2): the arithmetic of each step."""
    import ipywidgets as widgets
    import numpy as np

    from .cumavg import CumulativeAverage
    from .memory import run

    keys = np.asarray(keys, dtype=float)

    def show(i=1):
        memory = CumulativeAverage()
        run(memory, keys[:i], keys[:i])
        previous = memory.mem[0]
        step = (keys[i] - previous) / (i + 1)
        mem = previous + step
        print(f"Mem_{i - 1}           = {np.round(previous, 4)}")
        print(f"k_{i}              = {keys[i]}")
        print(f"k_{i} - Mem_{i - 1}     = {np.round(keys[i] - previous, 4)}")
        print(f"step = (k_{i} - Mem_{i - 1}) / {i + 1} = {np.round(step, 4)}")
        print(f"Mem_{i} = Mem_{i - 1} + step = {np.round(mem, 4)}")
        print(f"batch mean of k_0..k_{i}  = {np.round(keys[: i + 1].mean(axis=0), 4)}")

    return widgets.interactive(show, i=widgets.IntSlider(1, 1, len(keys) - 1, description="step i"))
