"""What every benchmark shares: the machine's description, timing, and writing results."""

from __future__ import annotations

import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    """The machine the numbers were measured on."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory_gib = round(mem_kib / 2**20, 1)
    except (OSError, ValueError, IndexError):
        memory_gib = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
    }


def best_time(fn, repeat: int = 5) -> float:
    """The fastest of `repeat` runs of fn(), in seconds (the least disturbed by other work)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def fit_slope(n, t) -> float:
    """The slope of log t against log n (least squares): 1 is linear, 2 is quadratic."""
    return float(np.polyfit(np.log(n), np.log(t), 1)[0])


def write_result(name: str, result: dict, figure=None) -> Path:
    """Write results/<name>.json (with the machine and the date) and results/<name>.png."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
               "machine": machine(), **result}
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    tmp.replace(path)
    if figure is not None:
        figure.savefig(RESULTS / f"{name}.png", dpi=100, bbox_inches="tight")
    return path


def log(message: str) -> None:
    print(message, flush=True)
