"""Interactive explorers. They need a running kernel; each chapter shows a static figure beside.

matplotlib.pyplot and ipywidgets are imported when an explorer is made, not with kvmem.
"""

from __future__ import annotations

from .kv_cache import kv_bytes_per_token
from .plots import GIB, plot_memory_growth


def kv_cache_explorer():
    """Sliders for a model's shape; plots the memory of a full cache, a window and a summary."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

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
    import matplotlib.pyplot as plt

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


def ema_explorer():
    """Slider for beta: the EMA weights, effective window and half-life."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from .plots import plot_ema_weights
    from .windows import effective_window, half_life

    def draw(beta=0.9, i=99):
        fig, ax = plt.subplots()
        plot_ema_weights(ax, [beta], i=i)
        ax.set_title(f"effective window {effective_window(beta):.1f}, half-life {half_life(beta):.1f} tokens")
        plt.show()

    return widgets.interactive(draw, beta=widgets.FloatSlider(0.9, min=0.5, max=0.995, step=0.005,
                                                              readout_format=".3f", description="β"),
                               i=widgets.IntSlider(99, 10, 300, description="i"))


def compressive_explorer():
    """Sliders for n_s, c and the sizes of Mem and CMem: which tokens are raw, compressed, gone."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from .plots import plot_compressive_timeline

    def draw(n_s=4, c=2, mem_segments=2, n_cmem=4, n_tokens=32):
        c = c if n_s % c == 0 else 1
        fig, ax = plt.subplots(figsize=(8, 3.5))
        plot_compressive_timeline(ax, n_s, c, mem_segments * n_s, n_cmem, n_tokens)
        plt.show()

    return widgets.interactive(draw, n_s=widgets.IntSlider(4, 2, 8, description="n_s"),
                               c=widgets.IntSlider(2, 1, 4, description="c"),
                               mem_segments=widgets.IntSlider(2, 1, 4, description="Mem segments"),
                               n_cmem=widgets.IntSlider(4, 1, 16, description="CMem size"),
                               n_tokens=widgets.IntSlider(32, 8, 64, step=4, description="tokens"))


def capacity_explorer():
    """Sliders for d and the largest N: measured recall of an outer-product memory (mean and 95%
    interval over 10 seeds, few enough to redraw quickly) against the crosstalk law."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    import numpy as np

    from .experiments import capacity_samples
    from .plots import plot_capacity_bands

    def draw(d=32, log2_max_n=8):
        n_pairs = 2 ** np.arange(log2_max_n + 1)
        fig, ax = plt.subplots(figsize=(8, 3.6))
        plot_capacity_bands(ax, d, n_pairs, capacity_samples(d, n_pairs, seeds=range(10)))
        plt.show()

    return widgets.interactive(draw, d=widgets.IntSlider(32, 4, 128, description="d"),
                               log2_max_n=widgets.IntSlider(8, 3, 10, description="log2 max N"))


def comparison_explorer(n_pairs=(4, 8, 16, 32, 64, 128), distances=(0, 4, 16, 64, 256)):
    """Tick the memories to compare on associative recall and on a fact at distance D."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from .experiments import book_memories, distance_experiment, recall_experiment
    from .plots import plot_curves

    factories = book_memories()
    boxes = {name: widgets.Checkbox(value=name in ("full cache", "cumulative average", "summary + window"),
                                    description=name) for name in factories}

    def draw(**ticked):
        chosen = {name: factories[name] for name, on in ticked.items() if on}
        if not chosen:
            print("tick at least one memory")
            return
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.6))
        recall = recall_experiment(chosen, list(n_pairs), seeds=1)
        plot_curves(ax1, n_pairs, recall, "stored pairs N", "recall accuracy")
        ax1.get_legend().remove()  # one legend, right of the second panel
        plot_curves(ax2, [D + 1 for D in distances], distance_experiment(chosen, list(distances), seeds=1),
                    "distance D + 1", "cos(read, fact)")
        fig.tight_layout()
        plt.show()

    return widgets.interactive(draw, **boxes)
