"""Grade a folder of submissions: in parallel, resumable, with a gradebook and feedback.

Nothing one student does stops the batch: any exception while grading, judging or reporting a
student is caught and recorded for that student as status `grader-error`, with the reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from .grade import SubmissionGrade, grade_submission, graded_exercises, hidden_checks, hidden_hash, notebook_hash, ungraded
from .intake import Submission, find_submissions
from .readback import Unreadable, read_regular_file
from .reports import feedback_html, feedback_markdown, file_stem, make_folder, who, write_atomically, write_reports
from .sandbox import NO_SANDBOX_REASON, Limits, claim_uids, isolation_mode
from .variant_ids import variant_id

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
RESULT_CAP = 16 * 2**20


def default_hidden_sources(chapter: int, private: Path | None) -> list[Path]:
    """Hidden checks: the solution master's hidden-check cells, then the private folder's files."""
    sources = sorted((REPO / "solutions").glob(f"chapter{chapter}_*.ipynb"))
    if private:
        if not private.is_dir():
            raise ValueError(f"the hidden-checks folder {private} does not exist")
        sources += sorted(p for p in private.iterdir() if p.suffix in (".py", ".ipynb")
                          and (p.stem.startswith(f"chapter{chapter}") or p.stem.startswith(f"{chapter}")))
    return sources


def assignment_name(chapter: int) -> str:
    """The exercise notebook's name, such as chapter2_cumulative_average (for intake's choice rule)."""
    masters = sorted((REPO / "solutions").glob(f"chapter{chapter}_*.ipynb"))
    return masters[0].stem if masters else f"chapter{chapter}_"


def grader_version() -> str:
    """The grading code's own fingerprint: a change in it grades everyone again."""
    digest = hashlib.sha256()
    for path in sorted(HERE.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_key(chapter: int, notebook_sha256: str, hidden: str, variant: str = "") -> str:
    """The resume cache's key: (chapter, notebook hash, hidden-check hash, grader version,
    the student's variant ID)."""
    return hashlib.sha256(json.dumps([chapter, notebook_sha256, hidden, grader_version()] + ([variant] if variant else []))
                          .encode()).hexdigest()


def load_previous(path: Path, student: str, key: str) -> SubmissionGrade | None:
    """A finished grade of the same notebook, chapter, hidden checks and grader, or None. A
    grader error is never reused: it is graded again."""
    try:
        record = json.loads(read_regular_file(path, RESULT_CAP))
        if record.get("cache_key") != key or record.get("student") != student or record.get("status") == "grader-error":
            return None
        return SubmissionGrade.from_json(record)
    except (Unreadable, ValueError, TypeError, KeyError, AttributeError):
        return None


def log_isolation(log) -> None:
    if isolation_mode() == "none":
        log("WARNING: NO SANDBOX. Submissions run with resource limits only: a submission can read what this user "
            f"can read and reach the network. Reason: {'; '.join(NO_SANDBOX_REASON) or 'unknown'}. "
            "Install bubblewrap and allow user namespaces (see the README).")


def grade_folder(submissions: Path, chapter: int, out: Path, hidden: Path | None = None, workers: int | None = None,
                 force: bool = False, limits: Limits = Limits(), log=print, salt: str = "") -> list[SubmissionGrade]:
    """Grade every submission in the folder; skip those already graded (same cache key) unless forced.
    With a salt, value and choice exercises are graded on each student's own variant."""
    specs = graded_exercises(chapter)  # a clear error for an unknown chapter, before anything runs
    intake = find_submissions(submissions, assignment_name(chapter))
    hidden_cases = hidden_checks(default_hidden_sources(chapter, hidden))
    hidden_fingerprint = hidden_hash(hidden_cases)
    results_dir = out / "results"
    make_folder(results_dir)
    todo, done, keys = [], {}, {}
    for submission in intake.submissions:
        keys[submission.student] = cache_key(chapter, notebook_hash(submission.notebook), hidden_fingerprint,
                                             variant_id(submission.student, salt))
        previous = None if force else load_previous(results_dir / f"{file_stem(submission.student)}.json",
                                                    submission.student, keys[submission.student])
        if previous:
            done[submission.student] = named(previous, submission)
        else:
            todo.append(submission)
    workers = workers or os.cpu_count() or 1
    log(f"chapter {chapter}: {len(intake.submissions)} submissions, {len(done)} already graded, {len(todo)} to grade "
        f"with {workers} workers; sandbox: {isolation_mode()}; {len(intake.skipped)} files skipped")
    log_isolation(log)
    for name, why in intake.skipped:
        log(f"skipped {name}: {why}")
    base = Path(tempfile.mkdtemp(prefix="kvmem-grade-"))
    start = time.perf_counter()
    try:
        with claim_uids(workers) as free_uids, ThreadPoolExecutor(max_workers=workers) as pool:
            lock = threading.Lock()

            def work(submission: Submission) -> SubmissionGrade:
                with lock:
                    uid = free_uids.pop()
                try:
                    grade = grade_safely(submission, chapter, limits, base, uid, hidden_cases, salt)
                finally:
                    with lock:
                        free_uids.append(uid)
                record = {**grade.to_json(), "cache_key": keys[submission.student],
                          "notebook": str(submission.notebook) if submission.notebook else None,
                          "hidden": str(hidden.resolve()) if hidden else None}
                write_atomically(results_dir / f"{file_stem(submission.student)}.json", json.dumps(record, indent=1))
                return grade

            futures = {pool.submit(work, s): s for s in todo}
            for k, future in enumerate(as_completed(futures), 1):
                grade = future.result()
                done[grade.student] = grade
                log(f"[{k}/{len(todo)}] {who(grade)}: {grade.total:g}/{grade.max_total} ({grade.status}) "
                    f"{grade.seconds:.1f} s")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    grades = [reportable(done[s.student], chapter, log) for s in intake.submissions]
    write_reports(grades, specs, chapter, out, intake.skipped)
    log(f"graded {len(todo)} in {time.perf_counter() - start:.1f} s; gradebook: {out / 'gradebook.csv'}")
    return grades


def grade_safely(submission: Submission, chapter: int, limits: Limits, base: Path, uid, hidden_cases,
                 salt: str = "") -> SubmissionGrade:
    """The grade of one submission; a fault of the grader on it becomes status grader-error."""
    try:
        grade = _grade_one(submission, chapter, limits, base, uid, hidden_cases, salt)
    except Exception as err:
        grade = ungraded(submission.student, chapter, "grader-error", f"{type(err).__name__}: {str(err)[:300]}",
                         isolation=isolation_mode())
    return named(grade, submission)


def named(grade: SubmissionGrade, submission: Submission) -> SubmissionGrade:
    """The grade with the student's name and LMS as the intake read them from the download name."""
    grade.name, grade.lms = submission.name, submission.lms
    return grade


def _grade_one(submission: Submission, chapter: int, limits: Limits, base: Path, uid, hidden_cases,
               salt: str = "") -> SubmissionGrade:
    if submission.notebook is None:
        return ungraded(submission.student, chapter, "no-notebook", submission.problem)
    if submission.refused:
        return ungraded(submission.student, chapter, "invalid-notebook", submission.problem)
    grade = grade_submission(submission.notebook, chapter, submission.student, limits, base, uid, hidden_cases,
                             variant_id=variant_id(submission.student, salt))
    if submission.problem:
        grade.detail = "; ".join(filter(None, [submission.problem, grade.detail]))
    return grade


def reportable(grade: SubmissionGrade, chapter: int, log) -> SubmissionGrade:
    """The grade itself if its feedback can be written, else a grader-error grade saying why."""
    try:
        feedback_markdown(grade, chapter), feedback_html(grade, chapter)
        return grade
    except Exception as err:
        log(f"grader error while reporting {grade.student!r}: {type(err).__name__}: {err}")
        return ungraded(grade.student, chapter, "grader-error", f"reporting failed: {type(err).__name__}: {str(err)[:300]}",
                        isolation=grade.isolation)


def replay(result_file: Path, hidden: Path | None = None, limits: Limits = Limits()) -> tuple[SubmissionGrade, SubmissionGrade]:
    """Grade again exactly as recorded in results/<student>.json: same notebook (its hash is
    checked), same seeds, same hidden checks. Returns (recorded, replayed)."""
    record = json.loads(read_regular_file(result_file, RESULT_CAP))
    recorded = SubmissionGrade.from_json(record)
    notebook = Path(record.get("notebook") or "")
    if not record.get("notebook") or notebook_hash(notebook) != recorded.notebook_sha256:
        raise ValueError(f"the notebook {notebook} is not the one that was graded (its hash differs, or it is gone)")
    # Only the instructor's own --hidden folder: a results file is data, and the folder it names
    # could be anyone's (code in it would run as the instructor).
    if record.get("hidden") and hidden is None:
        raise ValueError(f"this result was graded with the hidden checks in {record['hidden']}: "
                         "pass that folder again with --hidden to replay it")
    private = hidden
    hidden_cases = hidden_checks(default_hidden_sources(recorded.chapter, private))
    base = Path(tempfile.mkdtemp(prefix="kvmem-grade-"))
    try:
        again = grade_submission(notebook, recorded.chapter, recorded.student, limits, base, hidden=hidden_cases,
                                 seed=recorded.seeds, variant_id=recorded.variant_id)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return recorded, again
