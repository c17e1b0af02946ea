"""Gradescope: build an autograder zip, and the entry point it runs.

    kvmem-gradescope build --chapter 2 --out autograder.zip [--hidden PRIVATE/]
    kvmem-gradescope run [--root /autograder]     (what run_autograder calls on Gradescope)

The zip holds setup.sh (installs Python 3.11 and this package), run_autograder, the package's
source, the chapter's hidden checks and config.json. `run` grades the notebook in
ROOT/submission with the same sandbox as kvmem-grade and writes ROOT/results/results.json in
Gradescope's format: a score, and one test per exercise with its score, maximum and output.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from . import exercises as chapter_exercises
from .batch import REPO, assignment_name, default_hidden_sources, grade_safely, log_isolation
from .grade import SubmissionGrade, hidden_checks
from .intake import submission_in_folder
from .reports import write_atomically
from .sandbox import Limits, claim_uids

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y python3.11 python3.11-venv bubblewrap
python3.11 -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
/autograder/venv/bin/pip install /autograder/source
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission.
exec /autograder/venv/bin/kvmem-gradescope run --root /autograder
"""


def _package_files():
    for path in sorted((REPO / "kvmem").rglob("*.py")):
        yield path, Path("kvmem") / path.relative_to(REPO / "kvmem")
    yield REPO / "pyproject.toml", Path("pyproject.toml")
    yield REPO / "README.md", Path("README.md")


def build_zip(chapter: int, out: Path, private: Path | None = None) -> Path:
    """The autograder zip for one chapter."""
    chapter_exercises(chapter)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            archive.writestr(info, text)
        for source, name in _package_files():
            archive.write(source, str(name))
        for source in default_hidden_sources(chapter, private):
            archive.write(source, f"hidden/{source.name}")
        archive.writestr("config.json", json.dumps({"chapter": chapter}))
    return out


def results_json(grade: SubmissionGrade) -> dict:
    """Gradescope's results.json for one graded submission."""
    tests = [{"name": f"Exercise {e.id}", "score": e.points, "max_score": e.max_points,
              "status": "passed" if e.passed else "failed", "output": "\n".join(e.messages[:5]),
              "visibility": "visible"} for e in grade.exercises]
    summary = f"Score {grade.total:g} / {grade.max_total}."
    if grade.status != "ok":
        summary += f" The notebook could not be graded in full: {grade.detail}"
    return {"score": grade.total, "output": summary, "tests": tests, "visibility": "visible",
            "stdout_visibility": "hidden", "execution_time": round(grade.seconds, 2)}


def run(root: Path) -> dict:
    """Grade ROOT/submission and write ROOT/results/results.json."""
    source = root / "source"
    chapter = json.loads((source / "config.json").read_text())["chapter"]
    hidden_folder = source / "hidden"
    os.chmod(hidden_folder, 0o700)  # the sandbox user must not read the hidden checks
    log_isolation(lambda m: print(m, file=sys.stderr))
    submission = submission_in_folder(root / "submission", assignment_name(chapter))
    base = Path(tempfile.mkdtemp(prefix="kvmem-grade-"))
    try:
        with claim_uids(1) as (uid,):
            grade = grade_safely(submission, chapter, Limits(), base, uid, hidden_checks(sorted(hidden_folder.iterdir())))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    result = results_json(grade)
    write_atomically(root / "results" / "results.json", json.dumps(result, indent=1))
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kvmem-gradescope", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="write the autograder zip for a chapter")
    build.add_argument("--chapter", type=int, required=True)
    build.add_argument("--out", type=Path, required=True)
    build.add_argument("--hidden", type=Path, help="a private folder of hidden checks")
    runner = commands.add_parser("run", help="grade /autograder/submission (Gradescope calls this)")
    runner.add_argument("--root", type=Path, default=Path("/autograder"))
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            print(build_zip(args.chapter, args.out, args.hidden))
        else:
            run(args.root)
    except ValueError as err:
        print(f"kvmem-gradescope: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
