"""Grade one submission: run it in the sandbox on inputs chosen now, judge here."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
import numpy as np

from . import feedback
from . import exercises as chapter_exercises
from .notebooks import HIDDEN_TAG
from .sandbox import Failure, Limits, claim_uids, run_in_sandbox
from .spec import Exercise, describe_call, judge, judge_choice


class InvalidNotebook(ValueError):
    """A submission that is not a readable notebook."""


@dataclass
class ExerciseResult:
    id: str
    kind: str
    points: float
    max_points: int
    passed: bool
    messages: list[str] = field(default_factory=list)
    justification: str | None = None


@dataclass
class SubmissionGrade:
    student: str
    status: str                 # ok, invalid-notebook, timeout, crash, exit, memory, output-limit, no-answers
    detail: str
    total: float
    max_total: int
    exercises: list[ExerciseResult]
    cell_errors: list = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


def read_cells(path: Path) -> list[str]:
    """The code cells of a notebook file, or InvalidNotebook saying why they cannot be read."""
    try:
        text = path.read_bytes()[: 20 * 2**20].decode("utf-8", errors="replace")
        notebook = nbformat.reads(text, as_version=4)
    except Exception as err:  # invalid JSON, an unknown nbformat, not a notebook at all
        raise InvalidNotebook(f"{path.name} is not a readable notebook: {str(err).splitlines()[0][:200]}") from None
    if not isinstance(notebook.get("cells"), list):
        raise InvalidNotebook(f"{path.name} has no list of cells")
    cells = []
    for cell in notebook.cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            cells.append("".join(source) if isinstance(source, list) else str(source))
    return cells


def hidden_checks(sources: list[Path]) -> dict[str, list[tuple]]:
    """Extra inputs per exercise from trusted files: hidden-check cells of solution notebooks,
    and .py files of an instructor's private folder, each calling hidden_cases(...)."""
    recorded: list = []
    feedback._recording = recorded
    try:
        for source in sources:
            if source.suffix == ".ipynb":
                notebook = nbformat.read(source, as_version=4)
                codes = [c.source for c in notebook.cells if HIDDEN_TAG in c.get("metadata", {}).get("tags", [])]
            else:
                codes = [source.read_text()]
            for code in codes:
                exec(compile(code, str(source), "exec"), {"np": np, "hidden_cases": feedback.hidden_cases})
    finally:
        feedback._recording = None
    cases: dict[str, list[tuple]] = {}
    for exercise_id, extra in recorded:
        cases.setdefault(exercise_id, []).extend(extra)
    return cases


def grading_inputs(exercises: list[Exercise], hidden: dict[str, list[tuple]], seed: int) -> dict[str, list[tuple]]:
    """For each function exercise: new inputs drawn with this seed, then the hidden cases."""
    rng = np.random.default_rng(seed)
    return {ex.id: list(ex.cases(rng)) + hidden.get(ex.id, []) for ex in exercises if ex.kind == "function"}


def grade_submission(path: Path, chapter: int, student: str, limits: Limits, base: Path, uid: int | None = None,
                     hidden: dict[str, list[tuple]] | None = None, seed: int | None = None,
                     hide: tuple[str, ...] = ()) -> SubmissionGrade:
    """Run and judge one notebook. Never raises for anything the submission contains.

    `uid` is the sandbox user (from claim_uids); without one, a uid is claimed for this call.
    """
    if uid is None:
        with claim_uids(1) as (claimed,):
            return grade_submission(path, chapter, student, limits, base, claimed, hidden, seed, hide)
    exercises = chapter_exercises(chapter)
    graded = [ex for ex in exercises if ex.kind != "experiment"]
    max_total = sum(ex.points for ex in graded)
    try:
        cells = read_cells(path)
    except InvalidNotebook as err:
        return ungraded(student, chapter, "invalid-notebook", str(err))
    inputs = grading_inputs(graded, hidden or {}, secrets.randbits(63) if seed is None else seed)
    jobs = [{"id": ex.id, "kind": ex.kind, "name": ex.name, "justification_name": ex.justification_name,
             "n_cases": len(inputs.get(ex.id, []))} for ex in graded]
    run = run_in_sandbox(cells, jobs, inputs, limits, base, uid, hide)
    if run.status != "ok":
        return ungraded(student, chapter, run.status, run.detail, run.seconds)
    results = [_judge_exercise(ex, run.answers.get(ex.id, {}), inputs.get(ex.id, [])) for ex in graded]
    return SubmissionGrade(student, "ok", "", sum(r.points for r in results), max_total, results,
                           run.cell_errors, run.seconds)


def _all_failed(exercises: list[Exercise], reason: str) -> list[ExerciseResult]:
    return [ExerciseResult(ex.id, ex.kind, 0, ex.points, False, [reason]) for ex in exercises]


def ungraded(student: str, chapter: int, status: str, detail: str, seconds: float = 0.0) -> SubmissionGrade:
    """The grade of a submission that could not be graded: every exercise 0, with the reason."""
    graded = [ex for ex in chapter_exercises(chapter) if ex.kind != "experiment"]
    return SubmissionGrade(student, status, detail, 0, sum(ex.points for ex in graded), _all_failed(graded, detail),
                           seconds=seconds)


def _judge_exercise(exercise: Exercise, record: dict, cases: list[tuple]) -> ExerciseResult:
    """All-or-nothing per exercise: every case must pass. Messages never show expected values."""
    def result(passed: bool, messages: list[str], why=None) -> ExerciseResult:
        return ExerciseResult(exercise.id, exercise.kind, exercise.points if passed else 0, exercise.points,
                              passed, messages, why)

    if "missing" in record or not record:
        return result(False, [record.get("missing", f"no answer for {exercise.name}")])
    if exercise.kind == "choice":
        passed, message = judge_choice(exercise, record.get("choice"))
        why = record.get("why")
        messages = [message] + ([] if why and len(why.split()) >= 3 else ["no justification was written"])
        return result(passed, messages, why)
    if exercise.kind == "value":
        passed, message = _judge_one(exercise, record.get("value"), ())
        return result(passed, [message])
    got_cases = record.get("cases", [])
    if len(got_cases) != len(cases):
        return result(False, ["the answers could not be collected"])
    failures = []
    for args, got in zip(cases, got_cases):
        passed, message = _judge_one(exercise, got, args)
        if not passed:
            failures.append((describe_call(exercise.name, args), message))
    if not failures:
        return result(True, [f"all {len(cases)} grading cases pass"])
    messages = [f"{call}: {message}" for call, message in failures]
    if len({message for _, message in failures}) == 1 and len(failures) > 1:  # the same problem every time
        messages = [f"{messages[0]} (and the same in {len(failures) - 1} more of {len(cases)} cases)"]
    return result(False, messages)


def _judge_one(exercise: Exercise, got, args: tuple) -> tuple[bool, str]:
    if isinstance(got, Failure):
        return False, got.reason
    if isinstance(got, tuple) and any(isinstance(g, Failure) for g in got):
        return False, next(g.reason for g in got if isinstance(g, Failure))
    return judge(exercise, got, args)
