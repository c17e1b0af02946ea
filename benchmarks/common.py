"""What every benchmark shares: the machine's description, timing, and writing results."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"

# BLAS on one thread, forced (benchmarks/__init__.py only sets a default, and only before numpy loads)
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def on_one_thread(name: str, measure) -> dict:
    """measure() in this process if its BLAS already runs on one thread, else in a child process
    `python -m benchmarks.<name>` with ONE_THREAD set; the results it wrote to <name>.json."""
    if all(os.environ.get(k) == v for k, v in ONE_THREAD.items()):
        return measure()
    subprocess.run([sys.executable, "-m", f"benchmarks.{name}"], env=os.environ | ONE_THREAD, check=True)
    return json.loads((RESULTS / f"{name}.json").read_text())


def load_average() -> list[float]:
    """The machine's load average over 1, 5 and 15 minutes (runnable processes), to 2 decimals."""
    return [round(x, 2) for x in os.getloadavg()]


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
        "load_average_1_5_15_min": load_average(),
        "memory_gib": memory_gib,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
    }


REPEATS = 7  # repetitions of every timing: the median is the estimate, min..max the spread


def interleaved_times(functions: dict, repeat: int = REPEATS, progress=None) -> tuple[dict, dict]:
    """(cpu, wall): seconds of each function, `repeat` times, timed in turn in one loop (a, b, a, b, ...).

    cpu is the estimator: time.process_time counts only the time this process ran, so other
    programs on a shared machine do not inflate it (they still share its caches and memory
    bus). wall is the plain clock, recorded beside it. Timing in turn means a slow spell of the
    machine hits a kernel and its yardstick alike, so their ratio in one repetition is fair.
    """
    cpu = {name: [] for name in functions}
    wall = {name: [] for name in functions}
    for _ in range(repeat):
        for name, fn in functions.items():
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            fn()
            wall[name].append(time.perf_counter() - wall_start)
            cpu[name].append(time.process_time() - cpu_start)
        if progress is not None:
            progress(len(cpu[next(iter(functions))]), cpu)
    return cpu, wall


def spread(samples) -> dict:
    """The median of the samples (the estimate) and their spread: quartiles, min and max."""
    samples = np.asarray(samples, dtype=float)
    q1, median, q3 = np.percentile(samples, [25, 50, 75])
    return {"median": float(median), "q1": float(q1), "q3": float(q3),
            "min": float(samples.min()), "max": float(samples.max()), "repeats": int(samples.size)}


def fit_slope(n, t) -> float:
    """The slope of log t against log n (least squares): 1 is linear, 2 is quadratic."""
    return float(np.polyfit(np.log(n), np.log(t), 1)[0])


def write_result(name: str, result: dict, figure=None) -> Path:
    """Write results/<name>.json (with the machine and the date) and results/<name>.png, and
    close the figure (a benchmark draws it once, for this file)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
               "machine": machine(), **result}
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    tmp.replace(path)
    if figure is not None:
        import matplotlib.pyplot as plt

        figure.savefig(RESULTS / f"{name}.png", dpi=100, bbox_inches="tight")
        plt.close(figure)
    return path


def log(message: str) -> None:
    print(message, flush=True)
