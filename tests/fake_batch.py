"""A batch's output folder (results.json, results/<file>.json, gradebook.csv) written the way
kvmem.grading.batch writes it, without running any notebook: for the LMS and manual-grading tests."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from kvmem.grading.grade import ExerciseResult, SubmissionGrade, graded_exercises, notebook_hash
from kvmem.grading.reports import file_stem, write_reports


def write_batch_output(out: Path, students: list[dict], chapter: int = 2) -> list[SubmissionGrade]:
    """students: dicts with student, notebook (a path or None), status ("ok"), points
    ({exercise id: points}, default 0), why ({exercise id: justification}), and the name and
    lms the intake read from a download name."""
    specs = graded_exercises(chapter)
    grades = []
    for s in students:
        points, why = s.get("points", {}), s.get("why", {})
        results = [ExerciseResult(ex.id, ex.kind, points.get(ex.id, 0), ex.points, points.get(ex.id, 0) == ex.points,
                                  [], why.get(ex.id)) for ex in specs]
        grade = SubmissionGrade(s["student"], s.get("status", "ok"), "", sum(r.points for r in results),
                                sum(ex.points for ex in specs), results, chapter=chapter,
                                notebook_sha256=notebook_hash(s.get("notebook")), name=s.get("name", ""),
                                lms=s.get("lms", ""))
        grades.append(grade)
        record = {**grade.to_json(), "cache_key": "test", "hidden": None,
                  "notebook": str(s["notebook"]) if s.get("notebook") else None}
        (out / "results").mkdir(parents=True, exist_ok=True)
        (out / "results" / f"{file_stem(grade.student)}.json").write_text(json.dumps(record), encoding="utf-8")
    write_reports(grades, specs, chapter, out, [])
    return grades


def csv_rows(path: Path, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline=""), delimiter=delimiter))
