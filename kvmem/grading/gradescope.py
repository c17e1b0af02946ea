"""Gradescope: build an autograder zip that installs offline, and the entry point it runs.

    kvmem-gradescope build --chapter 2 --out autograder.zip [--hidden PRIVATE/] [--salt-file SALT]
                           [--student-id email|sid|id] [--python 3.12] [--wheels-from DIR]
    kvmem-gradescope run [--root /autograder]     (what run_autograder calls on Gradescope)

The zip holds setup.sh, run_autograder, the package's source, the chapter's hidden checks,
config.json, the assignment's salt (with --salt-file, in private/), and wheels/: pinned wheels
of everything the grader imports, for the Python of the Gradescope base image (`--python`,
default 3.12: the python3 of the base image Ubuntu 24.04, which the README tells instructors to
pick; Ubuntu 22.04's python3 is 3.10, too old for the pinned numpy). setup.sh needs no network
and no Python package from apt: it checks that the image's Python is the one the wheels are for
(else it stops and names the base image to pick), makes a venv with it and installs the wheels
with `pip --no-index` (pip itself comes from its wheel in the zip). bubblewrap is installed with
apt when apt can; without it submissions are graded with resource limits only, and the log says so.

`run` grades the submitted notebook (the one named like the assignment, else the only one;
`.ipynb_checkpoints` and hidden files are ignored) with the same sandbox as kvmem-grade, writes
ROOT/results/results.json in Gradescope's format (a score, one test per exercise; an exercise
with hidden cases is shown after the due date, with a visible 0-point test for its drawn cases),
and logs what it did to stdout, which Gradescope shows to the instructor. With a salt, the
student is read from ROOT/submission_metadata.json (its `users`: the field chosen with
`--student-id`) and value and choice exercises are graded on that student's variant, as
kvmem-grade --salt-file does; a notebook whose STUDENT_ID is not theirs is flagged.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from pathlib import Path

from . import exercises as chapter_exercises
from .batch import REPO, assignment_name, default_hidden_sources, grade_safely, log_isolation
from .grade import SubmissionGrade, hidden_checks, ungraded
from .intake import Submission, _notebooks_in, notebook_stem, readable_name
from .readback import Unreadable, read_regular_file
from .reports import text, write_atomically
from .sandbox import Limits, claim_uids
from .variant_ids import read_salt, salt_in, variant_id
from ..variants import clean_id

# The Python of the base image the README tells instructors to pick on Gradescope's Configure
# Autograder page. Gradescope's documented default image is Ubuntu 22.04, whose python3 is 3.10:
# too old for numpy 2.4.6 (Python >= 3.11).
DEFAULT_PYTHON = "3.12"
BASE_IMAGES = {"3.10": "Ubuntu 22.04, variant Base", "3.12": "Ubuntu 24.04, variant Base"}
METADATA = "submission_metadata.json"
METADATA_CAP = 32 * 2**20      # it holds every previous submission's results
SALT_FILE = "private/salt.txt"  # in source/, readable by the grader alone (run() makes sure)
ID_FIELDS = ("email", "sid", "id")  # a user's fields in submission_metadata.json that can name them
DEFAULT_ID_FIELD = "email"
MAX_ID_CHARS = 200
# What the grader imports (nbformat: reading notebooks) and what graded notebooks import inside
# the sandbox (numpy, matplotlib, autograd: the kvmem models). The rest of requirements.txt
# (Jupyter Book, JupyterLab, ipywidgets, the test tools) builds or serves the book and is not needed.
GRADER_REQUIREMENTS = ("numpy", "matplotlib", "autograd", "nbformat")
# Gradescope's images are x86_64 Ubuntu (22.04: glibc 2.35, 24.04: 2.39); manylinux wheels for older glibc run there too.
PLATFORMS = tuple(f"manylinux_2_{minor}_x86_64" for minor in range(35, 16, -1)) + ("manylinux2014_x86_64",)

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image. No network needed:
# every Python package comes from the wheels in this zip, built for Python {python}.
set -euo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
WHEELS="$ROOT/source/wheels"
VERSION='import sys; print("%d.%d" % sys.version_info[:2])'
PYTHON=""
for CANDIDATE in python{python} python3; do  # the first that runs and is Python {python}
    if [ "$("$CANDIDATE" -c "$VERSION" 2>/dev/null)" = "{python}" ]; then
        PYTHON="$(command -v "$CANDIDATE")"
        break
    fi
done
if [ -z "$PYTHON" ]; then
    HAVE="$(python3 -c "$VERSION" 2>/dev/null | sed 's/^/Python /' || true)"
    echo "setup.sh: this autograder's wheels are for Python {python}, but this image's python3 is" \\
         "${{HAVE:-missing}}. On Gradescope's Configure Autograder page pick the base image" \\
         "{image}, then Update Autograder; or rebuild the zip for this image's Python with" \\
         "kvmem-gradescope build --python X.Y ({needs})." >&2
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


def base_image(python: str) -> str:
    """The Gradescope base image to pick for wheels built for `python`."""
    return BASE_IMAGES.get(python, f"whose python3 is Python {python}")


def setup_sh(python: str) -> str:
    needs = "; ".join(f"{name} {version} needs Python {spec}" for name, version, spec in python_needs()
                      if not _supports(spec, "3.10"))
    return SETUP_SH.format(python=python, image=base_image(python), needs=needs or "any Python 3")


def python_needs(names=GRADER_REQUIREMENTS) -> list[tuple[str, str, str]]:
    """(name, installed version, Requires-Python) of the grader's own requirements."""
    found = []
    for name in names:
        try:
            spec = importlib.metadata.metadata(name).get("Requires-Python")
        except importlib.metadata.PackageNotFoundError:
            continue
        if spec:
            found.append((name, importlib.metadata.version(name), spec))
    return found


def _supports(spec: str, python: str) -> bool:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(spec).contains(f"{python}.0")
    except InvalidSpecifier:
        return True


def check_python(python: str) -> None:
    """A clear error when a pinned package does not support `python` (before any download)."""
    if not re.fullmatch(r"3\.\d{1,2}", python):
        raise ValueError(f"--python should be a Python version such as {DEFAULT_PYTHON}, not {python!r}")
    for name, version, spec in python_needs():
        if not _supports(spec, python):
            raise ValueError(f"{name} {version} needs Python {spec}, so a zip for Python {python} cannot hold it: pick a "
                             f"Gradescope base image with a newer Python (the README says which) and build for it")


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
              wheels_from: Path | None = None, salt_file: Path | None = None,
              student_id: str = DEFAULT_ID_FIELD) -> Path:
    """The autograder zip for one chapter, with the wheels setup.sh installs. With a salt file,
    each student is graded on their variant (their ID: the `student_id` field of their user in
    submission_metadata.json); the salt goes into the zip's private/ folder, never to students."""
    chapter_exercises(chapter)
    if student_id not in ID_FIELDS:
        raise ValueError(f"--student-id should be one of {', '.join(ID_FIELDS)}, not {student_id!r}")
    salt = read_salt(salt_file) if salt_file else ""
    check_python(python)
    pins = grader_pins(python)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kvmem-wheels-") as folder:
        wheels = download_wheels(pins, python, Path(folder), wheels_from)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, script in (("setup.sh", setup_sh(python)), ("run_autograder", RUN_AUTOGRADER)):
                info = zipfile.ZipInfo(name)
                info.external_attr = 0o755 << 16
                archive.writestr(info, script)
            if salt:
                info = zipfile.ZipInfo(SALT_FILE)
                info.external_attr = 0o600 << 16
                archive.writestr(info, salt + "\n")
            for source, name in _package_files():
                archive.write(source, str(name))
            for source in default_hidden_sources(chapter, private):
                archive.write(source, f"hidden/{source.name}")
            for wheel in wheels:  # already compressed
                archive.write(wheel, f"wheels/{wheel.name}", zipfile.ZIP_STORED)
            archive.writestr("wheels/requirements.txt", "".join(f"{n}=={v}\n" for n, v in pins.items() if n != "pip"))
            archive.writestr("config.json", json.dumps({"chapter": chapter, "notebook": assignment_name(chapter), "python": python,
                                                        "variants": bool(salt), "student_id": student_id}))
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


# --- who submitted: submission_metadata.json -------------------------------------------------

def read_metadata(root: Path) -> dict:
    """ROOT/submission_metadata.json as Gradescope writes it; a ValueError that names the problem
    for anything else (missing, a link, a FIFO, too large, not JSON, not an object)."""
    path = root / METADATA
    try:
        if stat.S_ISLNK(os.lstat(path).st_mode):
            raise ValueError(f"{METADATA} is a symbolic link, not the file Gradescope writes")
        data = read_regular_file(path, METADATA_CAP)
    except FileNotFoundError:
        raise ValueError(f"{METADATA} is missing (Gradescope writes it beside source/ and submission/)") from None
    except (OSError, Unreadable) as err:
        raise ValueError(f"{METADATA} {err}") from None
    try:
        metadata = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ValueError(f"{METADATA} is not valid JSON ({type(err).__name__})") from None
    if not isinstance(metadata, dict):
        raise ValueError(f"{METADATA} holds {json_type(metadata)}, not an object")
    return metadata


def json_type(value) -> str:
    """What a parsed JSON value is, in JSON's words."""
    for kind, words in ((bool, "true or false"), (dict, "an object"), (list, "a list"), (str, "a string"),
                        ((int, float), "a number")):
        if isinstance(value, kind):
            return words
    return "null"


def submission_users(metadata: dict, field: str = DEFAULT_ID_FIELD) -> list[tuple[str, str]]:
    """(student ID, name shown) of each user of a submission (several for a group), the ID being
    the user's `field` (email, sid or id) as the instructor made the variant IDs from it."""
    users = metadata.get("users")
    if not isinstance(users, list) or not users:
        raise ValueError(f"{METADATA} lists no users (\"users\" should be a non-empty list)")
    found = []
    for k, user in enumerate(users[:100]):
        if not isinstance(user, dict):
            raise ValueError(f"user {k + 1} in {METADATA} is {json_type(user)}, not an object")
        student = student_id_of(user.get(field), f"the {field!r} of user {k + 1} in {METADATA}")
        name = user.get("name")
        if student not in (s for s, _ in found):
            found.append((student, text(name)[:100] if isinstance(name, str) else ""))
    return found


def student_id_of(value, where: str) -> str:
    """A student ID from the metadata: a string (or a whole number), one line of visible text."""
    if value is None:
        raise ValueError(f"{where} is missing: build the zip with --student-id set to a field every student has")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"{where} is {json_type(value)}, not a string")
    value = value.strip()
    if not value:
        raise ValueError(f"{where} is empty")
    if len(value) > MAX_ID_CHARS:
        raise ValueError(f"{where} is {len(value)} characters long (at most {MAX_ID_CHARS})")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") for ch in value):
        raise ValueError(f"{where} holds control or invisible characters ({text(value)[:80]})")
    return value


def private_salt(source: Path) -> str:
    """The assignment's salt from the zip (private/salt.txt), or a ValueError saying why not."""
    try:
        data = read_regular_file(source / SALT_FILE, 2**20)
    except Unreadable as err:
        raise ValueError(f"the zip's salt ({SALT_FILE}) {err}: build the zip again with --salt-file") from None
    try:
        return salt_in(data.decode("utf-8", "replace"), f"the zip's salt ({SALT_FILE})")
    except ValueError as err:
        raise ValueError(f"{err}: build the zip again with --salt-file") from None


def whose_numbers(root: Path, source: Path, config: dict) -> tuple[str, list[tuple[str, str]]]:
    """(salt, users) for an assignment with variants, ("", []) without; a ValueError that names
    the problem when the student cannot be told."""
    if not config.get("variants"):
        return "", []
    field = config.get("student_id", DEFAULT_ID_FIELD)
    if field not in ID_FIELDS:
        raise ValueError(f"config.json's student_id is {text(field)[:40]!r}, not one of {', '.join(ID_FIELDS)}")
    return private_salt(source), submission_users(read_metadata(root), field)


def grade_student(submission: Submission, users: list[tuple[str, str]], salt: str, chapter: int, base: Path, uid,
                  hidden, log) -> SubmissionGrade:
    """The grade on the student's own variant. In a group, on the variant of the member whose
    variant ID the notebook holds (else the first member's, flagged)."""
    if not salt:
        return grade_safely(submission, chapter, Limits(), base, uid, hidden)
    (first, name), *others = users
    log(f"student {text(first)} ({name or 'no name'}): graded on variant {variant_id(first, salt)}")
    grade = grade_safely(dataclasses.replace(submission, student=first), chapter, Limits(), base, uid, hidden, salt)
    if grade.id_mismatch and isinstance(grade.recorded_id, str):
        for other, other_name in others:
            if clean_id(variant_id(other, salt)) == clean_id(grade.recorded_id):
                log(f"the notebook holds the variant ID of group member {text(other)} ({other_name or 'no name'}): "
                    "graded again on theirs")
                return grade_safely(dataclasses.replace(submission, student=other), chapter, Limits(), base, uid,
                                    hidden, salt)
    return grade


def run(root: Path) -> dict:
    """Grade the notebook in ROOT/submission, write ROOT/results/results.json, log to stdout.
    A fault of the grader still writes a results.json that says so (status grader-error)."""
    try:
        return _run(root)
    except Exception as err:
        print(f"kvmem-gradescope: grader error: {type(err).__name__}: {err}", flush=True)
        try:
            chapter = int(json.loads((root / "source" / "config.json").read_text())["chapter"])
            grade = ungraded("submission", chapter, "grader-error", f"the autograder failed ({type(err).__name__}); "
                             "tell your instructor, who can regrade this submission")
            result = results_json(grade)
        except Exception:
            result = {"score": 0, "output": "The autograder failed; tell your instructor.", "tests": []}
        write_atomically(root / "results" / "results.json", json.dumps(result, indent=1))
        return result


def _run(root: Path) -> dict:
    log = lambda message: print(message, flush=True)  # noqa: E731  (Gradescope shows stdout to the instructor)
    source = root / "source"
    config = json.loads((source / "config.json").read_text())
    chapter, expected = config["chapter"], config.get("notebook") or assignment_name(config["chapter"])
    hidden_folder = source / "hidden"
    for private in (hidden_folder, source / "private"):  # the sandbox user must read neither
        if private.is_dir() and not private.is_symlink():
            os.chmod(private, 0o700)
    log_isolation(log)
    submission = submitted_notebook(root / "submission", expected)
    graded = readable_name(str(submission.notebook.relative_to(root / "submission"))) if submission.notebook else ""
    log(f"kvmem-gradescope: chapter {chapter}; " + (f"grading {graded}" if graded else submission.problem))
    hidden = hidden_checks(sorted(hidden_folder.iterdir()))
    try:
        salt, users = whose_numbers(root, source, config)
        problem = ""
    except ValueError as err:
        salt, users, problem = "", [], str(err)
    base = Path(tempfile.mkdtemp(prefix="kvmem-grade-"))
    try:
        if problem:
            log(f"NOT GRADED: whose numbers to grade cannot be told: {problem}")
            grade = ungraded(submission.student, chapter, "grader-error",
                             f"this submission was not graded, because the autograder cannot tell whose numbers to grade "
                             f"({problem}); tell your instructor, who can regrade it once this is fixed")
        else:
            with claim_uids(1) as (uid,):
                grade = grade_student(submission, users, salt, chapter, base, uid, hidden, log)
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
    build.add_argument("--python", default=DEFAULT_PYTHON,
                       help="the Python of the Gradescope base image (default %(default)s: Ubuntu 24.04's python3)")
    build.add_argument("--salt-file", type=Path, help="the assignment's salt: grade each student on their own variant "
                       "(the salt travels in the zip's private/ folder, never to students)")
    build.add_argument("--student-id", choices=ID_FIELDS, default=DEFAULT_ID_FIELD,
                       help="the field of submission_metadata.json's users that the variant IDs were made from "
                            "(default %(default)s)")
    build.add_argument("--wheels-from", type=Path, metavar="DIR",
                       help="take the wheels from this folder only (no package index), e.g. one made with pip download")
    runner = commands.add_parser("run", help="grade /autograder/submission (Gradescope calls this)")
    runner.add_argument("--root", type=Path, default=Path("/autograder"))
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            print(build_zip(args.chapter, args.out, args.hidden, args.python, args.wheels_from, args.salt_file,
                            args.student_id))
        else:
            run(args.root)
    except (ValueError, OSError) as err:
        print(f"kvmem-gradescope: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
