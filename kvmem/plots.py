"""Figures the chapters draw, one function each, shared by static figures and explorers."""

from __future__ import annotations

import re

import numpy as np

from .book import COLORS, memory_style
from .kv_cache import memory_bytes

GIB = 2**30


class Animation(str):
    """An animation's offline HTML (the str itself) with a still of its last frame.

    Displayed on its own in a notebook, it offers both: the HTML page plays the animation and
    the PDF edition, which cannot run JavaScript, prints the still.
    """

    def __new__(cls, html: str, still_png: bytes, alt: str):
        animation = super().__new__(cls, html)
        animation.still_png, animation.alt = still_png, alt
        return animation

    def _repr_mimebundle_(self, include=None, exclude=None):
        import base64

        return {"text/html": str(self), "image/png": base64.b64encode(self.still_png).decode(),
                "text/plain": self.alt}

    def _repr_pretty_(self, printer, cycle):
        """The alt text as plain text: IPython's printer for str would print the whole page."""
        printer.text(self.alt)


def offline_jshtml(anim, alt: str = "Animation: use the buttons or the slider to step through its frames") -> Animation:
    """The animation as self-contained HTML and JavaScript (matplotlib's to_jshtml).

    matplotlib links Font Awesome 4 from a CDN for its buttons; the book's theme already serves
    Font Awesome (with the v4 class names), so the link is dropped and the page reads offline.
    The frame image gets `alt` as its text alternative and the frame slider a label, for
    screen readers; the last frame is kept as a still for the PDF.
    """
    import io
    from html import escape

    import matplotlib.pyplot as plt

    html = anim.to_jshtml(default_mode="once")
    still = io.BytesIO()
    anim._fig.savefig(still, format="png")  # to_jshtml leaves the last frame drawn
    plt.close(anim._fig)
    html = re.sub(r'<link rel="stylesheet"[^>]*href="https?://[^"]*"[^>]*>', "", html)
    html = re.sub(r'<img id="(_anim_img\w+)"', lambda m: f'<img id="{m[1]}" alt="{escape(alt)}"', html)
    html = re.sub(r'<input id="(_anim_slider\w+)" type="range"',
                  lambda m: f'<input id="{m[1]}" type="range" aria-label="animation frame"', html)
    return Animation(html, still.getvalue(), alt)


def _style(name: str, label: str | None = None, markevery=None) -> dict:
    """The book's style for memory `name`, with a different label or markers on every few points."""
    style = memory_style(name)
    if label is not None:
        style["label"] = label
    if markevery is not None:
        style["markevery"] = markevery
    return style


def plot_memory_growth(ax, per_token: int, n_c: int, n_max: int = 131_072, label_suffix: str = ""):
    """Memory (GiB) against tokens read: full KV cache, a window of n_c pairs, one summary pair."""
    n = np.unique(np.geomspace(1, n_max, 200).astype(int))
    curves = (("full", "full", "full KV cache"),
              ("window", "window", f"window, $n_c$ = {n_c:,}"),
              ("summary", "cumavg", "one summary pair (e.g. the cumulative average)"))
    for kind, style, name in curves:
        ax.plot(n, memory_bytes(n, per_token, kind, n_c) / GIB,
                **_style(style, name + label_suffix, markevery=20))
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


def plot_dilution(axes, tokens=(0, 50), n: int = 300, n_c: int = 100):
    """Two panels, cumulative average and window: the weight of fixed tokens in Mem_i as i grows
    (dilution against deletion)."""
    weights = _weights(n, n_c)
    i = np.arange(n)
    for ax, (name, w), key in zip(axes, weights.items(), ("cumavg", "window")):
        color = memory_style(key)["color"]
        ax.plot(i[tokens[0]:], w[tokens[0]:, tokens[0]], color=color, lw=3, label=f"token {tokens[0]}")
        for j in tokens[1:]:  # drawn on top, with open circles, so that it shows where it coincides
            ax.plot(i[j:], w[j:, j], color=color, ls="--", lw=1.2, marker="o", ms=4, mfc="white",
                    markevery=10, label=f"token {j}")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("position i")
        ax.set_ylim(0, 0.04)
        ax.legend(loc="upper right")
    axes[0].set_ylabel("weight of the token in Mem$_i$")
    return axes


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
    return offline_jshtml(anim, alt=f"Animation: bars of the weight of each token in Mem_i for i = 1 to {n - 1}, "
                                    f"cumulative average beside a window of {n_c}; use the buttons to step i")


def plot_read_against_query(ax, angles: np.ndarray, reads: dict[str, np.ndarray], coordinate: int = 1,
                            marks: dict[str, float] | None = None):
    """Lines: one coordinate of Att(q, Mem) as the query turns through `angles` (radians).

    `marks` maps a label to a direction (degrees) drawn as a dotted vertical line.
    """
    for name, out in reads.items():
        ax.plot(np.degrees(angles), out[:, coordinate], **_style(name, markevery=10))
    for k, (label, degrees) in enumerate((marks or {}).items()):
        ax.axvline(degrees, color="#777777", ls=":", lw=1)
        ax.annotate(label, (degrees, 1.0), xycoords=("data", "axes fraction"), ha="center", va="bottom",
                    fontsize=8)
    ax.set_xlabel("direction of the query q (degrees)")
    ax.set_ylabel(f"coordinate {coordinate} of Att(q, Mem)")
    ax.set_xticks(range(0, 361, 45))
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
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
        ax.scatter(*keys[i], color="#444444", s=50, zorder=3, label=f"new key $k_{{{i}}}$")
        ax.plot(*means[: i + 1].T, color=COLORS["cumavg"], lw=1, alpha=0.6)
        if i > 0:
            ax.annotate("", xy=means[i], xytext=means[i - 1],
                        arrowprops=dict(arrowstyle="->", color=COLORS["cumavg"], lw=2))
        ax.scatter(*means[i], color=COLORS["cumavg"], s=60, marker="*", zorder=4, label="Mem$_i$")
        ax.set_xlim(keys[:, 0].min() - pad, keys[:, 0].max() + pad)
        ax.set_ylim(keys[:, 1].min() - pad, keys[:, 1].max() + pad)
        ax.set_title(f"i = {i}: Mem moves 1/(i+1) = 1/{i + 1} of the way to $k_{{{i}}}$", fontsize=9)
        ax.set_xlabel("key coordinate 0")
        ax.set_ylabel("key coordinate 1")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)

    anim = FuncAnimation(fig, frame, frames=range(len(keys)), interval=interval)
    return offline_jshtml(anim, alt="Animation: 2-D keys, and the cumulative average moving 1/(i+1) of the "
                                    "way towards each new key; use the buttons to step i")


def recursion_weights(n: int) -> np.ndarray:
    """Row i: the weight of each token j <= i in m_i, read off the recursion itself.

    Token j is fed in as the unit vector e_j (the impulse method of chapter 2), so the running
    mean after step i is the vector of weights w_ij that the update has given every token.
    """
    from .cumavg import RunningMean

    mean, rows = RunningMean(), []
    for j in range(n):
        mean.add(np.eye(n)[j])
        rows.append(mean.mean.copy())
    return np.array(rows)


def plot_recursion_weights(ax, n: int = 8):
    """Stacked bars: bar i splits m_i into the weights of tokens 0..i (token 0 at the bottom, in
    the cumulative average's colour; the newest token hatched, on top)."""
    weights = recursion_weights(n)
    greys, newest = ["#dddddd", "#c4c4c4"], "#8c8c8c"
    for i in range(n):
        bottom = 0.0
        for j in range(i + 1):
            colour = COLORS["cumavg"] if j == 0 else newest if j == i else greys[j % 2]
            ax.bar(i, weights[i, j], bottom=bottom, width=0.7, color=colour, edgecolor="white",
                   hatch="//" if j == i and i > 0 else None, lw=0.8)
            bottom += weights[i, j]
        ax.text(i, weights[i, 0] / 2, f"1/{i + 1}", ha="center", va="center", fontsize=8, color="white")
    ax.set_xticks(range(n))
    ax.set_xlabel("step i")
    ax.set_ylabel("weight of each token in $m_i$")
    ax.set_ylim(0, 1.02)
    ax.grid(False)
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=COLORS["cumavg"], label="token 0"),
                       Patch(facecolor=newest, edgecolor="white", hatch="//", label="newest token i"),
                       Patch(color=greys[1], label="tokens in between")],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return ax


#: One style per float32 summation method (Fig. 3.x and benchmarks/float32_accuracy.py).
SUM_STYLES = {
    "naive sum":               dict(color="#d55e00", ls="-",  marker="o"),
    "incremental update":      dict(color="#c36d9c", ls="--", marker="s"),
    "prefix sums (chapter 2)": dict(color="#b07800", ls=":",  marker="v"),
    "pairwise (np.mean)":      dict(color="#0072b2", ls="-",  marker="^"),
    "compensated update":      dict(color="#009e73", ls="-.", marker="D"),
}


def plot_float32_errors(ax, lengths, errors: dict, floor: float = 1e-10):
    """Lines and bands: the median over streams of each float32 mean's relative error (line) and
    its interquartile range (band), against the stream's length.

    errors[method] holds one error per length, or one list of errors (one per stream) per length.
    Errors of exactly 0 are drawn at `floor`, so that a log axis can show them.
    """
    for name, errs in errors.items():
        e = np.maximum(np.asarray(errs, dtype=float).reshape(len(lengths), -1), floor)
        style = SUM_STYLES.get(name, {})
        ax.plot(lengths, np.median(e, axis=1), label=name, **style)
        if e.shape[1] > 1:
            low, high = np.percentile(e, [25, 75], axis=1)
            ax.fill_between(lengths, low, high, color=style.get("color"), alpha=0.18, lw=0)
    ax.axhline(np.finfo(np.float32).eps, color="#999999", ls="--", lw=1, label="float32 epsilon")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("length of the stream n")
    ax.set_ylabel("relative error of the mean")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return ax


def plot_streaming_vs_recompute(ax, result: dict):
    """Lines: microseconds per token of the streaming update and of recomputation (benchmark)."""
    for key, style, name in (("streaming_s_per_token", "cumavg", "streaming update"),
                             ("recompute_s_per_token", "full", "recompute the batch mean")):
        points = result[key]
        ax.plot([int(i) for i in points], [t * 1e6 for t in points.values()], **_style(style, name))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("position i")
    ax.set_ylabel("microseconds per token")
    ax.legend()
    return ax


def plot_weight_profiles(ax, profiles: dict, i: int):
    """Lines: the weight of each token j <= i in Mem_i, one line per memory (named as in STYLES,
    details after a comma)."""
    for name, weights in profiles.items():
        ax.plot(np.arange(i + 1), weights[: i + 1], ms=4, **_style(name, markevery=5))
    ax.set_xlabel("token position j")
    ax.set_ylabel(f"weight in Mem$_{{{i}}}$")
    ax.legend(loc="upper left", fontsize=8)
    return ax


def plot_ema_weights(ax, betas, i: int = 99):
    """Lines: EMA weights (1 - beta) beta^(i-j) of each token j in Mem_i, for several beta, on a
    log10 axis (each line falls by log10(1/beta) decades per token)."""
    from .influence import influence
    from .windows import effective_window, exponential_average

    color = memory_style("ema")["color"]
    for beta, ls, marker in zip(betas, ("-", "--", ":", "-."), "ovs^"):
        w = influence(lambda k, v: exponential_average(k, v, beta), i + 1)[i]
        ax.plot(np.arange(i + 1), w, color=color, ls=ls, marker=marker, ms=4, markevery=10,
                label=f"β = {beta}: effective window {effective_window(beta):.0f}")
    ax.set_xlabel("token position j")
    ax.set_ylabel(f"weight in Mem$_{{{i}}}$ (log scale)")
    ax.set_yscale("log")
    ax.set_ylim(1e-6, 1)
    ax.legend(fontsize=8)
    return ax


def plot_bias_correction(ax, x: np.ndarray, beta: float):
    """Lines: the cumulative average and the exponential average of a 1-D sequence x, with and
    without bias correction, and the noise-free start-up curve 1 - beta^(i+1)."""
    from .windows import ExponentialAverage
    from .cumavg import CumulativeAverage

    memories = {"cumavg": CumulativeAverage(), "raw": ExponentialAverage(beta),
                "corrected": ExponentialAverage(beta, bias_correction=True)}
    curves = {name: [] for name in memories}
    for value in x:
        for name, memory in memories.items():
            memory.update([value], [value])
            curves[name].append(memory.mem[0][0])
    i = np.arange(len(x))
    ax.plot(i, 1 - beta ** (i + 1), color="#999999", lw=1, label=f"1 - {beta}$^{{i+1}}$ (no noise)")
    ax.plot(i, curves["cumavg"], ms=4, **_style("cumavg", markevery=10))
    ax.plot(i, curves["raw"], ms=4, **(_style("ema", f"exponential, β = {beta}, uncorrected", markevery=10) | {"ls": ":"}))
    ax.plot(i, curves["corrected"], ms=4, **_style("ema", f"exponential, β = {beta}, bias-corrected", markevery=10))
    ax.set_xlabel("position i")
    ax.set_ylabel("memory (the keys are near 1)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return ax


def plot_tracking(ax, result: dict):
    """Lines: cos(read, new topic) - cos(read, old topic) after each token; the shift is marked."""
    for name, curve in result["curves"].items():
        ax.plot(curve, lw=1.2, ms=4, **_style(name, markevery=25))
    ax.axvline(result["shift_at"], color="#999999", ls=":", lw=1)
    ax.axhline(0, color="#999999", lw=0.8)
    ax.set_xlabel("position i")
    ax.set_ylabel("closer to new topic (cos B − cos A)")
    ax.legend(fontsize=8)
    return ax


def compressive_timeline(n_s: int, c: int, n_mem: int, n_cmem: int, n_tokens: int) -> np.ndarray:
    """state[t, p] after the segment ending at token t: 3 current segment, 2 raw in Mem,
    1 compressed in CMem, 0 gone.

    Only complete segments are shown (one row per segment); positions not yet read are -1. A
    complete segment stays the current segment until the next segment's first token arrives.
    """
    from .segments import CompressiveMemory

    memory = CompressiveMemory(n_s=n_s, c=c, n_mem=n_mem, n_cmem=n_cmem)
    rows = []
    for t in range(n_tokens):
        memory.update(np.array([float(t)]), np.array([float(t)]))
        if (t + 1) % n_s == 0:
            row = np.where(np.arange(n_tokens) <= t, 0, -1)
            row[memory.segment.positions] = 3
            row[memory.mem_positions] = 2
            for first, last in memory.cmem_spans:
                row[first: last + 1] = 1
            rows.append(row)
    return np.array(rows)


def plot_compressive_timeline(ax, n_s=4, c=2, n_mem=8, n_cmem=4, n_tokens=32):
    """Grid: one row per completed segment; each token current, raw (Mem), compressed (CMem) or dropped."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    current = "#b8d9f0"  # a pale FIFO blue: raw pairs of the segment being read
    state = compressive_timeline(n_s, c, n_mem, n_cmem, n_tokens)
    cmap = ListedColormap(["#ffffff", "#dddddd", COLORS["compressive"], COLORS["fifo"], current])
    ax.imshow(state + 1, cmap=cmap, vmin=0, vmax=4, aspect="auto", interpolation="nearest")
    ax.set_xlabel("token position")
    ax.set_ylabel("after the last token of segment")
    ax.set_yticks(range(len(state)))
    ax.grid(False)
    ax.legend(handles=[Patch(color=current, label="current segment"),
                       Patch(color=COLORS["fifo"], label="raw, in Mem"),
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
    """Lines: one result list per memory against x (recall, distance, ... experiments), each
    memory in the book's style (`kvmem.book.memory_style`); the legend sits right of the axes."""
    from .book import memory_style

    for name, ys in results.items():
        ax.plot(x, ys, ms=3, **memory_style(name))
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
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


def plot_curves_with_intervals(ax, x, results: dict, xlabel: str, ylabel: str, logx: bool = True,
                               labels: dict | None = None):
    """Lines with 95% bands: results maps a memory name to (means, half-widths) against x.

    Each memory is drawn in the book's style (kvmem.book.memory_style); `labels` may replace a
    memory's readable label (to add its settings). The legend goes outside the axes, on the
    right, so that it hides no data.
    """
    from .book import memory_style

    for name, (mean, half) in results.items():
        style = memory_style(name)
        if labels and name in labels:
            style["label"] = labels[name]
        ax.plot(x, mean, ms=4, **style)
        ax.fill_between(x, np.asarray(mean) - half, np.asarray(mean) + half, color=style["color"], alpha=0.2, lw=0)
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return ax


def plot_reach(ax, reach: np.ndarray, n_s: int):
    """Bars from the shortest to the longest reach of each layer (one cached segment), beside
    the reach 0..n_s-1 of a model without a cache."""
    from .book import COLORS as colors

    layers = np.arange(1, len(reach) + 1)
    ax.bar(layers, reach[:, 1] - reach[:, 0] + 1, bottom=reach[:, 0], width=0.6, color=colors["fifo"],
           label="with one cached segment (Transformer-XL):\nfirst to last query of a segment")
    ax.bar(layers, np.full(len(layers), n_s), bottom=0, width=0.6, color="#bbbbbb", hatch="//",
           edgecolor="white", label="without a cache: 0 to $n_s - 1$ at every layer")
    ax.set_xticks(layers)
    ax.set_xlabel("layer l")
    ax.set_ylabel("reach (tokens back)")
    ax.legend(loc="upper left", fontsize=8)
    return ax


def first_dependent_layer(n_layers: int, n_s: int, n_mem: int, n_tokens: int) -> np.ndarray:
    """first[i, j]: the lowest layer l (1..n_layers) whose state at position i depends on token j;
    0 when no layer up to n_layers does.

    The layer-l state at i depends on the tokens a_l(i), ..., i, where a_l(i) = i - reach
    (kvmem.experiments.reach_by_propagation): every read covers a contiguous range of positions
    ending at i, so the tokens it depends on are contiguous too.
    """
    from .experiments import reach_by_propagation

    reach = reach_by_propagation(n_layers, n_s, n_mem, n_tokens)
    i = np.arange(n_tokens)[:, None]
    j = np.arange(n_tokens)[None, :]
    first = np.zeros((n_tokens, n_tokens), dtype=np.int64)
    for layer in range(n_layers, 0, -1):  # the lowest layer is written last
        oldest = (np.arange(n_tokens) - reach[layer - 1])[:, None]
        first[(j >= oldest) & (j <= i)] = layer
    return first


def plot_dependencies(ax, n_layers: int = 3, n_s: int = 4, n_tokens: int = 16):
    """Grid: row i, column j coloured by the lowest layer whose state at i depends on token j
    (one cached segment per layer, n_m = n_s); segment boundaries as thin lines."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    first = first_dependent_layer(n_layers, n_s, n_s, n_tokens)
    blues = ["#08519c", "#4292c6", "#9ecae1", "#deebf7"][:n_layers]
    ax.imshow(first, cmap=ListedColormap(["#ffffff"] + blues), vmin=0, vmax=n_layers,
              interpolation="nearest")
    for boundary in range(n_s, n_tokens, n_s):
        ax.axvline(boundary - 0.5, color="#999999", lw=0.8)
        ax.axhline(boundary - 0.5, color="#999999", lw=0.8)
    ax.set_xticks(range(0, n_tokens, n_s))
    ax.set_yticks(range(0, n_tokens, n_s))
    ax.set_xlabel("token j")
    ax.set_ylabel("query position i")
    ax.grid(False)
    ax.legend(handles=[Patch(color=blues[l - 1], label=f"first reached in layer {l}")
                       for l in range(1, n_layers + 1)] + [Patch(facecolor="#ffffff", edgecolor="#999999",
                                                                 label=f"not reached by layer {n_layers}")],
              loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    return ax


#: The keys of benchmarks/results/scaling.json that name a memory differently from kvmem.book.STYLES.
BENCHMARK_STYLE_KEYS = {"full_attention": "full", "sliding_window": "window", "summary_window": "hybrid",
                        "window_average": "window"}


def plot_seconds_against_length(ax, result: dict, names):
    """Seconds per sequence against N from benchmarks/results/scaling.json, in the book's styles:
    the median of the repetitions, with a band from their first to their third quartile where
    the results have them."""
    from .book import memory_style

    for name in names:
        runs = result["runs"][name]
        style = memory_style(BENCHMARK_STYLE_KEYS.get(name, name))
        n = [r["n"] for r in runs]
        ax.plot(n, [r["seconds"] for r in runs], ms=4, **style)
        if all("seconds_spread" in r for r in runs):
            ax.fill_between(n, [r["seconds_spread"]["q1"] for r in runs], [r["seconds_spread"]["q3"] for r in runs],
                            color=style["color"], alpha=0.2, lw=0)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("sequence length N (tokens)")
    ax.set_ylabel("seconds per sequence")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return ax


def benchmark_label(name: str) -> str:
    """The readable label of a memory named as in benchmarks/results/scaling.json ("full_attention" -> "full attention")."""
    from .book import memory_style

    return memory_style(BENCHMARK_STYLE_KEYS.get(name, name))["label"]


def _log2_axis_with_plain_ticks(ax, x):
    """A base-2 log x axis with a tick, labelled as a plain number, at each x."""
    from matplotlib.ticker import NullLocator

    ax.set_xscale("log", base=2)
    ax.set_xticks(list(x), [f"{v:g}" for v in x])
    ax.xaxis.set_minor_locator(NullLocator())


def plot_capacity_bands(ax, d: int, n_pairs, samples, orthogonal_n=None, orthogonal_samples=None):
    """Measured recall cosine of an outer-product memory (mean and 95% band over seeds) against
    the crosstalk law 1/sqrt(1 + (N-1)/d); orthogonal keys (N <= d) as squares."""
    from .book import memory_style
    from .experiments import mean_interval
    from .tasks import expected_recall_cosine

    n_fine = np.geomspace(1, max(n_pairs), 200)
    ax.plot(n_fine, expected_recall_cosine(n_fine, d), color="#999999", lw=2.5, alpha=0.7,
            label="crosstalk law $1/\\sqrt{1 + (N-1)/d}$")
    style = memory_style("linear")
    mean, half = mean_interval(samples)
    ax.errorbar(n_pairs, mean, yerr=half, fmt=style["marker"], color=style["color"], ms=4, capsize=3,
                label=f"random keys, d = {d}: mean, 95% interval")
    if orthogonal_n is not None:
        ax.plot(orthogonal_n, np.mean(orthogonal_samples, axis=1), "s", color=COLORS["delta"], ms=5,
                mfc="none", label="orthogonal keys (N ≤ d)")
    ax.axvline(d, color="#999999", ls=":", lw=1)
    _log2_axis_with_plain_ticks(ax, n_pairs)
    ax.set_xlabel("stored pairs N")
    ax.set_ylabel("cos(recalled, stored)")
    ax.set_ylim(0, 1.05)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return ax


def plot_bands(ax, x, samples: dict, xlabel: str, ylabel: str, labels: dict | None = None, logx: bool = True):
    """`plot_curves_with_intervals` from raw samples: samples[name] holds one row per x and one
    column per seed; a base-2 x axis with plain tick labels."""
    from .experiments import mean_interval

    results = {name: mean_interval(rows) for name, rows in samples.items()}
    plot_curves_with_intervals(ax, x, results, xlabel, ylabel, logx=False, labels=labels)
    if logx:
        _log2_axis_with_plain_ticks(ax, x)
    return ax


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


def _box(ax, x, y, w, h, text, face, edge="#1b1b1b", ls="-", fontsize=11):
    """A rounded box with centred text (diagram helper)."""
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.12",
                                facecolor=face, edgecolor=edge, ls=ls, lw=1.2))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end, color="#1b1b1b", ls="-"):
    ax.annotate("", xy=end, xytext=start,
                arrowprops=dict(arrowstyle="-|>", color=color, lw=1.3, ls=ls, shrinkA=0, shrinkB=0))


def plot_memory_step(axes, i: int = 11, n_c: int = 4):
    """One step of a recurrent memory (top) and what three memories keep after position i (bottom).

    Top: Mem_i = f((k_i, v_i), Mem_{i-1}) is updated from the newest pair and the previous state;
    Att(q_i, Mem_i) reads it; only Mem_i is carried to step i + 1. Bottom: the pairs each memory
    holds after position i: the full KV cache all i + 1, a window the last n_c, the cumulative
    average one averaged pair (and the count i + 1).
    """
    top, bottom = axes
    update_face, read_face, kept_face = "#fbe3d3", "#d6e7f3", "#eeeeee"
    top.set_xlim(0, 13.0)
    top.set_ylim(-0.1, 3.2)
    centres = {"old": 1.2, "update": 4.35, "new": 7.5, "read": 10.65}
    for key, text, face in (("old", "$\\mathrm{Mem}_{i-1}$", kept_face), ("update", "update $f$", update_face),
                            ("new", "$\\mathrm{Mem}_i$", kept_face), ("read", "read\n$\\mathrm{Att}(q_i, \\cdot)$", read_face)):
        _box(top, centres[key] - 1.05, 1.05, 2.1, 0.9, text, face)
    notes = {"old": "the state after\nstep $i-1$",
             "update": "updated from $(k_i, v_i)$\nand $\\mathrm{Mem}_{i-1}$ only",
             "new": "kept: all that is\ncarried to step $i+1$",
             "read": "read: the query sees\nonly what was kept"}
    for key, text in notes.items():
        top.text(centres[key], 0.4, text, ha="center", va="center", fontsize=9)
    top.text(centres["update"], 2.95, "newest pair $(k_i, v_i)$", ha="center", va="center", fontsize=11)
    top.text(centres["read"], 2.95, "query $q_i$", ha="center", va="center", fontsize=11)
    for a, b in (("old", "update"), ("update", "new"), ("new", "read")):
        _arrow(top, (centres[a] + 1.1, 1.5), (centres[b] - 1.1, 1.5))
    _arrow(top, (centres["read"] + 1.1, 1.5), (12.3, 1.5))
    top.text(12.3, 1.3, "output", ha="center", va="top", fontsize=9)
    for key in ("update", "read"):
        _arrow(top, (centres[key], 2.75), (centres[key], 1.95))
    top.set_axis_off()

    n = i + 1
    rows = (("full", "full KV cache", f"all {n} pairs: grows with $i$"),
            ("window", f"window, $n_c$ = {n_c}", f"the last {n_c} pairs: fixed"),
            ("cumavg", "cumulative average", "one averaged pair: fixed"))
    bottom.set_xlim(-5.6, n + 8.6)
    bottom.set_ylim(-0.9, 3 * 1.1)
    bottom.set_aspect("equal")
    for row, (name, label, state) in enumerate(rows):
        y = (len(rows) - 1 - row) * 1.1
        color = COLORS[name]
        held = range(n) if name == "full" else range(n - n_c, n) if name == "window" else ()
        for j in range(n):
            bottom.add_patch(_square(j, y, color if j in held else "white",
                                     color if j in held else "#bbbbbb", "-" if j in held else ":"))
        bottom.text(-0.3, y + 0.35, label, ha="right", va="center", fontsize=10, color=color)
        x_text = n + 0.3
        if name == "cumavg":  # one pair that blends all of them
            bottom.text(n + 0.15, y + 0.35, "$\\to$", ha="left", va="center")
            bottom.add_patch(_square(n + 1.0, y, color, color, "-"))
            x_text = n + 1.9
            state = "$(\\bar k_i, \\bar v_i)$ + count"
        bottom.text(x_text, y + 0.35, state, ha="left", va="center", fontsize=10)
    bottom.text(0.35, -0.5, "0", ha="center", va="center", fontsize=8)
    bottom.text(n - 0.65, -0.5, f"{i}", ha="center", va="center", fontsize=8)
    bottom.text(n / 2 - 0.15, -0.5, f"positions $j$ = 0..{i} (dotted: not held)", ha="center", va="center", fontsize=8)
    bottom.set_axis_off()
    return axes


def _square(j, y, face, edge, ls):
    from matplotlib.patches import Rectangle

    return Rectangle((j, y), 0.7, 0.7, facecolor=face, edgecolor=edge, ls=ls, lw=1)
