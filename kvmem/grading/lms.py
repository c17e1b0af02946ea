"""Grades for a learning-management system: Canvas's gradebook import, Moodle's grading worksheet.

Both read what the batch wrote in the output folder (results.json and results/<file>.json), never
the grader's objects, so they can run after any batch, even one graded earlier.

Intended wiring in cli.py (`kvmem-grade SUBMISSIONS --chapter N --out OUT --lms canvas|moodle
[--lms-assignment NAME] [--lms-points P]`), after `grade_folder(...)` has returned and after
`--manual` was merged (`merged`, see kvmem.grading.manual; None without `--manual`):

    from .lms import write_canvas, write_moodle
    totals = merged.totals if merged else None
    if args.lms == "canvas":
        write_canvas(args.out, args.lms_assignment or assignment_name(args.chapter), args.lms_points,
                     totals=totals)
    elif args.lms == "moodle":
        write_moodle(args.out, args.lms_points, totals=totals)

Identity. The batch records each student under the LMS's own identifier where the download name
has one (kvmem.grading.intake): Canvas's user id (`<name>_[LATE_]<user id>_<submission id>_<file>`)
goes into the `ID` column, which Canvas matches students by; Moodle's `Participant <n>` (folders
`<Full Name>_<n>_assignsubmission_file_`) is the worksheet's `Identifier`. The readable name goes
into `Student` and `Full name`. Other students' IDs go into Canvas's `SIS Login ID` (for files
named `<login>.ipynb`) and Moodle's `Full name`, with no identifier.

Importing. Canvas: Grades > Import, the file as it is (a column without an assignment id creates
a new assignment). Moodle: the assignment needs the feedback types "Offline grading worksheet"
(and "Feedback comments" for that column); upload it under "Upload grading worksheet". Scores are
rescaled to the LMS's maximum when one is given; a grader error leaves the cell empty.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .intake import identity_of_file, identity_of_folder, notebook_stem, readable_name
from .readback import Unreadable, read_regular_file
from .reports import csv_cell, write_atomically

RESULT_CAP = 16 * 2**20
CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_HEADER = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum grade",
                 "Grade can be changed", "Last modified (grade)", "Feedback comments"]
NOT_EXPORTED = {"grader-error"}  # a fault of the grader is not a zero: the LMS cell stays empty

Totals = dict  # student ID -> (points, max points)


@dataclass
class StudentResult:
    """One student's row as the batch recorded it."""
    student: str
    status: str
    total: float
    max_total: float
    exercises: list = field(default_factory=list)  # dicts: id, kind, points, max_points, passed, justification
    notebook: str | None = None
    notebook_sha256: str = ""
    name: str = ""
    lms: str | None = None      # "canvas": student is a Canvas user id; "moodle": a Moodle "Participant <n>";
                                # None: a batch graded before the intake recorded it


def _json(path: Path) -> dict:
    data = json.loads(read_regular_file(path, RESULT_CAP))
    if not isinstance(data, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return data


def read_results(out_dir: Path) -> tuple[int, list[StudentResult]]:
    """(chapter, one StudentResult per student) from OUT/results.json and OUT/results/<file>.json."""
    out_dir = Path(out_dir)
    try:
        summary = _json(out_dir / "results.json")
    except (Unreadable, ValueError) as err:
        raise ValueError(f"{out_dir / 'results.json'} cannot be read ({err}): run the batch first") from None
    students = []
    for entry in summary.get("submissions", []):
        try:
            record = _json(out_dir / "results" / f"{entry['file']}.json")
        except (Unreadable, ValueError, KeyError, TypeError):
            record = {}
        students.append(StudentResult(str(entry["student"]), str(entry.get("status", "")), float(entry.get("total", 0)),
                                      float(entry.get("max_total", 0)), list(entry.get("exercises", [])),
                                      record.get("notebook"), str(entry.get("notebook_sha256", "")),
                                      str(entry.get("name") or ""),
                                      None if entry.get("lms") is None else str(entry["lms"])))
    return int(summary.get("chapter", 0)), students


def default_totals(students: list[StudentResult]) -> Totals:
    return {s.student: (s.total, s.max_total) for s in students}


# --- identity -------------------------------------------------------------------------------

def lms_identity(s: StudentResult) -> tuple[str, str, str]:
    """(LMS, its identifier, name) of a student: as the batch recorded them, else (a batch graded
    before identifiers were recorded) read again from the notebook's download name."""
    if s.lms is not None:
        return (s.lms, s.student, s.name or s.student) if s.lms in ("canvas", "moodle") else ("", "", s.name or s.student)
    path = Path(s.notebook) if s.notebook else None
    if path is not None:
        found = identity_of_file(notebook_stem(readable_name(path.name)) or "")
        if found.lms:
            return found.lms, found.student, found.name
        for part in reversed(path.parts[:-1]):
            if (found := identity_of_folder(readable_name(part))).lms:
                return found.lms, found.student, found.name
    return "", "", s.name or s.student


# --- the files ------------------------------------------------------------------------------

def csv_text(rows: list[list]) -> str:
    """Rows as CSV text, every cell escaped against formulas (reports.csv_cell)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([[csv_cell(c) for c in row] for row in rows])
    return buffer.getvalue()


def scaled(points: float, max_points: float, out_of: float | None) -> float:
    """points out of max_points, rescaled to be out of `out_of` (unchanged without it)."""
    if out_of is None or not max_points:
        return points
    return points / max_points * out_of


def _number(x: float) -> str:
    return f"{round(x, 2):g}"


def canvas_csv(students: list[StudentResult], assignment: str, points_possible: float | None, totals: Totals,
               assignment_id: str | None = None) -> str:
    """Canvas's gradebook import: identity columns, one assignment column, a Points Possible row."""
    column = f"{assignment} ({assignment_id})" if assignment_id else assignment
    out_of = points_possible if points_possible is not None else max((m for _, m in totals.values()), default=0)
    rows = [CANVAS_HEADER + [column], ["Points Possible", "", "", "", "", _number(out_of)]]
    for s in students:
        lms, identifier, name = lms_identity(s)
        canvas_id, login = (identifier, "") if lms == "canvas" else ("", s.student)
        points, max_points = totals.get(s.student, (s.total, s.max_total))
        score = "" if s.status in NOT_EXPORTED else _number(scaled(points, max_points, out_of))
        rows.append([name, canvas_id, "", login, "", score])
    return csv_text(rows)


def write_canvas(out_dir: Path, assignment_name: str, points_possible: float | None = None, *,
                 assignment_id: str | None = None, totals: Totals | None = None) -> Path:
    """Write OUT/canvas.csv. Without `assignment_id` Canvas creates a new assignment named
    `assignment_name` on import; with it, the column fills that existing assignment. Scores are
    rescaled to `points_possible` (default: the batch's maximum)."""
    _, students = read_results(out_dir)
    text = canvas_csv(students, assignment_name, points_possible, totals or default_totals(students), assignment_id)
    write_atomically(Path(out_dir) / "canvas.csv", text)
    return Path(out_dir) / "canvas.csv"


def moodle_date(when: datetime) -> str:
    """The date as Moodle writes it in the worksheet (English month and day names)."""
    return when.strftime("%A, %d %B %Y, %I:%M %p")


def feedback_comment(s: StudentResult, total: tuple[float, float]) -> str:
    """Points per exercise, in words; nothing the student wrote."""
    parts = [f"{e.get('id')}: {float(e.get('points', 0)):g}/{e.get('max_points')}" for e in s.exercises
             if isinstance(e, dict)]
    comment = f"Autograder ({s.status}): {s.total:g} of {s.max_total:g} points. " + "; ".join(parts) + "."
    if total != (s.total, s.max_total):
        comment += f" With the answers marked by hand: {total[0]:g} of {total[1]:g} points."
    return comment


def moodle_csv(students: list[StudentResult], max_grade: float | None, totals: Totals, now: datetime) -> str:
    """Moodle's offline grading worksheet (Identifier, Grade, Feedback comments, ...)."""
    rows = [list(MOODLE_HEADER)]
    for s in students:
        lms, identifier, name = lms_identity(s)
        participant = identifier if lms == "moodle" else ""
        points, max_points = totals.get(s.student, (s.total, s.max_total))
        out_of = max_grade if max_grade is not None else max_points
        grade = "" if s.status in NOT_EXPORTED else f"{scaled(points, max_points, out_of):.2f}"
        status = "No submission" if s.status == "no-notebook" else "Submitted for grading"
        rows.append([participant, name, "", status, grade, f"{out_of:.2f}",
                     "Yes", moodle_date(now), feedback_comment(s, (points, max_points))])
    return csv_text(rows)


def write_moodle(out_dir: Path, max_grade: float | None = None, *, totals: Totals | None = None,
                 now: datetime | None = None) -> Path:
    """Write OUT/moodle.csv, to upload as the assignment's offline grading worksheet."""
    _, students = read_results(out_dir)
    text = moodle_csv(students, max_grade, totals or default_totals(students), now or datetime.now(timezone.utc))
    write_atomically(Path(out_dir) / "moodle.csv", text)
    return Path(out_dir) / "moodle.csv"
