"""Gradescope: build an autograder zip that installs offline, and the entry point it runs.

    kvmem-gradescope build --chapter 2 --out autograder.zip [--hidden PRIVATE/] [--python 3.11] [--wheels-from DIR]
    kvmem-gradescope run [--root /autograder]     (what run_autograder calls on Gradescope)

The zip holds setup.sh, run_autograder, the package's source, the chapter's hidden checks,
config.json, and wheels/: pinned wheels of everything the grader imports, for the Python of the
Gradescope image (`--python`, default 3.11, the book's Python: pick a base image that has
`python3.11` on its PATH, or build for the image's own python3). setup.sh needs no network and
no Python package from apt: it makes a venv with the image's Python and installs the wheels with
`pip --no-index` (pip itself comes from its wheel in the zip). bubblewrap is installed with apt
when apt can; without it submissions are graded with resource limits only, and the log says so.

`run` grades the submitted notebook (the one named like the assignment, else the only one;
`.ipynb_checkpoints` and hidden files are ignored) with the same sandbox as kvmem-grade, writes
ROOT/results/results.json in Gradescope's format (a score, one test per exercise; an exercise
with hidden cases is shown after the due date, with a visible 0-point test for its drawn cases),
and logs what it did to stdout, which Gradescope shows to the instructor.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from . import exercises as chapter_exercises
from .batch import REPO, assignment_name, default_hidden_sources, grade_safely, log_isolation
from .grade import SubmissionGrade, hidden_checks
from .intake import Submission, _notebooks_in, notebook_stem, readable_name
from .reports import write_atomically
from .sandbox import Limits, claim_uids

DEFAULT_PYTHON = "3.11"
# What the grader imports (nbformat: reading notebooks) and what graded notebooks import inside
# the sandbox (numpy, matplotlib, autograd: the kvmem models). The rest of requirements.txt
# (Jupyter Book, JupyterLab, ipywidgets, the test tools) builds or serves the book and is not needed.
GRADER_REQUIREMENTS = ("numpy", "matplotlib", "autograd", "nbformat")
# Gradescope's images are x86_64 Ubuntu (22.04: glibc 2.35); manylinux wheels for older glibc run there too.
PLATFORMS = tuple(f"manylinux_2_{minor}_x86_64" for minor in range(35, 16, -1)) + ("manylinux2014_x86_64",)

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image. No network needed:
# every Python package comes from the wheels in this zip.
set -euo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
WHEELS="$ROOT/source/wheels"
PYTHON="$(command -v python{python} || true)"
if [ -z "$PYTHON" ]; then
    echo "setup.sh: no python{python} on this image. The wheels in this zip are for Python {python}:" \\
         "choose a base image that has it, or rebuild with kvmem-gradescope build --python X.Y" \\
         "for the image's python3 ($(python3 --version 2>&1 || echo none))." >&2
    exit 1
fi
"$PYTHON" -m venv --without-pip "$ROOT/venv"
unset PIP_FIND_LINKS PIP_INDEX_URL PIP_EXTRA_INDEX_URL
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1
PIP_WHEEL="$(ls "$WHEELS"/pip-*.whl | head -n 1)"
"$ROOT/venv/bin/python" "$PIP_WHEEL/pip" install --no-index --no-cache-dir --find-links "$WHEELS" \\
    --requirement "$WHEELS/requirements.txt"
if command -v bwrap >/dev/null; then
    echo "setup.sh: bubblewrap found (each run checks that it can make a sandbox, and its log says if not)"
elif [ -z "${{AUTOGRADER_NO_APT:-}}" ] && DEBIAN_FRONTEND=noninteractive apt-get install -y bubblewrap; then
    echo "setup.sh: bubblewrap installed (each run checks that it can make a sandbox, and its log says if not)"
else
    echo "setup.sh: WARNING: bubblewrap could not be installed (apt needs the network): submissions" \\
         "will be graded WITHOUT a sandbox (isolation none), with resource limits only"
fi
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission; its stdout is shown to the instructor.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
cd "$ROOT/source"
PYTHONPATH="$ROOT/source" exec "$ROOT/venv/bin/python" -m kvmem.grading.gradescope run --root "$ROOT"
"""


def _package_files():
    for path in sorted((REPO / "kvmem").rglob("*.py")):
        yield path, Path("kvmem") / path.relative_to(REPO / "kvmem")
    yield REPO / "pyproject.toml", Path("pyproject.toml")
    yield REPO / "README.md", Path("README.md")


def requirement_pins(requirements: Path = REPO / "requirements.txt") -> dict[str, str]:
    """{name: version} of the `name==version` lines of requirements.txt."""
    pins = {}
    for line in requirements.read_text().splitlines():
        if match := re.match(r"^\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s;#]+)", line):
            pins[_normal(match[1])] = match[2]
    return pins


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def grader_pins(python: str = DEFAULT_PYTHON) -> dict[str, str]:
    """{name: version} of GRADER_REQUIREMENTS (as requirements.txt pins them) and everything they
    need on `python` (at the versions installed here, which `make` installed from the same pins),
    plus pip, which setup.sh runs from its wheel."""
    from packaging.requirements import Requirement

    pins = requirement_pins()
    environment = {"python_version": python, "python_full_version": f"{python}.0", "extra": ""}
    found, todo = {}, list(GRADER_REQUIREMENTS)
    while todo:
        name = _normal(todo.pop())
        if name in found:
            continue
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            raise ValueError(f"{name} is not installed here: install requirements.txt first") from None
        if name in pins and pins[name] != found[name]:
            raise ValueError(f"{name} {found[name]} is installed but requirements.txt pins {pins[name]}: install requirements.txt first")
        for line in importlib.metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                todo.append(requirement.name)
    found["pip"] = importlib.metadata.version("pip")
    return dict(sorted(found.items()))


def download_wheels(pins: dict[str, str], python: str, folder: Path, wheels_from: Path | None = None) -> list[Path]:
    """One wheel per pin, for `python` on Gradescope's Linux, into `folder` (`pip download
    --only-binary=:all: --no-deps`): from the package index, or only from the folder `wheels_from`."""
    where = ["--no-index", "--find-links", str(wheels_from)] if wheels_from else []
    platforms = [a for p in PLATFORMS for a in ("--platform", p)]
    command = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--no-deps", "--quiet",
               "--python-version", python, "--implementation", "cp", *platforms, "--dest", str(folder), *where,
               *(f"{name}=={version}" for name, version in pins.items())]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise ValueError(f"the wheels could not be downloaded for Python {python}: {result.stderr.strip()[-1500:]}")
    wheels = sorted(folder.glob("*.whl"))
    missing = sorted(set(pins) - {_normal(w.name.split("-")[0]) for w in wheels})
    if missing:
        raise ValueError(f"no wheel for {', '.join(missing)} (Python {python})")
    return wheels


def build_zip(chapter: int, out: Path, private: Path | None = None, python: str = DEFAULT_PYTHON,
              wheels_from: Path | None = None) -> Path:
    """The autograder zip for one chapter, with the wheels setup.sh installs."""
    chapter_exercises(chapter)
    pins = grader_pins(python)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kvmem-wheels-") as folder:
        wheels = download_wheels(pins, python, Path(folder), wheels_from)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in (("setup.sh", SETUP_SH.format(python=python)), ("run_autograder", RUN_AUTOGRADER)):
                info = zipfile.ZipInfo(name)
                info.external_attr = 0o755 << 16
                archive.writestr(info, text)
            for source, name in _package_files():
                archive.write(source, str(name))
            for source in default_hidden_sources(chapter, private):
                archive.write(source, f"hidden/{source.name}")
            for wheel in wheels:  # already compressed
                archive.write(wheel, f"wheels/{wheel.name}", zipfile.ZIP_STORED)
            archive.writestr("wheels/requirements.txt", "".join(f"{n}=={v}\n" for n, v in pins.items() if n != "pip"))
            archive.writestr("config.json", json.dumps({"chapter": chapter, "notebook": assignment_name(chapter), "python": python}))
    return out


def submitted_notebook(folder: Path, expected: str) -> Submission:
    """The notebook to grade in ROOT/submission: the one named `expected`.ipynb, else the one
    whose name holds `expected`, else the only one. Hidden folders (.ipynb_checkpoints) and
    files are never candidates; several candidates and no rule to choose is a clear problem."""
    notebooks, _ = _notebooks_in(folder)
    names = ", ".join(readable_name(str(p.relative_to(folder))) for p in notebooks)
    for rule in (lambda stem: stem == expected.lower(), lambda stem: expected.lower() in stem, lambda stem: True):
        chosen = [p for p in notebooks if rule((notebook_stem(p.name) or "").lower())]
        if len(chosen) == 1:
            return Submission("submission", chosen[0])
        if len(chosen) > 1:
            return Submission("submission", None, f"{len(chosen)} notebooks were submitted ({names}) and none is "
                                                  f"named {expected}.ipynb: submit that one notebook")
    return Submission("submission", None, f"no notebook was submitted: submit {expected}.ipynb")


def cell_error_lines(grade: SubmissionGrade) -> list[str]:
    return [f"cell {c.get('cell')}: {c.get('error')}: {str(c.get('message', ''))[:200]}" for c in grade.cell_errors[:10]]


def exercise_tests(grade: SubmissionGrade, hidden_ids: set[str]) -> list[dict]:
    """One test per exercise. An exercise with hidden cases is shown after the due date, with a
    visible 0-point test that reports its visible and drawn cases only."""
    errors = cell_error_lines(grade)
    tests = []
    for e in grade.exercises:
        output = e.messages[:5] + (["Cells of your notebook that raised an error:"] + errors if errors and not e.passed else [])
        test = {"name": f"Exercise {e.id}", "score": e.points, "max_score": e.max_points,
                "status": "passed" if e.passed else "failed", "output": "\n".join(output), "visibility": "visible"}
        if e.id in hidden_ids:
            drawn = [] if e.passed else [m for m in e.messages if not m.startswith("a hidden case failed")]
            tests.append({"name": f"Exercise {e.id}: drawn cases (the hidden cases are shown after the due date)",
                          "score": 0, "max_score": 0, "status": "failed" if drawn else "passed",
                          "output": "\n".join(drawn[:5]) or "the drawn cases pass", "visibility": "visible"})
            test["visibility"] = "after_due_date"
        tests.append(test)
    return tests


def results_json(grade: SubmissionGrade, graded: str = "", hidden_ids: set[str] = frozenset()) -> dict:
    """Gradescope's results.json for one graded submission."""
    summary = [f"Graded {graded}." if graded else "No notebook was graded.", f"Score {grade.total:g} / {grade.max_total}."]
    if grade.status != "ok" or grade.detail:
        summary.append(f"The notebook could not be graded in full ({grade.status}): {grade.detail}"
                       if grade.status != "ok" else grade.detail)
    if grade.cell_errors:
        summary += ["Cells of your notebook that raised an error:"] + cell_error_lines(grade)
    return {"score": grade.total, "output": "\n".join(summary), "tests": exercise_tests(grade, hidden_ids),
            "visibility": "visible", "stdout_visibility": "hidden", "execution_time": round(grade.seconds, 2)}


def run(root: Path) -> dict:
    """Grade the notebook in ROOT/submission, write ROOT/results/results.json, log to stdout."""
    log = lambda message: print(message, flush=True)  # noqa: E731  (Gradescope shows stdout to the instructor)
    source = root / "source"
    config = json.loads((source / "config.json").read_text())
    chapter, expected = config["chapter"], config.get("notebook") or assignment_name(config["chapter"])
    hidden_folder = source / "hidden"
    os.chmod(hidden_folder, 0o700)  # the sandbox user must not read the hidden checks
    log_isolation(log)
    submission = submitted_notebook(root / "submission", expected)
    graded = readable_name(str(submission.notebook.relative_to(root / "submission"))) if submission.notebook else ""
    log(f"kvmem-gradescope: chapter {chapter}; " + (f"grading {graded}" if graded else submission.problem))
    hidden = hidden_checks(sorted(hidden_folder.iterdir()))
    base = Path(tempfile.mkdtemp(prefix="kvmem-grade-"))
    try:
        with claim_uids(1) as (uid,):
            grade = grade_safely(submission, chapter, Limits(), base, uid, hidden)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    result = results_json(grade, graded, {k for k, cases in hidden.items() if cases})
    log(f"score {grade.total:g} / {grade.max_total}, status {grade.status}, sandbox {grade.isolation or 'none'}, "
        f"{grade.seconds:.1f} s" + (f": {grade.detail}" if grade.detail else ""))
    for e in grade.exercises:
        log(f"  {e.id}: {e.points:g} / {e.max_points}" + (f": {'; '.join(e.messages[:3])}" if not e.passed else ""))
    for line in cell_error_lines(grade):
        log(f"  {line}")
    write_atomically(root / "results" / "results.json", json.dumps(result, indent=1))
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kvmem-gradescope", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="write the autograder zip for a chapter")
    build.add_argument("--chapter", type=int, required=True)
    build.add_argument("--out", type=Path, required=True)
    build.add_argument("--hidden", type=Path, help="a private folder of hidden checks")
    build.add_argument("--python", default=DEFAULT_PYTHON, help="the Gradescope image's Python (default %(default)s)")
    build.add_argument("--wheels-from", type=Path, metavar="DIR",
                       help="take the wheels from this folder only (no package index), e.g. one made with pip download")
    runner = commands.add_parser("run", help="grade /autograder/submission (Gradescope calls this)")
    runner.add_argument("--root", type=Path, default=Path("/autograder"))
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            print(build_zip(args.chapter, args.out, args.hidden, args.python, args.wheels_from))
        else:
            run(args.root)
    except ValueError as err:
        print(f"kvmem-gradescope: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
