"""What the grader writes: gradebook.csv, results.json, skipped.csv, feedback/ and results/.

Everything a student controls (their ID, exception messages, justifications) is escaped for
where it lands: spreadsheet formulas in CSV cells, Markdown and HTML in feedback. Files are
named by a hash of the student ID (the ID itself is kept inside), and are readable by the
output folder's group, so an instructor's group can read what root wrote.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import html
import io
import json
import os
import re
import unicodedata
import tempfile
from pathlib import Path

FILE_MODE, FOLDER_MODE = 0o640, 0o750
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

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
    "grader-error": "the grader failed on it (the instructor has the reason)",
}


def file_stem(student: str) -> str:
    """A safe, unique file name for a student: a readable prefix and a hash of the full ID."""
    prefix = re.sub(r"[^A-Za-z0-9._-]+", "_", student)[:40].lstrip(".-") or "student"
    return f"{prefix}-{hashlib.sha256(student.encode('utf-8', 'surrogateescape')).hexdigest()[:12]}"


def make_folder(path: Path) -> None:
    """A folder (and its parents under the output) readable by the group."""
    path.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file in the same folder, then rename: a reader sees all or nothing.
    The file gets the folder's group and is readable by it."""
    make_folder(path.parent)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", errors="replace") as f:
            f.write(text)
        os.chmod(temporary, FILE_MODE)
        if os.geteuid() == 0:
            os.chown(temporary, -1, os.stat(path.parent).st_gid)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def text(value) -> str:
    """Student-controlled text as one line of valid UTF-8 in which nothing hides: line breaks,
    tabs, control and bidirectional-format characters are shown escaped ("ann\\nlee",
    "\\u202e"), so two different strings never look the same."""
    valid = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join(_shown(ch) for ch in valid)


def _shown(ch: str) -> str:
    if ch == " " or unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp", "Zs"):
        return ch
    return ESCAPES.get(ch, f"\\u{ord(ch):04x}")


def csv_cell(value) -> str:
    """A CSV cell that a spreadsheet never reads as a formula: a leading apostrophe before a
    formula's first character, and before an apostrophe (so "=x" and "'=x" stay apart)."""
    value = text(value) if isinstance(value, str) else str(value)
    return "'" + value if value.startswith(FORMULA_START + ("'",)) else value


def markdown(value) -> str:
    """Student text inside Markdown: no markup, no HTML, one line."""
    # Markdown's characters first: the entities html.escape writes (&#x27;) hold a '#' of their own.
    return html.escape(re.sub(r"([\\`*_\[\]|#~])", r"\\\1", text(value)), quote=True)


def gradebook_csv(grades, specs) -> str:
    rows = [["Student ID"] + [f"Exercise {ex.id} ({ex.points})" for ex in specs]
            + ["Total", "Max points", "Status", "Isolation", "Name"]]
    for grade in grades:
        points = {e.id: e.points for e in grade.exercises}
        rows.append([grade.student] + [f"{points.get(ex.id, 0):g}" for ex in specs]
                    + [f"{grade.total:g}", str(grade.max_total), grade.status, grade.isolation or "",
                       grade.name or grade.student])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([[csv_cell(c) for c in row] for row in rows])
    return buffer.getvalue()


def skipped_csv(skipped: list[tuple[str, str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([["File", "Why it was skipped"]] + [[csv_cell(a), csv_cell(b)] for a, b in skipped])
    return buffer.getvalue()


def write_reports(grades, specs, chapter: int, out: Path, skipped: list[tuple[str, str]]) -> None:
    """gradebook.csv, results.json, skipped.csv and feedback/<file stem>.md and .html."""
    write_atomically(out / "gradebook.csv", gradebook_csv(grades, specs))
    write_atomically(out / "skipped.csv", skipped_csv(skipped))
    write_atomically(out / "results.json", json.dumps(
        {"chapter": chapter, "submissions": [dict(g.to_json(), file=file_stem(g.student)) for g in grades],
         "skipped": [{"file": a, "why": b} for a, b in skipped]}, indent=1))
    for grade in grades:
        stem = file_stem(grade.student)
        write_atomically(out / "feedback" / f"{stem}.md", feedback_markdown(grade, chapter))
        write_atomically(out / "feedback" / f"{stem}.html", feedback_html(grade, chapter))


def _status(grade) -> str:
    return STATUS_TEXT.get(grade.status, grade.status)


def _detail(grade) -> str:
    """What the student may read about a failure (never a grader error's reason)."""
    return "" if grade.status == "grader-error" else grade.detail


def who(grade) -> str:
    """The student as feedback names them: the name from the LMS download and the student ID."""
    return f"{grade.name} ({grade.student})" if grade.name and grade.name != grade.student else grade.student


def feedback_markdown(grade, chapter: int) -> str:
    esc = markdown
    lines = [f"# Feedback: chapter {chapter} exercises, {esc(who(grade))}", "",
             f"**Score: {grade.total:g} / {grade.max_total}** ({_status(grade)})", ""]
    if _detail(grade):
        lines += [f"> {esc(_detail(grade))}", ""]
    lines += ["| exercise | points | result |", "|---|---|---|"]
    for e in grade.exercises:
        lines.append(f"| {esc(e.id)} | {e.points:g} / {e.max_points} | {'passed' if e.passed else 'not passed'} |")
    lines.append("")
    for e in grade.exercises:
        if not e.passed and grade.status != "grader-error":
            lines += [f"## Exercise {esc(e.id)}", ""] + [f"- {esc(m)}" for m in e.messages[:5]] + [""]
    errors = grade.cell_errors[:10]
    if errors:
        lines += ["## Cells that raised an error", ""] + [
            f"- cell {esc(c.get('cell'))}: {esc(c.get('error'))}: {esc(str(c.get('message', ''))[:200])}" for c in errors] + [""]
    return "\n".join(lines)


def feedback_html(grade, chapter: int) -> str:
    esc = lambda value: html.escape(text(value))  # noqa: E731
    rows = "".join(f"<tr><td>{esc(e.id)}</td><td>{e.points:g} / {e.max_points}</td><td>{'passed' if e.passed else 'not passed'}</td></tr>"
                   for e in grade.exercises)
    details = "".join(f"<h2>Exercise {esc(e.id)}</h2><ul>{''.join(f'<li>{esc(m)}</li>' for m in e.messages[:5])}</ul>"
                      for e in grade.exercises if not e.passed and grade.status != "grader-error")
    note = f"<blockquote>{esc(_detail(grade))}</blockquote>" if _detail(grade) else ""
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Feedback {esc(who(grade))}</title>"
            "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}td,th{padding:.3em 1em;border-bottom:1px solid #ddd}</style>"
            f"</head><body><h1>Feedback: chapter {chapter} exercises, {esc(who(grade))}</h1>"
            f"<p><strong>Score: {grade.total:g} / {grade.max_total}</strong> ({esc(_status(grade))})</p>{note}"
            f"<table><tr><th>exercise</th><th>points</th><th>result</th></tr>{rows}</table>{details}</body></html>\n")
