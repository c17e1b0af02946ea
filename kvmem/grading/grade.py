"""Grade one submission: run it in the sandbox on inputs chosen now, judge here.

The inputs of each exercise are drawn from a seed derived from (chapter, exercise, student ID,
notebook hash): the same notebook of the same student is graded on the same inputs every time,
and the seeds are recorded in the result, so a grade can be replayed (`kvmem-grade --replay`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
import numpy as np

from . import exercises as chapter_exercises
from . import feedback
from .notebook_code import InvalidNotebook, read_cells, runnable  # noqa: F401  (InvalidNotebook: public)
from .notebooks import HIDDEN_TAG
from .readback import Failure, Unreadable, read_regular_file
from .sandbox import Limits, claim_uids, run_in_sandbox
from .spec import Exercise, describe_call, judge, judge_choice
from ..variants import clean_id

ID_NAME = "STUDENT_ID"  # the first cell of an exercise notebook: the student's variant ID


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
    status: str                 # ok, invalid-notebook, timeout, crash, exit, memory, output-limit,
                                # no-answers, no-notebook, grader-error
    detail: str
    total: float
    max_total: int
    exercises: list[ExerciseResult]
    cell_errors: list = field(default_factory=list)
    seconds: float = 0.0
    chapter: int = 0
    notebook_sha256: str = ""
    seeds: dict = field(default_factory=dict)
    isolation: str = ""         # "bwrap", or "none" where no sandbox could be made
    variant_id: str = ""        # the STUDENT_ID whose numbers were graded ("" : the book's)
    recorded_id: str | None = None  # the STUDENT_ID the notebook holds
    id_mismatch: bool = False   # the notebook's STUDENT_ID is not the student's variant ID
    name: str = ""              # the student's name as the LMS download gives it ("" : the ID itself)
    lms: str = ""               # where the student ID comes from: "canvas" (user id), "moodle" (participant), ""

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, record: dict) -> SubmissionGrade:
        fields = {k: v for k, v in record.items() if k in cls.__dataclass_fields__}
        fields["exercises"] = [ExerciseResult(**e) for e in fields["exercises"]]
        return cls(**fields)


def notebook_hash(path: Path | None) -> str:
    """sha256 of the notebook's bytes ("" when it cannot be read)."""
    if path is None:
        return ""
    try:
        return hashlib.sha256(read_regular_file(path, 200 * 2**20)).hexdigest()
    except Unreadable:
        return ""


def derive_seed(chapter: int, exercise_id: str, student: str, notebook_sha256: str) -> int:
    """The seed of one exercise's grading inputs."""
    key = json.dumps([chapter, exercise_id, student, notebook_sha256]).encode("utf-8", "surrogateescape")
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") >> 1


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


def hidden_hash(hidden: dict[str, list[tuple]]) -> str:
    """A fingerprint of the hidden cases (part of the resume cache's key)."""
    digest = hashlib.sha256()
    for exercise_id in sorted(hidden):
        for case in hidden[exercise_id]:
            for arg in case:
                digest.update(np.ascontiguousarray(arg).tobytes() if isinstance(arg, np.ndarray) else repr(arg).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Case:
    args: tuple
    hidden: bool    # a hidden case: its inputs are never shown in feedback


def grading_inputs(exercises: list[Exercise], hidden: dict[str, list[tuple]], seeds: dict[str, int]) -> dict[str, list[Case]]:
    """For each function exercise: inputs drawn with its own seed, then the hidden cases."""
    return {ex.id: [Case(tuple(a), False) for a in ex.cases(np.random.default_rng(seeds[ex.id]))]
            + [Case(tuple(a), True) for a in hidden.get(ex.id, [])]
            for ex in exercises if ex.kind == "function"}


def _descriptor(arg):
    """A grading input as the runner reads it."""
    import base64
    import io

    if isinstance(arg, np.ndarray):
        buffer = io.BytesIO()
        np.save(buffer, arg, allow_pickle=False)
        return {"npy": base64.b64encode(buffer.getvalue()).decode("ascii")}
    return {"json": arg.item() if isinstance(arg, np.generic) else arg}


def wire(inputs: dict[str, list[Case]], hidden: bool) -> dict[str, list[list[dict]]]:
    """The drawn (hidden=False) or the hidden cases' inputs, as the runner reads them."""
    return {k: chosen for k, cases in inputs.items()
            if (chosen := [[_descriptor(a) for a in case.args] for case in cases if case.hidden == hidden])}


def with_hidden(record: dict, hidden_record: dict | None, cases: list[Case]) -> dict:
    """A function exercise's record on the drawn inputs, followed by its results on the hidden
    ones (each a Failure when they could not be collected)."""
    count = sum(case.hidden for case in cases)
    if not count or not isinstance(record, dict) or not isinstance(record.get("cases"), list):
        return record
    results = (hidden_record or {}).get("cases")
    if not isinstance(results, list) or len(results) != count:
        results = [Failure("the hidden cases could not be collected")] * count
    return {**record, "cases": record["cases"] + results}


def graded_exercises(chapter: int) -> list[Exercise]:
    return [ex for ex in chapter_exercises(chapter) if ex.autograded]


def grade_submission(path: Path, chapter: int, student: str, limits: Limits, base: Path, uid: int | None = None,
                     hidden: dict[str, list[tuple]] | None = None, seed: int | dict | None = None,
                     claimed: bool = False, variant_id: str = "") -> SubmissionGrade:
    """Run and judge one notebook. Never raises for anything the submission contains.

    `uid` is the sandbox user (from claim_uids); without one, one is claimed for this call.
    `seed`: None derives each exercise's seed; a dict {exercise id: seed} replays a grading.
    `variant_id`: the student's variant ID (from the file's student ID and the salt); value and
    choice exercises are judged on its numbers and option order, whatever the notebook records.
    """
    if uid is None and not claimed:
        with claim_uids(1) as (claimed_uid,):
            return grade_submission(path, chapter, student, limits, base, claimed_uid, hidden, seed, True, variant_id)
    graded = graded_exercises(chapter)
    sha = notebook_hash(path)
    seeds = seed if isinstance(seed, dict) else {ex.id: derive_seed(chapter, ex.id, student, sha) if seed is None else seed
                                                 for ex in graded}
    try:
        cells = read_cells(path)
    except InvalidNotebook as err:
        return ungraded(student, chapter, "invalid-notebook", str(err), notebook_sha256=sha)
    inputs = grading_inputs(graded, hidden or {}, seeds)
    answer_names = {n for ex in graded for n in (ex.name, ex.justification_name)} | {ID_NAME}
    jobs = [{"id": ex.id, "kind": ex.kind, "name": ex.name, "justification_name": ex.justification_name} for ex in graded]
    jobs.append({"id": ID_NAME, "kind": "value", "name": ID_NAME, "justification_name": ""})
    drawn, hidden_wire = (wire(inputs, hidden_cases) for hidden_cases in (False, True))
    run = run_in_sandbox(runnable(cells, answer_names), jobs, drawn, limits, base, uid, hidden_wire)
    recorded = run.answers.get(ID_NAME, {}).get("value")
    if recorded is not None and not isinstance(recorded, str):  # STUDENT_ID = 12345, or something stranger
        recorded = f"not a string ({type(recorded).__name__})"
    mismatch = recorded is not None and clean_id(recorded) != clean_id(variant_id)
    detail = "; ".join(filter(None, [run.detail, id_flag(recorded, variant_id) if mismatch else ""]))
    extra = {"notebook_sha256": sha, "seeds": seeds, "isolation": run.isolation, "variant_id": variant_id,
             "recorded_id": recorded, "id_mismatch": mismatch}
    if not run.answers:
        return ungraded(student, chapter, run.status, run.detail, run.seconds, **extra)
    results = [judge_exercise(ex, with_hidden(run.answers.get(ex.id, {}), run.hidden.get(ex.id), inputs.get(ex.id, [])),
                              inputs.get(ex.id, []), variant_id) for ex in graded]
    return SubmissionGrade(student, run.status, detail, sum(r.points for r in results), sum(ex.points for ex in graded),
                           results, run.cell_errors, run.seconds, chapter, **extra)


def id_flag(recorded: str, variant_id: str) -> str:
    """The note for a notebook whose STUDENT_ID is not the student's variant ID."""
    expected = f"your variant ID {variant_id}" if variant_id else "empty (this assignment has no per-student numbers)"
    return (f"the notebook's STUDENT_ID is {recorded.strip() or 'empty'}, but it should be {expected}; "
            f"it was graded on the numbers and options of {variant_id or 'the book'}")


def ungraded(student: str, chapter: int, status: str, detail: str, seconds: float = 0.0, **extra) -> SubmissionGrade:
    """The grade of a submission that could not be graded: every exercise 0, with the reason."""
    graded = graded_exercises(chapter)
    failed = [ExerciseResult(ex.id, ex.kind, 0, ex.points, False, [detail]) for ex in graded]
    return SubmissionGrade(student, status, detail, 0, sum(ex.points for ex in graded), failed, seconds=seconds,
                           **{"chapter": chapter, **extra})


def judge_exercise(exercise: Exercise, record: dict, cases: list[Case], variant_id: str = "") -> ExerciseResult:
    """All-or-nothing per exercise: every case must pass. Messages never show expected values,
    nor the inputs of hidden cases."""
    def result(passed: bool, messages: list[str], why=None) -> ExerciseResult:
        return ExerciseResult(exercise.id, exercise.kind, exercise.points if passed else 0, exercise.points,
                              passed, messages, why)

    if not record or "missing" in record or "failed" in record:
        return result(False, [record.get("missing") or record.get("failed") or f"no answer for {exercise.name}"])
    if exercise.kind == "choice":
        passed, message = judge_choice(exercise, record.get("choice"), variant_id)
        why = record.get("why")
        messages = [message] + ([] if why and len(why.split()) >= 3 else ["no justification was written"])
        return result(passed, messages, why)
    if exercise.kind == "value":
        passed, message = judge_one(exercise, record.get("value"), (), variant_id)
        return result(passed, [message])
    got_cases = record.get("cases", [])
    if len(got_cases) != len(cases):
        return result(False, ["the answers could not be collected"])
    failures = [describe_failure(exercise, case, message)
                for case, got in zip(cases, got_cases) for passed, message in [judge_one(exercise, got, case.args)] if not passed]
    if not failures:
        return result(True, [f"all {len(cases)} grading cases pass"])
    if len(set(failures)) == 1 and len(failures) > 1:  # the same problem every time
        return result(False, [f"{failures[0]} (and the same in {len(failures) - 1} more of {len(cases)} cases)"])
    return result(False, failures)


def describe_failure(exercise: Exercise, case: Case, message: str) -> str:
    """'f(array(5, 2), 3): wrong values...' for a drawn case; for a hidden case only the kind."""
    if case.hidden:
        return f"a hidden case failed ({failure_kind(message)})"
    return f"{describe_call(exercise.name, case.args)}: {message}"


def failure_kind(message: str) -> str:
    """The kind of a failure, in words that reveal nothing of the case."""
    for words, kind in (("longer than", "it ran out of time"), ("returned None", "it returned None: a missing `return`?"),
                        ("is None, not", "None: a missing `return`?"),
                        ("shape", "wrong shape"), ("single number;", "wrong shape"), ("NaN", "NaN or inf"),
                        ("close to the right", "close, but off by more than the tolerance: float32?"),
                        ("wrong values", "wrong values"), ("not the right one", "wrong value"),
                        ("tuple of", "wrong type"), ("should be numbers", "wrong type"),
                        ("Error", "it raised an exception")):
        if words in message:
            return kind
    return "wrong result"


def judge_one(exercise: Exercise, got, args: tuple, variant_id: str = "") -> tuple[bool, str]:
    if isinstance(got, Failure):
        return False, got.reason
    if isinstance(got, tuple) and any(isinstance(g, Failure) for g in got):
        return False, next(g.reason for g in got if isinstance(g, Failure))
    try:
        return judge(exercise, got, args, variant_id)
    except (OverflowError, ValueError, TypeError, FloatingPointError) as err:
        return False, f"the answer could not be compared ({type(err).__name__})"
