"""Generate the student notebooks: python -m kvmem.grading.generate [--check].

Reads every solutions/*.ipynb (the masters) and writes exercises/ with solution regions
replaced by stubs, hidden checks removed and outputs cleared. With --check it writes nothing
and exits with 1 when exercises/ is not what it would write.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .notebooks import generate_all


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kvmem.grading.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository (holds solutions/ and exercises/)")
    parser.add_argument("--check", action="store_true", help="only report whether exercises/ is up to date")
    args = parser.parse_args(argv)
    solutions, exercises = args.root / "solutions", args.root / "exercises"
    if not solutions.is_dir():
        parser.error(f"{solutions} is not a folder: run from the repository root or pass --root")
    exercises.mkdir(exist_ok=True)
    stale = generate_all(solutions, exercises, check_only=args.check)
    for path in stale:
        print(("out of date: " if args.check else "wrote ") + str(path))
    if args.check and stale:
        print("run `python -m kvmem.grading.generate` to regenerate exercises/ from solutions/")
        return 1
    if not stale:
        print("exercises/ is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
