"""kvmem-grade: grade a folder of exercise notebooks.

    kvmem-grade SUBMISSIONS --chapter 2 --out grades/ [--hidden PRIVATE/] [--salt-file SALT] [--workers 2] [--force]
                [--manual grades/manual.csv] [--lms canvas|moodle [--lms-assignment NAME] [--lms-points N]]
    kvmem-grade --replay grades/results/<file>.json [--hidden PRIVATE/]

SUBMISSIONS holds one notebook per student (<student>.ipynb, any case, .ipynb.json, Canvas
names) or one folder per student. Writes OUT/gradebook.csv (one row per student),
OUT/results.json (every check), OUT/skipped.csv (files that are not notebooks),
OUT/feedback/<file>.md and .html, and OUT/results/<file>.json as each student finishes (<file>:
the student ID made safe, and a hash of it). Re-running skips students already graded with the
same notebook, chapter, hidden checks and grader (unless --force), so an interrupted batch loses
nothing. Every run also writes OUT/manual.csv (each written answer and choice justification,
a Points column for the teaching assistant) and OUT/manual/<exercise>.html (all answers side by
side with the rubric); --manual reads the TA's points back (points already entered are kept) and
writes OUT/gradebook_with_manual.csv. --lms canvas writes OUT/canvas.csv (Canvas's gradebook
import), --lms moodle OUT/moodle.csv (Moodle's offline grading worksheet), with the TA's points
when --manual is given. --replay grades one student again with the recorded seeds and says whether the grade
is the same.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .batch import assignment_name, grade_folder, replay
from .lms import write_canvas, write_moodle
from .manual import merge_manual, write_manual
from .sandbox import Limits
from .variant_ids import read_salt


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kvmem-grade", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("submissions", type=Path, nargs="?", help="folder of submissions")
    p.add_argument("--chapter", type=int, help="the assignment: a chapter number")
    p.add_argument("--out", type=Path, help="folder for the gradebook, results and feedback")
    p.add_argument("--replay", type=Path, metavar="RESULT_JSON", help="grade one student again exactly as recorded")
    p.add_argument("--hidden", type=Path, help="a private folder of hidden checks (.py or .ipynb files calling hidden_cases)")
    p.add_argument("--workers", type=int, default=os.cpu_count(), help="submissions graded at once (default: the number of cores)")
    p.add_argument("--salt-file", type=Path, help="a private file whose first word is the assignment's salt: value and "
                   "choice exercises are then graded on each student's own numbers (see kvmem.grading.variant_ids)")
    p.add_argument("--force", action="store_true", help="grade again students who are already graded")
    p.add_argument("--cell-timeout", type=int, default=Limits.cell_seconds, help="seconds per cell (default %(default)s)")
    p.add_argument("--notebook-timeout", type=int, default=Limits.notebook_seconds, help="seconds per notebook (default %(default)s)")
    p.add_argument("--memory-mb", type=int, default=Limits.memory_bytes // 2**20, help="memory per notebook (default %(default)s)")
    p.add_argument("--manual", type=Path, metavar="CSV", help="the manual-grading file with the TA's points (OUT/manual.csv)")
    p.add_argument("--lms", choices=("canvas", "moodle"), help="also write OUT/canvas.csv or OUT/moodle.csv")
    p.add_argument("--lms-assignment", metavar="NAME", help="Canvas: the assignment column (default: the notebook's name)")
    p.add_argument("--lms-points", type=float, metavar="N", help="rescale scores to N points (default: the assignment's maximum)")
    return p


def run_replay(result_file: Path, hidden: Path | None, limits: Limits) -> int:
    recorded, again = replay(result_file, hidden, limits)
    same = (recorded.total, recorded.status, [e.points for e in recorded.exercises]) == \
        (again.total, again.status, [e.points for e in again.exercises])
    print(json.dumps({"student": again.student, "recorded_total": recorded.total, "replayed_total": again.total,
                      "recorded_status": recorded.status, "replayed_status": again.status, "same": same,
                      "replayed": again.to_json()}, indent=1))
    return 0 if same else 1


def write_exports(args) -> None:
    """After the batch: the TA's points merged (--manual), manual.csv and its pages, the LMS file."""
    merged = None
    if args.manual:
        merged = merge_manual(args.out, args.manual)
        for problem in merged.problems:
            print(f"manual points: {problem}", file=sys.stderr)
    write_manual(args.out, previous=args.manual)
    totals = merged.totals if merged else None
    if args.lms == "canvas":
        print(f"wrote {write_canvas(args.out, args.lms_assignment or assignment_name(args.chapter), args.lms_points, totals=totals)}",
              file=sys.stderr)
    elif args.lms == "moodle":
        print(f"wrote {write_moodle(args.out, args.lms_points, totals=totals)}", file=sys.stderr)


def main(argv=None) -> int:
    p = parser()
    args = p.parse_args(argv)
    limits = Limits(cell_seconds=args.cell_timeout, notebook_seconds=args.notebook_timeout,
                    memory_bytes=args.memory_mb * 2**20)
    if args.replay:
        try:
            return run_replay(args.replay, args.hidden, limits)
        except (ValueError, OSError) as err:
            print(f"kvmem-grade: {err}", file=sys.stderr)
            return 2
    if args.submissions is None or args.chapter is None or args.out is None:
        p.error("SUBMISSIONS, --chapter and --out are needed (or --replay RESULT_JSON)")
    try:
        grade_folder(args.submissions, args.chapter, args.out, args.hidden, args.workers, args.force, limits,
                     log=lambda m: print(m, file=sys.stderr, flush=True), salt=read_salt(args.salt_file))
        write_exports(args)
    except (ValueError, OSError) as err:
        print(f"kvmem-grade: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
