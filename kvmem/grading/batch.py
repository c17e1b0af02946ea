"""Grade a folder of submissions: in parallel, resumable, with a gradebook and feedback."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from . import exercises as chapter_exercises
from .grade import ExerciseResult, SubmissionGrade, grade_submission, hidden_checks, ungraded
from .sandbox import Limits, can_isolate, claim_uids

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Submission:
    student: str
    notebook: Path | None   # None: the student's folder holds no notebook
    problem: str = ""


def find_submissions(folder: Path) -> list[Submission]:
    """One notebook per student (<student>.ipynb), or one folder per student holding a notebook."""
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder of submissions")
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            found.append(Submission(entry.stem, entry))
        elif entry.is_dir():
            notebooks = sorted(p for p in entry.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            if len(notebooks) == 1:
                found.append(Submission(entry.name, notebooks[0]))
            elif not notebooks:
                found.append(Submission(entry.name, None, "the folder holds no notebook"))
            else:
                newest = max(notebooks, key=lambda p: p.stat().st_mtime)
                found.append(Submission(entry.name, newest, f"{len(notebooks)} notebooks; graded the newest, {newest.name}"))
    return found


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file in the same folder, then rename: a reader sees all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(temporary, path)


def fingerprint(path: Path | None) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path else ""


def default_hidden_sources(chapter: int, private: Path | None) -> list[Path]:
    """Hidden checks: the solution master's hidden-check cells, then the private folder's files."""
    sources = sorted((REPO / "solutions").glob(f"chapter{chapter}_*.ipynb"))
    if private:
        if not private.is_dir():
            raise ValueError(f"the hidden-checks folder {private} does not exist")
        sources += sorted(p for p in private.iterdir() if p.suffix in (".py", ".ipynb")
                          and (p.stem.startswith(f"chapter{chapter}") or p.stem.startswith(f"{chapter}")))
    return sources


def grade_folder(submissions: Path, chapter: int, out: Path, hidden: Path | None = None, workers: int | None = None,
                 force: bool = False, limits: Limits = Limits(), log=print) -> list[SubmissionGrade]:
    """Grade every submission in the folder; skip those already graded (same file) unless forced."""
    chapter_exercises(chapter)  # a clear error for an unknown chapter, before anything runs
    found = find_submissions(submissions)
    hidden_cases = hidden_checks(default_hidden_sources(chapter, hidden))
    results_dir = out / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    todo, done = [], {}
    for submission in found:
        previous = _load_previous(results_dir / f"{submission.student}.json", submission)
        if previous and not force:
            done[submission.student] = previous
        else:
            todo.append(submission)
    workers = workers or os.cpu_count() or 1
    log(f"chapter {chapter}: {len(found)} submissions, {len(done)} already graded, {len(todo)} to grade "
        f"with {workers} workers" + ("" if can_isolate() else " (not root: no namespaces or separate user; see README)"))
    hide = tuple(str(p) for p in (submissions, out, hidden) if p)
    base = Path(tempfile.mkdtemp(prefix="kvmem-grade-"))
    start = time.perf_counter()
    try:
        with claim_uids(workers) as free_uids, ThreadPoolExecutor(max_workers=workers) as pool:
            lock = threading.Lock()

            def work(submission: Submission) -> SubmissionGrade:
                with lock:
                    uid = free_uids.pop()
                try:
                    grade = _grade_one(submission, chapter, limits, base, uid, hidden_cases, hide)
                finally:
                    with lock:
                        free_uids.append(uid)
                record = {"fingerprint": fingerprint(submission.notebook), **grade.to_json()}
                write_atomically(results_dir / f"{submission.student}.json", json.dumps(record, indent=1))
                return grade

            futures = [pool.submit(work, s) for s in todo]
            for k, future in enumerate(as_completed(futures), 1):
                grade = future.result()
                done[grade.student] = grade
                log(f"[{k}/{len(todo)}] {grade.student}: {grade.total:g}/{grade.max_total} ({grade.status}) "
                    f"{grade.seconds:.1f} s")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    grades = [done[s.student] for s in found]
    write_reports(grades, chapter, out)
    elapsed = time.perf_counter() - start
    log(f"graded {len(todo)} in {elapsed:.1f} s; gradebook: {out / 'gradebook.csv'}")
    return grades


def _grade_one(submission, chapter, limits, base, uid, hidden_cases, hide) -> SubmissionGrade:
    if submission.notebook is None:
        return ungraded(submission.student, chapter, "no-notebook", submission.problem)
    grade = grade_submission(submission.notebook, chapter, submission.student, limits, base, uid, hidden_cases, hide=hide)
    if submission.problem:
        grade.detail = "; ".join(filter(None, [submission.problem, grade.detail]))
    return grade


def _load_previous(path: Path, submission: Submission) -> SubmissionGrade | None:
    """A finished grade of the same file, or None."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if record.get("fingerprint") != fingerprint(submission.notebook):
        return None
    record.pop("fingerprint")
    record["exercises"] = [ExerciseResult(**e) for e in record["exercises"]]
    return SubmissionGrade(**record)


def write_reports(grades: list[SubmissionGrade], chapter: int, out: Path) -> None:
    """gradebook.csv, results.json and feedback/<student>.md and .html."""
    specs = [ex for ex in chapter_exercises(chapter) if ex.kind != "experiment"]
    rows = [["Student ID"] + [f"Exercise {ex.id} ({ex.points})" for ex in specs] + ["Total", "Max points", "Status"]]
    for grade in grades:
        points = {e.id: e.points for e in grade.exercises}
        rows.append([grade.student] + [f"{points.get(ex.id, 0):g}" for ex in specs]
                    + [f"{grade.total:g}", str(grade.max_total), grade.status])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    write_atomically(out / "gradebook.csv", buffer.getvalue())
    write_atomically(out / "results.json", json.dumps({"chapter": chapter, "submissions": [g.to_json() for g in grades]},
                                                      indent=1))
    for grade in grades:
        write_atomically(out / "feedback" / f"{grade.student}.md", feedback_markdown(grade, chapter))
        write_atomically(out / "feedback" / f"{grade.student}.html", feedback_html(grade, chapter))


STATUS_TEXT = {
    "ok": "graded",
    "invalid-notebook": "the file is not a readable notebook",
    "timeout": "it ran out of time",
    "crash": "its process crashed",
    "exit": "it exited before it could be graded",
    "memory": "it ran out of memory",
    "output-limit": "it wrote too much",
    "no-answers": "it left no answers to read",
    "no-notebook": "no notebook was found",
}


def feedback_markdown(grade: SubmissionGrade, chapter: int) -> str:
    lines = [f"# Feedback: chapter {chapter} exercises, {grade.student}", "",
             f"**Score: {grade.total:g} / {grade.max_total}** ({STATUS_TEXT.get(grade.status, grade.status)})", ""]
    if grade.detail:
        lines += [f"> {grade.detail}", ""]
    lines += ["| exercise | points | result |", "|---|---|---|"]
    for e in grade.exercises:
        lines.append(f"| {e.id} | {e.points:g} / {e.max_points} | {'passed' if e.passed else 'not passed'} |")
    lines.append("")
    for e in grade.exercises:
        if not e.passed:
            lines += [f"## Exercise {e.id}", ""] + [f"- {m}" for m in e.messages[:5]] + [""]
    errors = grade.cell_errors[:10]
    if errors:
        lines += ["## Cells that raised an error", ""] + [f"- cell {c.get('cell')}: {c.get('error')}: {c.get('message', '')[:200]}" for c in errors] + [""]
    return "\n".join(lines)


def feedback_html(grade: SubmissionGrade, chapter: int) -> str:
    esc = html.escape
    rows = "".join(f"<tr><td>{esc(e.id)}</td><td>{e.points:g} / {e.max_points}</td><td>{'passed' if e.passed else 'not passed'}</td></tr>"
                   for e in grade.exercises)
    details = "".join(f"<h2>Exercise {esc(e.id)}</h2><ul>{''.join(f'<li>{esc(m)}</li>' for m in e.messages[:5])}</ul>"
                      for e in grade.exercises if not e.passed)
    note = f"<blockquote>{esc(grade.detail)}</blockquote>" if grade.detail else ""
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Feedback {esc(grade.student)}</title>"
            "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}td,th{padding:.3em 1em;border-bottom:1px solid #ddd}</style>"
            f"</head><body><h1>Feedback: chapter {chapter} exercises, {esc(grade.student)}</h1>"
            f"<p><strong>Score: {grade.total:g} / {grade.max_total}</strong> ({esc(STATUS_TEXT.get(grade.status, grade.status))})</p>{note}"
            f"<table><tr><th>exercise</th><th>points</th><th>result</th></tr>{rows}</table>{details}</body></html>\n")
