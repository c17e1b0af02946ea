"""kvmem-grade: grade a folder of exercise notebooks.

    kvmem-grade SUBMISSIONS --chapter 2 --out grades/ [--hidden PRIVATE/] [--workers 2] [--force]

SUBMISSIONS holds one notebook per student (<student>.ipynb) or one folder per student. Writes
OUT/gradebook.csv (one row per student), OUT/results.json (every check), OUT/feedback/<student>.md
and .html, and OUT/results/<student>.json as each student finishes: re-running skips students
already graded (unless --force), so an interrupted batch loses nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .batch import grade_folder
from .sandbox import Limits


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kvmem-grade", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("submissions", type=Path, help="folder of submissions")
    p.add_argument("--chapter", type=int, required=True, help="the assignment: chapter 1 to 7")
    p.add_argument("--out", type=Path, required=True, help="folder for the gradebook, results and feedback")
    p.add_argument("--hidden", type=Path, help="a private folder of hidden checks (.py or .ipynb files calling hidden_cases)")
    p.add_argument("--workers", type=int, default=os.cpu_count(), help="submissions graded at once (default: the number of cores)")
    p.add_argument("--force", action="store_true", help="grade again students who are already graded")
    p.add_argument("--cell-timeout", type=int, default=Limits.cell_seconds, help="seconds per cell (default %(default)s)")
    p.add_argument("--notebook-timeout", type=int, default=Limits.notebook_seconds, help="seconds per notebook (default %(default)s)")
    p.add_argument("--memory-mb", type=int, default=Limits.memory_bytes // 2**20, help="address space per notebook (default %(default)s)")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    limits = Limits(cell_seconds=args.cell_timeout, notebook_seconds=args.notebook_timeout,
                    memory_bytes=args.memory_mb * 2**20)
    try:
        grade_folder(args.submissions, args.chapter, args.out, args.hidden, args.workers, args.force, limits,
                     log=lambda m: print(m, file=sys.stderr, flush=True))
    except ValueError as err:
        print(f"kvmem-grade: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
