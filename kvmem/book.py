"""Helpers for the chapters: one figure style, one seed, and the code shown in the text."""

from __future__ import annotations

import inspect

import numpy as np

SEED = 2025

#: One style per memory for the whole book: a readable label, a colour (Okabe-Ito and Tol's
#: colour-blind-safe palettes), a line style and a marker, so that two memories never look
#: alike even in grey or to a reader with a colour-vision deficiency.
STYLES = {
    "full":        dict(label="full attention",            color="#1b1b1b", ls="-",  marker="o"),
    "window":      dict(label="sliding window",            color="#0072b2", ls="-",  marker="s"),
    "cumavg":      dict(label="cumulative average",        color="#d55e00", ls="-",  marker="^"),
    "ema":         dict(label="exponential average",       color="#009e73", ls="--", marker="v"),
    "weighted":    dict(label="weighted window",           color="#cc79a7", ls="--", marker="D"),
    "fifo":        dict(label="FIFO (Transformer-XL)",     color="#56b4e9", ls="-.", marker="<"),
    "compressive": dict(label="compressive",               color="#e69f00", ls="-.", marker=">"),
    "knn":         dict(label="kNN + window",              color="#7f7f7f", ls=":",  marker="P"),
    "linear":      dict(label="linear attention",          color="#882255", ls="-",  marker="X"),
    "delta":       dict(label="delta rule",                color="#44aa99", ls="-",  marker="d"),
    "gated_delta": dict(label="gated delta rule",          color="#117733", ls="--", marker="h"),
    "gated":       dict(label="gated linear (decay)",      color="#ddcc77", ls="--", marker="H"),
    "mlp":         dict(label="MLP at test time",          color="#999933", ls=":",  marker="*"),
    "rnn":         dict(label="RNN state",                 color="#aa4499", ls=":",  marker="p"),
    "hybrid":      dict(label="summary + window",          color="#332288", ls="--", marker="8"),
    "infini":      dict(label="Infini-attention",          color="#661100", ls="-.", marker="1"),
    "sinks":       dict(label="attention sinks + window",  color="#6699cc", ls="--", marker="2"),
    "h2o":         dict(label="heavy hitters (H2O)",       color="#aa4466", ls="-.", marker="3"),
    "quant8":      dict(label="int8 KV cache",             color="#4b4b4b", ls="--", marker="4"),
    "quant4":      dict(label="int4 KV cache",             color="#888888", ls=":",  marker="x"),
    "window_average": dict(label="window average",         color="#ee3377", ls=":",  marker="+"),
}

#: Colours alone, for bars and scatter plots (the same colours as STYLES).
COLORS = {key: style["color"] for key, style in STYLES.items()}

_ALIASES = {style["label"]: key for key, style in STYLES.items()} | {
    "full cache": "full", "full KV cache": "full", "window average": "window", "FIFO": "fifo",
    "summary + window": "hybrid", "hybrid [summary; window]": "hybrid", "RNN": "rnn",
    "exponential moving average": "ema", "EMA": "ema",
}


def memory_style(name: str, markers: bool = True) -> dict:
    """Keyword arguments for `ax.plot` that draw memory `name` (a key of STYLES or a label)
    in the book's style, with its readable label."""
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
