"""Helpers for the chapters: one figure style, one seed, and the code shown in the text."""

from __future__ import annotations

import inspect

import numpy as np

SEED = 2025

#: One style per memory for the whole book: a readable label, a colour (after the Okabe-Ito and Tol
#: colour-blind-safe palettes, darkened where needed so that every line has at least 3:1 contrast
#: on white, WCAG 2.1 non-text contrast), a line style and a marker, so that two memories never look
#: alike even in grey or to a reader with a colour-vision deficiency.
STYLES = {
    "full":        dict(label="full attention",            color="#1b1b1b", ls="-",  marker="o"),
    "window":      dict(label="sliding window",            color="#0072b2", ls="-",  marker="s"),
    "cumavg":      dict(label="cumulative average",        color="#d55e00", ls="-",  marker="^"),
    "ema":         dict(label="exponential average",       color="#009e73", ls="--", marker="v"),
    "weighted":    dict(label="weighted window",           color="#c36d9c", ls="--", marker="D"),
    "fifo":        dict(label="FIFO (Transformer-XL)",     color="#3a8ec4", ls="-.", marker="<"),
    "compressive": dict(label="compressive",               color="#b07800", ls="-.", marker=">"),
    "knn":         dict(label="kNN + window",              color="#7f7f7f", ls=":",  marker="P"),
    "linear":      dict(label="linear attention",          color="#882255", ls="-",  marker="X"),
    "delta":       dict(label="delta rule",                color="#2a8a7c", ls="-",  marker="d"),
    "gated_delta": dict(label="gated delta rule",          color="#117733", ls="--", marker="h"),
    "gated":       dict(label="gated linear (decay)",      color="#8a6d00", ls="--", marker="H"),
    "retnet":      dict(label="RetNet (decay γ)",          color="#cc3311", ls="--", marker="s"),
    "mamba2":      dict(label="Mamba-2",                   color="#d6246e", ls=":",  marker="D"),
    "mlp":         dict(label="MLP at test time",          color="#938f2f", ls=":",  marker="*"),
    "rnn":         dict(label="RNN state",                 color="#aa4499", ls=":",  marker="p"),
    "hybrid":      dict(label="summary + window",          color="#332288", ls="--", marker="8"),
    "infini":      dict(label="Infini-attention",          color="#661100", ls="-.", marker="1"),
    "sinks":       dict(label="attention sinks + window",  color="#5a8ac0", ls="--", marker="2"),
    "h2o":         dict(label="heavy hitters (H2O)",       color="#aa4466", ls="-.", marker="3"),
    "quant8":      dict(label="int8 KV cache",             color="#4b4b4b", ls="--", marker="4"),
    "quant4":      dict(label="int4 KV cache",             color="#888888", ls=":",  marker="x"),
    "window_average": dict(label="window average",         color="#ee3377", ls=":",  marker="+"),
    "mlp_fixed":   dict(label="MLP, first layer fixed",    color="#6b6b00", ls="-.", marker="*"),
    "delta_even":  dict(label="delta rule, squared keys",  color="#0f5e54", ls="--", marker="d"),
    "hybrid_count": dict(label="summary + window, log count", color="#7b52ae", ls="-", marker="*"),
    "linear_identity": dict(label="linear attention, φ(k) = k", color="#c2467a", ls="--", marker="X"),
    "linear_unit": dict(label="linear attention, φ(k) = k / ‖k‖", color="#5e2a84", ls=":", marker="X"),
}

#: Colours alone, for bars and scatter plots (the same colours as STYLES).
COLORS = {key: style["color"] for key, style in STYLES.items()}

_ALIASES = {style["label"]: key for key, style in STYLES.items()} | {
    "full cache": "full", "full KV cache": "full", "window average": "window", "FIFO": "fifo",
    "summary + window": "hybrid", "hybrid [summary; window]": "hybrid", "RNN": "rnn",
    "exponential moving average": "ema", "EMA": "ema", "exponential": "ema",
    "cumulative average, compensated": "cumavg",
}


def memory_style(name: str, markers: bool = True) -> dict:
    """Keyword arguments for `ax.plot` that draw memory `name` (a key of STYLES or a label)
    in the book's style, with its readable label.

    A name with details after a comma ("window, n_c = 20") takes the style of the part before
    the comma and keeps the whole name as its label.
    """
    if "," in name and name not in STYLES and name not in _ALIASES:
        style = memory_style(name.split(",")[0].strip(), markers)
        style["label"] = name
        return style
    key = name if name in STYLES else _ALIASES.get(name)
    if key is None:
        raise KeyError(f"no figure style for memory {name!r}; add it to kvmem.book.STYLES")
    style = dict(STYLES[key])
    if not markers:
        style.pop("marker")
    return style


def setup(seed: int = SEED) -> np.random.Generator:
    """Set the book's figure style and return a seeded Generator (call once per chapter)."""
    import matplotlib as mpl

    mpl.rcParams.update({
        "figure.figsize": (7.0, 3.6),
        "figure.dpi": 100,
        "savefig.dpi": 100,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "font.size": 10,
        "legend.frameon": False,
        "svg.hashsalt": "kvmem",  # identical SVG ids run after run
    })
    return np.random.default_rng(seed)


def show_source(*objects):
    """Show the source of functions or classes of the course package as a code block."""
    from IPython.display import Markdown

    blocks = [inspect.getsource(obj).rstrip() for obj in objects]
    return Markdown("```python\n" + "\n\n\n".join(blocks) + "\n```")


def benchmark_result(name: str) -> dict | None:
    """The committed results of benchmarks/<name>.py, or None where the repository is not at hand
    (for example after a plain `pip install` on Colab)."""
    import json
    from pathlib import Path

    for root in (Path(__file__).resolve().parent.parent, Path.cwd().parent, Path.cwd()):
        path = root / "benchmarks" / "results" / f"{name}.json"
        if path.exists():
            return json.loads(path.read_text())
    print(f"(benchmarks/results/{name}.json is not here: clone the repository and run `make benchmarks`)")
    return None


def machine_line(result: dict) -> str:
    """'measured on <cpu>, <cores> cores, numpy <version>, <date>' for a benchmark result."""
    m = result["machine"]
    return f"measured on {m['cpu']}, {m['cores']} cores, numpy {m['numpy']}, {result['date']}"


#: What each memory costs per layer and key-value head, with keys and values of dimension d,
#: a window of n_c pairs, after position i: (label, state in O-notation, numbers of state,
#: update per token in O-notation, its operations, read per query in O-notation, its operations).
#: Operations count additions, multiplications and divisions (a multiply-add is two), or the
#: numbers copied where a step only stores, to the leading term, as the kvmem classes do them
#: (the window average, for example, averages its buffer when it is read; a running sum of the
#: buffer would make that read O(d)).
COSTS = {
    # memory: (label, state O, state, update O, update, read O, read)
    "full": ("full attention (KV cache)",
             "O(i d)", lambda d, n_c, i: 2 * (i + 1) * d,
             "O(d)", lambda d, n_c, i: 2 * d,              # append the pair
             "O(i d)", lambda d, n_c, i: 4 * (i + 1) * d),  # i+1 scores, then a weighted sum
    "recompute": ("re-average all stored pairs",
                  "O(i d)", lambda d, n_c, i: 2 * (i + 1) * d,
                  "O(i d)", lambda d, n_c, i: 2 * (i + 1) * d,  # add up every stored pair
                  "O(d)", lambda d, n_c, i: 2 * d),
    "window": ("sliding window (raw pairs)",
               "O(n_c d)", lambda d, n_c, i: 2 * n_c * d,
               "O(d)", lambda d, n_c, i: 2 * d,            # overwrite the oldest pair
               "O(n_c d)", lambda d, n_c, i: 4 * n_c * d),  # n_c scores, then a weighted sum
    "window_average": ("window average",
                       "O(n_c d)", lambda d, n_c, i: 2 * n_c * d,
                       "O(d)", lambda d, n_c, i: 2 * d,
                       "O(n_c d)", lambda d, n_c, i: 2 * n_c * d),  # add up the buffer
    "weighted": ("weighted window",
                 "O(n_c d)", lambda d, n_c, i: 2 * n_c * d,
                 "O(d)", lambda d, n_c, i: 2 * d,
                 "O(n_c d)", lambda d, n_c, i: 4 * n_c * d),  # weight and add up the buffer
    "cumavg": ("cumulative average",
               "O(d)", lambda d, n_c, i: 2 * d + 1,
               "O(d)", lambda d, n_c, i: 6 * d,            # subtract, divide, add
               "O(d)", lambda d, n_c, i: 2 * d),           # one score; the read is v_bar
    "cumavg_compensated": ("cumulative average, compensated",
                           "O(d)", lambda d, n_c, i: 4 * d + 1,
                           "O(d)", lambda d, n_c, i: 12 * d,
                           "O(d)", lambda d, n_c, i: 2 * d),
    "ema": ("exponential average (bias-corrected)",
            "O(d)", lambda d, n_c, i: 2 * d + 1,
            "O(d)", lambda d, n_c, i: 6 * d,               # beta m + (1 - beta) x
            "O(d)", lambda d, n_c, i: 4 * d),              # divide by 1 - beta^t, one score
    "hybrid": ("summary + window",
               "O(n_c d)", lambda d, n_c, i: 2 * (n_c + 1) * d + 1,
               "O(d)", lambda d, n_c, i: 8 * d,
               "O(n_c d)", lambda d, n_c, i: 4 * (n_c + 1) * d),
    # chapter 7's rows of the shared recurrence S_i = S_{i-1} A_i + beta_i v_i k_i^T, d_k = d_v = d
    "recurrence_scalar": ("scalar gate",
                          "O(d^2)", lambda d, n_c, i: d * d,
                          "O(d^2)", lambda d, n_c, i: 3 * d * d,      # decay S, outer product, add
                          "O(d^2)", lambda d, n_c, i: 2 * d * d),     # S q
    "recurrence_channel": ("gate per channel",
                           "O(d^2)", lambda d, n_c, i: d * d,
                           "O(d^2)", lambda d, n_c, i: 3 * d * d,
                           "O(d^2)", lambda d, n_c, i: 2 * d * d),
    "recurrence_delta": ("delta rows",
                         "O(d^2)", lambda d, n_c, i: d * d,
                         "O(d^2)", lambda d, n_c, i: 5 * d * d,       # decay S, S k, outer product, add
                         "O(d^2)", lambda d, n_c, i: 2 * d * d),
}


def _count(x: int) -> str:
    """12,345 below ten million; 1.2·10^8 above (as LaTeX)."""
    if x < 10_000_000:
        return f"{x:,}"
    exponent = len(str(x)) - 1
    return f"${x / 10**exponent:.1f} \\cdot 10^{{{exponent}}}$"


def complexity_table(names, d: int, n_c: int, i: int, copies: int = 1):
    """A Markdown table of state, update and read cost per token of the memories `names` (keys
    of COSTS): O-notation, then numbers at the stated sizes, times `copies` (layers x heads)."""
    from IPython.display import Markdown

    rows = ["| memory | state | update per token | read per query "
            "| state (numbers) | update (operations) | read (operations) |",
            "|---|---|---|---|---|---|---|"]
    for name in names:
        label, state_o, state, update_o, update, read_o, read = COSTS[name]
        rows.append(f"| {label} | ${state_o}$ | ${update_o}$ | ${read_o}$ | "
                    + " | ".join(_count(copies * f(d, n_c, i)) for f in (state, update, read)) + " |")
    return Markdown("\n".join(rows))
