"""Figures the chapters draw, one function each, shared by static figures and explorers."""

from __future__ import annotations

import re

import numpy as np

from .book import COLORS
from .kv_cache import memory_bytes

GIB = 2**30


def offline_jshtml(anim) -> str:
    """The animation as self-contained HTML and JavaScript (matplotlib's to_jshtml).

    matplotlib links Font Awesome 4 from a CDN for its buttons; the book's theme already serves
    Font Awesome (with the v4 class names), so the link is dropped and the page reads offline.
    """
    import matplotlib.pyplot as plt

    html = anim.to_jshtml(default_mode="once")
    plt.close(anim._fig)
    return re.sub(r'<link rel="stylesheet"[^>]*href="https?://[^"]*"[^>]*>', "", html)


def plot_memory_growth(ax, per_token: int, n_c: int, n_max: int = 131_072, label_suffix: str = ""):
    """Memory (GiB) against tokens read: full KV cache, a window of n_c pairs, one summary pair."""
    n = np.unique(np.geomspace(1, n_max, 200).astype(int))
    curves = (("full", "full KV cache", COLORS["full"]),
              ("window", f"window, $n_c$ = {n_c:,}", COLORS["window"]),
              ("summary", "one summary pair", COLORS["cumavg"]))
    for kind, name, color in curves:
        ax.plot(n, memory_bytes(n, per_token, kind, n_c) / GIB, color=color, label=name + label_suffix)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tokens read, $i + 1$")
    ax.set_ylabel("memory (GiB)")
    ax.legend(loc="upper left")
    return ax


def _weights(n: int, n_c: int) -> dict[str, np.ndarray]:
    """Influence matrices (W[i, j] = weight of token j in Mem_i) of the two memories compared."""
    from .cumavg import cumulative_average
    from .influence import influence
    from .windows import window_average

    return {"cumulative average": influence(cumulative_average, n),
            f"window, $n_c$ = {n_c}": influence(lambda k, v: window_average(k, v, n_c), n)}


def plot_token_weights(ax, i: int, n_c: int, n: int | None = None, highlight: int | None = None):
    """Bars: the weight of each token j <= i in Mem_i, cumulative average beside a window."""
    n = n or i + 1
    weights = _weights(n, n_c)
    j = np.arange(n)
    for offset, ((name, w), color) in zip((-0.2, 0.2), zip(weights.items(), (COLORS["cumavg"], COLORS["window"]))):
        ax.bar(j + offset, w[i], width=0.4, color=color, label=name)
    if highlight is not None:
        ax.axvline(highlight, color="#999999", ls=":", lw=1)
    ax.set_xlim(-0.7, n - 0.3)
    ax.set_ylim(0, 1.25 * max(w[i].max() for w in weights.values()))
    ax.set_xlabel("token position j")
    ax.set_ylabel(f"weight in Mem$_{{{i}}}$")
    ax.legend(loc="upper left")
    return ax


def plot_dilution(ax, tokens=(0, 50), n: int = 300, n_c: int = 100):
    """Lines: the weight of fixed tokens in Mem_i as i grows (dilution vs deletion)."""
    weights = _weights(n, n_c)
    i = np.arange(n)
    for (name, w), color in zip(weights.items(), (COLORS["cumavg"], COLORS["window"])):
        for j, style in zip(tokens, ("-", "--")):
            ax.plot(i[j:], w[j:, j], style, color=color, label=f"token {j}, {name}")
    ax.set_xlabel("position i")
    ax.set_ylabel("weight of the token in Mem$_i$")
    ax.set_yscale("log")
    ax.set_ylim(1e-3, 1.5)
    ax.legend(fontsize=8)
    return ax


def weights_animation(n: int = 24, n_c: int = 6, interval: int = 500):
    """A JavaScript animation (matplotlib to_jshtml) of plot_token_weights as i runs to n - 1."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    fig.subplots_adjust(bottom=0.18)

    def frame(i):
        ax.clear()
        plot_token_weights(ax, i, n_c, n=n)
        ax.legend(loc="upper right")
        ax.set_ylim(0, 0.55)
        ax.set_title(f"i = {i}: each token weighs 1/(i+1) = {1 / (i + 1):.3f} in the average, "
                     f"1/{min(i + 1, n_c)} in the window", fontsize=9)

    anim = FuncAnimation(fig, frame, frames=range(1, n), interval=interval)  # from i = 1: weights <= 1/2
    return offline_jshtml(anim)


def plot_read_against_query(ax, angles: np.ndarray, reads: dict[str, np.ndarray], coordinate: int = 1):
    """Lines: one coordinate of Att(q, Mem) as the query turns through `angles` (radians)."""
    styles = {"cumulative average": COLORS["cumavg"], "hybrid [summary; window]": COLORS["hybrid"]}
    for name, out in reads.items():
        ax.plot(np.degrees(angles), out[:, coordinate], color=styles.get(name), label=name)
    ax.set_xlabel("direction of the query q (degrees)")
    ax.set_ylabel(f"coordinate {coordinate} of Att(q, Mem)")
    ax.set_xticks(range(0, 361, 90))
    ax.legend()
    return ax


def recursive_update_animation(keys: np.ndarray, interval: int = 700):
    """A JavaScript animation of Mem_i = Mem_{i-1} + (k_i - Mem_{i-1}) / (i+1) on 2-D keys."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    means = np.cumsum(keys, axis=0) / np.arange(1, len(keys) + 1)[:, None]
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    fig.subplots_adjust(right=0.72)
    pad = 0.5

    def frame(i):
        ax.clear()
        ax.scatter(*keys[: i + 1].T, color="#bbbbbb", s=20, label="keys seen")
        ax.scatter(*keys[i], color=COLORS["window"], s=40, zorder=3, label=f"new key $k_{{{i}}}$")
        ax.plot(*means[: i + 1].T, color=COLORS["cumavg"], lw=1, alpha=0.6)
        if i > 0:
            ax.annotate("", xy=means[i], xytext=means[i - 1],
                        arrowprops=dict(arrowstyle="->", color=COLORS["cumavg"], lw=2))
        ax.scatter(*means[i], color=COLORS["cumavg"], s=60, marker="*", zorder=4, label="Mem$_i$")
        ax.set_xlim(keys[:, 0].min() - pad, keys[:, 0].max() + pad)
        ax.set_ylim(keys[:, 1].min() - pad, keys[:, 1].max() + pad)
        ax.set_title(f"i = {i}: Mem moves 1/(i+1) = 1/{i + 1} of the way to $k_{{{i}}}$", fontsize=9)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)

    anim = FuncAnimation(fig, frame, frames=range(len(keys)), interval=interval)
    return offline_jshtml(anim)


def plot_float32_errors(ax, lengths, errors: dict[str, list[float]]):
    """Lines: relative error of each float32 mean against the stream's length."""
    markers = dict(zip(errors, "os^D"))
    for name, errs in errors.items():
        ax.plot(lengths, [max(e, 1e-10) for e in errs], marker=markers[name], label=name)
    ax.axhline(np.finfo(np.float32).eps, color="#999999", ls="--", lw=1, label="float32 epsilon")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("length of the stream")
    ax.set_ylabel("relative error of the mean")
    ax.legend(fontsize=8)
    return ax


def plot_streaming_vs_recompute(ax, result: dict):
    """Lines: microseconds per token of the streaming update and of recomputation (benchmark)."""
    for key, name, color, marker in (("streaming_s_per_token", "streaming update", COLORS["cumavg"], "o"),
                                     ("recompute_s_per_token", "recompute the batch mean", COLORS["full"], "s")):
        points = result[key]
        ax.plot([int(i) for i in points], [t * 1e6 for t in points.values()], marker=marker, color=color, label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("position i")
    ax.set_ylabel("microseconds per token")
    ax.legend()
    return ax


def plot_weight_profiles(ax, profiles: dict, i: int):
    """Lines: the weight of each token j <= i in Mem_i, one line per memory."""
    for name, weights in profiles.items():
        ax.plot(np.arange(i + 1), weights[: i + 1], marker=".", ms=3, label=name)
    ax.set_xlabel("token position j")
    ax.set_ylabel(f"weight in Mem$_{{{i}}}$")
    ax.legend(fontsize=8)
    return ax


def plot_ema_weights(ax, betas, i: int = 99):
    """Lines: EMA weights (1 - beta) beta^(i-j) of each token j in Mem_i, for several beta."""
    from .influence import influence
    from .windows import effective_window, exponential_average

    for beta in betas:
        w = influence(lambda k, v: exponential_average(k, v, beta), i + 1)[i]
        ax.plot(np.arange(i + 1), w, label=f"β = {beta}: effective window {effective_window(beta):.0f}")
    ax.set_xlabel("token position j")
    ax.set_ylabel(f"weight in Mem$_{{{i}}}$")
    ax.set_yscale("log")
    ax.set_ylim(1e-6, 1)
    ax.legend(fontsize=8)
    return ax


def plot_tracking(ax, result: dict):
    """Lines: cos(read, new topic) - cos(read, old topic) after each token; the shift is marked."""
    for name, curve in result["curves"].items():
        ax.plot(curve, label=name, lw=1.2)
    ax.axvline(result["shift_at"], color="#999999", ls=":", lw=1)
    ax.axhline(0, color="#999999", lw=0.8)
    ax.set_xlabel("position i")
    ax.set_ylabel("closer to new topic  (cos B - cos A)")
    ax.legend(fontsize=8)
    return ax


def compressive_timeline(n_s: int, c: int, n_mem: int, n_cmem: int, n_tokens: int) -> np.ndarray:
    """state[t, p] after the segment ending at token t: 2 raw in Mem, 1 compressed in CMem, 0 gone.

    Only complete segments are shown (one row per segment); positions not yet read are -1.
    """
    from .segments import CompressiveMemory

    memory = CompressiveMemory(n_s=n_s, c=c, n_mem=n_mem, n_cmem=n_cmem)
    rows = []
    for t in range(n_tokens):
        memory.update(np.array([float(t)]), np.array([float(t)]))
        if (t + 1) % n_s == 0:
            row = np.where(np.arange(n_tokens) <= t, 0, -1)
            row[memory.mem_positions] = 2
            for first, last in memory.cmem_spans:
                row[first: last + 1] = 1
            rows.append(row)
    return np.array(rows)


def plot_compressive_timeline(ax, n_s=4, c=2, n_mem=8, n_cmem=4, n_tokens=32):
    """Grid: one row per completed segment; each token raw (Mem), compressed (CMem) or dropped."""
    from matplotlib.colors import ListedColormap

    state = compressive_timeline(n_s, c, n_mem, n_cmem, n_tokens)
    cmap = ListedColormap(["#ffffff", "#dddddd", COLORS["compressive"], COLORS["fifo"]])
    ax.imshow(state + 1, cmap=cmap, vmin=0, vmax=3, aspect="auto", interpolation="nearest")
    ax.set_xlabel("token position")
    ax.set_ylabel("after segment")
    ax.set_yticks(range(len(state)))
    ax.grid(False)
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(color=COLORS["fifo"], label="raw, in Mem"),
                       Patch(color=COLORS["compressive"], label="compressed, in CMem"),
                       Patch(color="#dddddd", label="dropped")],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.set_title(f"$n_s$ = {n_s}, c = {c}, Mem holds {n_mem}, CMem holds {n_cmem}", fontsize=9)
    return ax


def plot_capacity(ax, d: int, n_pairs, measured, orthogonal_n=None, orthogonal_cos=None):
    """Measured recall cosine of an outer-product memory against 1/sqrt(1 + (N-1)/d)."""
    from .tasks import expected_recall_cosine

    n_fine = np.geomspace(1, max(n_pairs), 200)
    ax.plot(n_fine, expected_recall_cosine(n_fine, d), color="#999999", label="theory 1/sqrt(1 + (N-1)/d)")
    ax.plot(n_pairs, measured, "o", color=COLORS["linear"], label=f"random keys, d = {d} (measured)")
    if orthogonal_n is not None:
        ax.plot(orthogonal_n, orthogonal_cos, "s", color=COLORS["delta"], ms=4, label="orthogonal keys (N <= d)")
    ax.axvline(d, color="#999999", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("stored pairs N")
    ax.set_ylabel("cos(recalled, stored)")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    return ax


def plot_curves(ax, x, results: dict, xlabel: str, ylabel: str, logx: bool = True):
    """Lines: one result list per memory against x (recall, distance, ... experiments).

    Up to 20 memories get distinct colours (tab20), and alternate line styles and markers, so
    that no two lines look alike.
    """
    import matplotlib

    colours = matplotlib.colormaps["tab20"].colors
    styles = ["-", "--", "-.", ":"]
    markers = "osD^v<>"
    for k, (name, ys) in enumerate(results.items()):
        ax.plot(x, ys, color=colours[(2 * k) % 20 + (2 * k) // 20], ls=styles[k % 4], marker=markers[k % 7],
                ms=3, label=name)
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7, ncol=2)
    return ax


#: The style (kvmem.book.STYLES key) of each memory of benchmarks/scaling.py.
SCALING_STYLES = {"cumavg": "cumavg", "window_average": "window_average", "ema": "ema",
                  "sliding_window": "window", "summary_window": "hybrid", "fifo": "fifo",
                  "compressive": "compressive", "linear": "linear", "delta": "delta", "rnn": "rnn",
                  "knn": "knn", "full_attention": "full"}


def plot_scaling(axes, result: dict, names=None):
    """Two panels from benchmarks/results/scaling.json: seconds and numbers held against N,
    each memory in the book's style; the legend sits right of the second panel."""
    from .book import memory_style

    names = names or list(result["runs"])
    for name in names:
        runs = result["runs"][name]
        n = [r["n"] for r in runs]
        style = memory_style(SCALING_STYLES.get(name, name))
        axes[0].plot(n, [r["seconds"] for r in runs], ms=4, **style)
        axes[1].plot(n, [r["state_numbers"] for r in runs], ms=4, **style)
    for ax, ylabel in zip(axes, ("seconds per sequence", "numbers held at the end")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("sequence length N")
        ax.set_ylabel(ylabel)
    axes[-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return axes


def plot_with_intervals(ax, x, samples: dict, xlabel: str, ylabel: str, logx: bool = True, legend: bool = True):
    """Mean and 95% interval (error bars) of each memory's samples (one row per x, one column per
    seed), in the book's style. Points of different memories are shifted slightly along x so that
    their bars do not hide each other; the legend sits right of the axes."""
    from .book import memory_style
    from .experiments import mean_interval

    x = np.asarray(x, dtype=float)
    for k, (name, rows) in enumerate(samples.items()):
        mean, half = mean_interval(rows, axis=1)
        shift = 1.0 + 0.025 * (k - (len(samples) - 1) / 2)
        xs = x * shift if logx else x + (shift - 1.0) * (x.max() - x.min())
        ax.errorbar(xs, mean, yerr=half, capsize=2, ms=4, lw=1.2, elinewidth=0.8, **memory_style(name))
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return ax
