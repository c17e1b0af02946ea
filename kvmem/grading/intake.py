"""Which notebook is whose: a class folder as an LMS hands it out, with no one dropped silently.

Accepted, at the top of the folder:
- `<student>.ipynb`, any case (`zoe.IPYNB`), and `<student>.ipynb.json` (some browsers' download);
- Canvas downloads `<name>_<user id>_<submission id>_<file>.ipynb` (also `<name>_LATE_...`):
  the student is Canvas's user id (its gradebook's `ID` column), shown as `<name>`;
- Moodle downloads not in folders, `<Full Name>_<n>_assignsubmission_file_<file>.ipynb`: the
  student is `Participant <n>`, as for a folder (below);
- one folder per student, any depth (Moodle: `<Full Name>_<n>_assignsubmission_file_/`: the
  student is `Participant <n>` (the grading worksheet's `Identifier`), shown as `<Full Name>`).
Each student is known by the LMS's own unique identifier where the download name has one, so two
students with the same name are never taken for one; the name is kept for people to read. A
download name that reads two ways (a name or file name that holds `_<n>_assignsubmission_file_`
or `_<id>_<id>_` again) is known by the whole name, so that it cannot take a classmate's place.

Choice rules (written in the README and in the student's feedback):
- a folder holding several notebooks: the one whose name contains the assignment's file name
  (such as `chapter2_cumulative_average`) if exactly one does, otherwise the first in
  alphabetical order of their paths; the others are named in the feedback;
- the same student twice (`dup.ipynb` and a folder `dup/`, `zoe.ipynb` and `zoe.IPYNB`): a
  notebook at the top of the folder wins over a folder, then the first in alphabetical order;
  the other is named in the feedback.
Symlinks and anything that is not a regular file or folder are refused (status
`invalid-notebook`); files that are not notebooks are listed in `skipped.csv`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

# Identifiers are ASCII digits only (\d would take any script's digits for an id).
CANVAS = re.compile(r"^(?P<name>.+?)_(?:late_)?(?P<user_id>[0-9]+)_(?P<submission_id>[0-9]+)_(?P<file>.+)$", re.I)
MOODLE = re.compile(r"^(?P<name>.+?)_(?P<participant>[0-9]+)_assignsubmission_file_?$", re.I)
# Moodle without "Download submissions in folders": the folder's name, then the file's
MOODLE_FILE = re.compile(r"^(?P<name>.+?)_(?P<participant>[0-9]+)_assignsubmission_file_(?P<file>.+)$", re.I)
SUFFIXES = (".ipynb.json", ".ipynb")
MAX_DEPTH = 6


@dataclass(frozen=True)
class Submission:
    student: str            # unique in the class: the LMS's identifier, else the file's or folder's name
    notebook: Path | None   # None: no notebook to grade (see problem)
    problem: str = ""
    refused: bool = False   # a symlink or special file: invalid-notebook
    name: str = ""          # the name to show ("" : the student ID itself)
    lms: str = ""           # where the identifier comes from: "canvas", "moodle" or ""


@dataclass
class Intake:
    submissions: list[Submission] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)


def notebook_stem(name: str) -> str | None:
    """The file name without .ipynb or .ipynb.json (any case), or None for other files."""
    lower = name.lower()
    for suffix in SUFFIXES:
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


@dataclass(frozen=True)
class Identity:
    student: str    # the key (see Submission)
    name: str
    lms: str = ""


def one_reading(pattern: re.Pattern, stem: str) -> re.Match | None:
    """The match of a download-name pattern, if the name splits one way only. The student
    chooses the file's name and may choose their own name: either can hold the pattern again
    (`Eve_7_assignsubmission_file__99_assignsubmission_file_nb`), and the shortest reading
    would then take another student's identifier."""
    match = pattern.match(stem)
    longest = re.compile(pattern.pattern.replace("(?P<name>.+?)", "(?P<name>.+)", 1), pattern.flags).match(stem)
    identifiers = lambda m: {k: v for k, v in m.groupdict().items() if k not in ("name", "file")}  # noqa: E731
    return match if match and identifiers(match) == identifiers(longest) else None


def identity_of_file(stem: str) -> Identity:
    """A Canvas download is its user id, a Moodle download `Participant <n>` (both named); any
    other file, or a download name that reads two ways, is its name."""
    if match := one_reading(MOODLE_FILE, stem):
        return Identity(f"Participant {match['participant']}", match["name"], "moodle")
    if match := one_reading(CANVAS, stem):
        return Identity(match["user_id"], match["name"], "canvas")
    return Identity(stem, stem)


def identity_of_folder(name: str) -> Identity:
    """A Moodle download folder is `Participant <n>` (named); any other folder is its name."""
    match = MOODLE.match(name)
    return Identity(f"Participant {match['participant']}", match["name"], "moodle") if match else Identity(name, name)


def submission(identity: Identity, notebook: Path | None, problem: str = "", refused: bool = False) -> Submission:
    return Submission(identity.student, notebook, problem, refused, identity.name, identity.lms)


def readable_name(name: str) -> str:
    """A file name as text, undecodable bytes shown as `\\xe9` (and a backslash doubled): two
    names that differ only in such bytes (a zip made with Shift-JIS or cp437 names) stay two
    students."""
    return name.replace("\\", "\\\\").encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _notebooks_in(folder: Path, depth: int = 0) -> tuple[list[Path], list[Path]]:
    """(notebooks, refused symlinks or special files) under a folder; links are never followed."""
    notebooks, refused = [], []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.startswith(".") or entry.name == "__MACOSX":
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False) and depth < MAX_DEPTH:
            found, bad = _notebooks_in(path, depth + 1)
            notebooks += found
            refused += bad
        elif notebook_stem(entry.name) is not None:
            (notebooks if entry.is_file(follow_symlinks=False) else refused).append(path)
    return notebooks, refused


def choose(notebooks: list[Path], assignment: str) -> tuple[Path, str]:
    """The notebook to grade in a folder of several, and the sentence that says why."""
    matching = [p for p in notebooks if assignment and assignment.lower() in p.name.lower()]
    chosen = matching[0] if len(matching) == 1 else notebooks[0]
    rule = ("its name holds the assignment's name" if len(matching) == 1 else "the first in alphabetical order")
    others = ", ".join(readable_name(p.name) for p in notebooks if p != chosen)
    return chosen, f"{len(notebooks)} notebooks; graded {readable_name(chosen.name)} ({rule}); not graded: {others}"


def submission_in_folder(entry: Path, assignment: str) -> Submission:
    """The submission in one student's folder (see the choice rule above)."""
    student = identity_of_folder(readable_name(entry.name))
    try:
        notebooks, refused = _notebooks_in(entry)
    except OSError as err:  # a folder this user may not read: that student only, not the batch
        return submission(student, None, f"the folder cannot be read ({err.strerror or err})")
    if not notebooks and refused:
        return submission(student, refused[0], f"{readable_name(refused[0].name)} is a link or not a regular file", True)
    if not notebooks:
        return submission(student, None, "the folder holds no notebook")
    if len(notebooks) == 1:
        return submission(student, notebooks[0])
    chosen, why = choose(notebooks, assignment)
    return submission(student, chosen, why)


def _candidates(folder: Path, assignment: str, skipped: list) -> list[tuple[int, str, Submission]]:
    """(0 for a top-level file, 1 for a folder; name; submission) for each entry of the folder."""
    found = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        path, name = Path(entry.path), readable_name(entry.name)
        if entry.name.startswith(".") or entry.name == "__MACOSX":
            continue
        mode = os.lstat(path).st_mode
        stem = notebook_stem(entry.name)
        if stat.S_ISDIR(mode):
            found.append((1, name, submission_in_folder(path, assignment)))
        elif stem is None:
            skipped.append((name, "not a notebook (.ipynb)" if stat.S_ISREG(mode) else "a link or special file, not a notebook"))
        elif stat.S_ISREG(mode):
            found.append((0, name, submission(identity_of_file(readable_name(stem)), path)))
        else:
            found.append((0, name, submission(identity_of_file(readable_name(stem)), path,
                                              "the submitted notebook is a link or not a regular file", True)))
    return found


def find_submissions(folder: Path, assignment: str = "") -> Intake:
    """One submission per student (see the module's docstring for the rules)."""
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder of submissions")
    intake = Intake()
    by_student: dict[str, list[tuple[int, str, Submission]]] = {}
    for candidate in _candidates(folder, assignment, intake.skipped):
        by_student.setdefault(candidate[2].student, []).append(candidate)
    for student, candidates in by_student.items():
        kept, *others = sorted(candidates, key=lambda c: (c[0], c[1]))
        chosen = kept[2]
        if others:
            note = f"{len(candidates)} submissions for this student; graded {kept[1]}, not {', '.join(o[1] for o in others)}"
            chosen = dataclasses.replace(chosen, problem="; ".join(filter(None, [note, chosen.problem])))
        intake.submissions.append(chosen)
    intake.submissions.sort(key=lambda s: s.student)
    return intake
