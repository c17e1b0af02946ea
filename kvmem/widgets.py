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
