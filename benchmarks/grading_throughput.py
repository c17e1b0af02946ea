"""Grade 100 copies of a completed chapter-2 notebook (a mix of right and wrong answers) with 2
workers, each in its own sandbox; seconds_per_submission = wall time / count. Records whether
the bubblewrap sandbox was in force ("isolation")."""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import nbformat

from benchmarks.common import log, write_result
from kvmem.grading import find
from kvmem.grading.batch import grade_folder
from kvmem.grading.notebooks import replace_regions
from kvmem.grading.sandbox import isolation_mode

ROOT = Path(__file__).resolve().parent.parent
MASTER = ROOT / "solutions" / "chapter2_cumulative_average.ipynb"
COUNT = 100
WORKERS = 2


def submissions(folder: Path) -> None:
    """COUNT notebooks: every third has a wrong answer to one exercise."""
    master = nbformat.read(MASTER, as_version=4)
    wrong_ids = ["2.1", "2.2", "2.3", "2.5"]
    for k in range(COUNT):
        notebook = nbformat.from_dict(master)
        if k % 3 == 0:
            target = wrong_ids[(k // 3) % len(wrong_ids)]
            for cell in notebook.cells:
                if cell.cell_type == "code":
                    cell.source = replace_regions(cell.source, lambda i, indent: find(i).wrong if i == target else None)
        nbformat.write(notebook, folder / f"student{k:03d}.ipynb")


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the sandboxes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> dict:
    base = Path(tempfile.mkdtemp(prefix="throughput-"))
    try:
        (base / "in").mkdir()
        submissions(base / "in")
        load = os.getloadavg()[0]
        cpu_before = _cpu_seconds()
        start = time.perf_counter()
        grades = grade_folder(base / "in", 2, base / "out", workers=WORKERS, log=lambda m: None)
        wall = time.perf_counter() - start
        cpu = _cpu_seconds() - cpu_before
    finally:
        shutil.rmtree(base, ignore_errors=True)
    per = wall / COUNT
    totals = sorted(g.total for g in grades)
    log(f"  {COUNT} submissions in {wall:.1f} s: {per:.2f} s per submission ({WORKERS} workers, sandbox: {isolation_mode()})")
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.barh(["otter-grader CLI (quoted)", "otter-grader API (quoted)", "nbgrader autograde (quoted)", "kvmem-grade (measured)"],
            [7.5, 3.3, 1.6, per], color=["#999999", "#999999", "#999999", "#d55e00"])
    ax.set_xlabel("seconds per submission, 2 cores")
    result = {
        "description": f"kvmem-grade on {COUNT} chapter-2 notebooks (one in three with a wrong answer), {WORKERS} workers",
        "count": COUNT, "workers": WORKERS, "cores": os.cpu_count(), "wall_seconds": wall, "seconds_per_submission": per,
        "cpu_seconds_per_submission": cpu / COUNT, "load_average_before": load,
        "target_seconds_per_submission": 0.5, "isolation": isolation_mode(),
        "isolations": sorted({g.isolation for g in grades}),
        "statuses": sorted({g.status for g in grades}), "score_counts": {str(t): totals.count(t) for t in set(totals)},
        "quoted_for_comparison": {"otter-grader CLI": 7.5, "otter-grader API": 3.3, "nbgrader autograde": 1.6},
    }
    write_result("grading_throughput", result, fig)
    return result


if __name__ == "__main__":
    main()
