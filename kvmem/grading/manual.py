"""Written answers and choice justifications, for a teaching assistant to grade by hand.

`write_manual(out)` collects, from what the batch wrote in OUT and from the notebooks it graded:
- every written answer: a Markdown region `<!-- BEGIN SOLUTION -->...<!-- END SOLUTION -->` of the
  solution master became a prompt cell in the student notebook (kvmem.grading.notebooks); the
  student's answer is read from their cell with the same id (else the cell that still holds the
  prompt's text, else the cell at the same position), plus any Markdown cells they added after it;
- every choice justification (`<name>_why`, recorded by the grader in results/<file>.json).
It writes OUT/manual.csv (one row per answer, the Points column left for the TA; points already
entered for the same answer are kept) and OUT/manual/<exercise>.html (all students' answers side
by side with the rubric). `merge_manual(out, manual_csv)` reads the TA's points back, checks them,
and writes OUT/gradebook_with_manual.csv.

Intended wiring in cli.py (`kvmem-grade SUBMISSIONS --chapter N --out OUT [--manual OUT/manual.csv]`),
after `grade_folder(...)` has returned (before the LMS export, which takes `merged.totals`):

    from .manual import merge_manual, write_manual
    merged = None
    if args.manual:
        merged = merge_manual(args.out, args.manual)     # ValueError if the file cannot be read
        for problem in merged.problems:
            print(f"manual points: {problem}", file=sys.stderr)
    write_manual(args.out, previous=args.manual)         # every run; keeps the TA's points

Rubrics come from the exercise specifications (`Exercise.rubric`).
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import find
from .lms import StudentResult, csv_text, read_results
from .notebook_code import refuse_json_bombs
from .notebooks import HIDDEN_TAG, MD_REGION, MD_STUB, student_notebook
from .readback import Unreadable, read_regular_file
from .spec import Rubric, rubric_item, rubric_text
from .reports import csv_cell, file_stem, text, write_atomically

REPO = Path(__file__).resolve().parents[2]
MD_BEGIN, MD_END = "<!-- BEGIN SOLUTION -->", "<!-- END SOLUTION -->"  # the markers of notebooks.MD_REGION
NOTEBOOK_CAP = 50 * 2**20
CSV_CAP = 20 * 2**20
MAX_ANSWER = 4000        # characters shown of one answer; the rest is cut with a note
MIN_WORDS = 4            # a justification shorter than this is not a sentence
EXERCISE_HEADING = re.compile(r"^#{1,6}[^\n]*?\bExercise (\d+\.\d+)", re.M)
HEADER = ["Student", "Exercise", "Kind", "Answer", "Flags", "Points", "Max points", "Rubric", "Answer ID", "Name"]

JUSTIFICATION_RUBRIC: Rubric = (("names the mechanism", 1),)  # for an exercise whose spec has no rubric
WRITTEN_RUBRIC: Rubric = (("states the result correctly", 1), ("derives or explains it from the chapter's definitions", 1))


@dataclass
class Answer:
    """One thing to grade by hand."""
    student: str
    exercise: str
    kind: str                 # "written" or "justification"
    text: str                 # as the student wrote it (cleaned, cut to MAX_ANSWER)
    flags: list[str] = field(default_factory=list)
    auto: str = ""            # what the autograder said (the choice was right or wrong)
    name: str = ""            # the student's name from the LMS download ("" : the student ID)

    @property
    def rubric(self) -> Rubric:
        """The exercise specification's rubric (a default where it has none)."""
        try:
            rubric = find(self.exercise.split(" part ")[0]).rubric
        except ValueError:
            rubric = ()
        return rubric or (JUSTIFICATION_RUBRIC if self.kind == "justification" else WRITTEN_RUBRIC)

    @property
    def max_points(self) -> int:
        return sum(points for _, points in self.rubric)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.student, self.exercise, self.kind

    @property
    def answer_id(self) -> str:
        """A fingerprint of the answer: points given to it are kept while it is unchanged."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:12]


# --- student text -------------------------------------------------------------------------

def clean(value) -> str:
    """Student text as valid UTF-8 with its line breaks, and no other control characters."""
    value = re.sub(r"[\ud800-\udfff]", "\ufffd", str(value)).replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", value)


def shortened(value: str) -> tuple[str, list[str]]:
    """The text cut to MAX_ANSWER characters, and a flag that says so."""
    value = clean(value).strip()
    if len(value) <= MAX_ANSWER:
        return value, []
    return value[:MAX_ANSWER] + f"\n[... cut: {len(value)} characters in all]", [f"truncated ({len(value)} characters)"]


def length_flags(value: str) -> list[str]:
    if not value.strip():
        return ["empty"]
    return ["shorter than a sentence"] if len(value.split()) < MIN_WORDS else []


# --- choice justifications ------------------------------------------------------------------

def justifications(student: StudentResult) -> list[Answer]:
    """The student's justification of each choice exercise, as the grader recorded it."""
    found = []
    for exercise in student.exercises:
        if not isinstance(exercise, dict) or exercise.get("kind") != "choice":
            continue
        words, flags = shortened(exercise.get("justification") or "")
        if student.status != "ok":
            flags.append(f"not collected: {student.status}")
        auto = "right choice" if exercise.get("passed") else "wrong choice"
        found.append(Answer(student.student, str(exercise.get("id")), "justification", words, length_flags(words) + flags, auto,
                            student.name))
    return found


# --- written answers ------------------------------------------------------------------------

@dataclass(frozen=True)
class Prompt:
    """A written-answer cell of the student notebook as generated: its id, position and text."""
    exercise: str
    cell_id: str
    index: int
    template: str
    model: str = ""           # the master's answer, for the TA


def prompts(master: Path) -> tuple[list[Prompt], set[str]]:
    """The written-answer prompts of the student notebook generated from a master, and the ids
    of all its cells."""
    solution = nbformat.read(master, as_version=4)
    generated = student_notebook(solution)
    kept = [c for c in solution.cells if HIDDEN_TAG not in c.get("metadata", {}).get("tags", [])]  # as generated
    found, before = [], ""
    for index, cell in enumerate(generated.cells):
        if cell.cell_type == "markdown" and MD_STUB in cell.source:
            headings = EXERCISE_HEADING.findall(before + cell.source.split(MD_STUB)[0])
            exercise = headings[-1] if headings else cell.id
            if any(p.exercise == exercise for p in found):  # a second answer cell of one exercise
                exercise = f"{exercise} part {sum(p.exercise.startswith(exercise) for p in found) + 1}"
            model = "\n\n".join(region[len(MD_BEGIN):-len(MD_END)].strip() for region in MD_REGION.findall(kept[index].source))
            found.append(Prompt(exercise, cell.id, index, cell.source, model))
        if cell.cell_type == "markdown":
            before += cell.source + "\n"
    return found, {cell.id for cell in generated.cells}


def notebook_cells(path: str, sha256: str) -> tuple[list[dict], list[str]]:
    """The cells of a submitted notebook as {id, type, source}, read as data (never run), and
    flags (the notebook changed since it was graded, or could not be read)."""
    try:
        data = read_regular_file(path, NOTEBOOK_CAP)
        refuse_json_bombs(data)
        notebook = json.loads(data.decode("utf-8", "replace"))
        cells = notebook["cells"]
        if not isinstance(cells, list):
            raise TypeError
    except (Unreadable, ValueError, RecursionError, KeyError, TypeError) as err:
        return [], [f"the notebook could not be read ({text(str(err))[:100] or 'not a notebook'})"]
    flags = ["the notebook changed since it was graded"] if sha256 and hashlib.sha256(data).hexdigest() != sha256 else []
    return [_cell(c) for c in cells if isinstance(c, dict)], flags


def _cell(cell: dict) -> dict:
    source = cell.get("source", "")
    source = "".join(s for s in source if isinstance(s, str)) if isinstance(source, list) else source
    return {"id": cell.get("id") if isinstance(cell.get("id"), str) else None,
            "type": cell.get("cell_type"), "source": source if isinstance(source, str) else ""}


def template_parts(template: str, source: str) -> list[str] | None:
    """What stands in place of each prompt when `source` is the template with the prompts
    replaced (found left to right, in linear time), or None when it is not."""
    fixed = [part.strip() for part in template.split(MD_STUB)]
    source = source.strip()
    if not source.startswith(fixed[0]) or not source.endswith(fixed[-1]) or len(source) < len(fixed[0]) + len(fixed[-1]):
        return None
    body, parts = source[len(fixed[0]): len(source) - len(fixed[-1])], []
    for part in fixed[1:-1]:
        end = body.find(part)
        if end < 0:
            return None
        parts.append(body[:end])
        body = body[end + len(part):]
    return parts + [body]


def find_cell(cells: list[dict], prompt: Prompt) -> tuple[int | None, list[str]]:
    """The student's answer cell: same id, else the one that still holds the prompt's text,
    else (flagged) the Markdown cell at the same position; and flags."""
    markdown = [k for k, c in enumerate(cells) if c["type"] == "markdown"]
    for k in markdown:
        if cells[k]["id"] == prompt.cell_id:
            return k, []
    for k in markdown:
        if template_parts(prompt.template, cells[k]["source"]) is not None:
            return k, []
    if prompt.index in markdown:
        return prompt.index, ["found by its position only: check it is the answer"]
    return None, ["answer cell not found"]


def extract(template: str, source: str) -> str:
    """What the student wrote in place of the prompt(s): the cell without the template's text."""
    parts = template_parts(template, source)
    return "\n\n".join(p.strip() for p in (parts if parts is not None else [source]) if p.strip() and p.strip() != MD_STUB)


def added_after(cells: list[dict], k: int, known_ids: set[str]) -> list[str]:
    """Markdown cells the student added right after their answer cell (before the next cell of
    the notebook as handed out)."""
    added = []
    for cell in cells[k + 1:]:
        if cell["id"] is None or cell["id"] in known_ids or EXERCISE_HEADING.search(cell["source"]):
            break  # the next cell as handed out (cells without ids: no way to tell, stop)
        if cell["type"] == "markdown":
            added.append(cell["source"])
    return added


def written_answers(student: StudentResult, prompt_list: list[Prompt], known_ids: set[str]) -> list[Answer]:
    """The student's answer to each written prompt."""
    if not prompt_list:
        return []
    if not student.notebook:
        cells, flags = [], ["no notebook"]
    else:
        cells, flags = notebook_cells(student.notebook, student.notebook_sha256)
    found = []
    for prompt in prompt_list:
        k, where = find_cell(cells, prompt) if cells else (None, [])
        raw = "" if k is None else "\n\n".join([extract(prompt.template, cells[k]["source"])] + added_after(cells, k, known_ids))
        words, cut = shortened(raw)
        found.append(Answer(student.student, prompt.exercise, "written", words, length_flags(words) + cut + flags + where,
                            name=student.name))
    return found


def master_of(chapter: int, solutions: Path | None = None) -> Path | None:
    """The chapter's solution master (the first, as the batch's assignment name)."""
    masters = sorted(Path(solutions or REPO / "solutions").glob(f"chapter{chapter}_*.ipynb"))
    return masters[0] if masters else None


def model_answers(out_dir: Path, solutions: Path | None = None) -> dict[str, str]:
    """{exercise id: the answer the TA compares with}: the master's written answers, and for
    choice exercises the right option."""
    chapter, students = read_results(out_dir)
    master = master_of(chapter, solutions)
    models = {p.exercise: p.model for p in prompts(master)[0]} if master else {}
    for exercise in {e.get("id") for s in students for e in s.exercises if isinstance(e, dict) and e.get("kind") == "choice"}:
        try:
            spec = find(str(exercise))
            models[exercise] = "right choice: " + next(o for o in spec.options if o[0] == spec.reference)
        except (ValueError, StopIteration):
            continue
    return models


def collect(out_dir: Path, solutions: Path | None = None) -> list[Answer]:
    """Every written answer and justification of the batch in OUT, student by student."""
    chapter, students = read_results(out_dir)
    master = master_of(chapter, solutions)
    prompt_list, known_ids = prompts(master) if master else ([], set())
    return [answer for student in students
            for answer in written_answers(student, prompt_list, known_ids) + justifications(student)]


# --- manual.csv and the pages ---------------------------------------------------------------

def _row(answer: Answer, points: str = "", flags: list[str] = ()) -> list[str]:
    return [answer.student, f"Exercise {answer.exercise}", answer.kind, answer.text,
            "; ".join([*answer.flags, *flags]), points, str(answer.max_points), rubric_text(answer.rubric), answer.answer_id,
            answer.name or answer.student]


def manual_csv(answers: list[Answer], previous: dict | None = None) -> str:
    """manual.csv: one row per answer; the points of an earlier file ({answer key: row}, see
    match_rows) kept for the answers that did not change."""
    rows = [HEADER]
    for answer in answers:
        earlier = (previous or {}).get(answer.key)
        if earlier and earlier["Answer ID"] == answer.answer_id:
            rows.append(_row(answer, earlier["Points"]))
        elif earlier and earlier["Points"]:
            rows.append(_row(answer, "", [f"the answer changed after it was marked ({earlier['Points']} points then)"]))
        else:
            rows.append(_row(answer))
    return csv_text(rows)


def _esc(value) -> str:
    return html.escape(clean(value), quote=True)


PAGE_STYLE = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;width:100%}"
              "td,th{border:1px solid #ccc;padding:.4em;vertical-align:top;text-align:left}"
              ".answer{white-space:pre-wrap;font-family:serif;max-width:60em}.flag{color:#a00}")


def student_cell(answer: Answer) -> str:
    """The student ID, and under it the name from the LMS download where there is one."""
    named = answer.name and answer.name != answer.student
    return _esc(answer.student) + (f"<br>{_esc(answer.name)}" if named else "")


def exercise_page(exercise: str, answers: list[Answer], model: str = "") -> str:
    """One exercise: the rubric and the model answer, then every student's answer (all student
    text escaped)."""
    rubric = "".join(f"<li>{_esc(rubric_item(c, p))}</li>" for c, p in answers[0].rubric)
    model = f"<h2>Model answer</h2><div class='answer'>{_esc(model)}</div>" if model else ""
    rows = "".join(
        f"<tr><td>{student_cell(a)}</td><td>{_esc(a.kind)}</td><td>{_esc(a.auto)}</td>"
        f"<td class='answer'>{_esc(a.text)}</td><td class='flag'>{_esc('; '.join(a.flags))}</td>"
        f"<td>__ / {a.max_points}</td></tr>" for a in answers)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Exercise {_esc(exercise)}</title>"
            f"<style>{PAGE_STYLE}</style></head><body><h1>Exercise {_esc(exercise)}: answers to grade by hand</h1>"
            f"<h2>Rubric</h2><ul>{rubric}</ul>{model}<p>Enter points in manual.csv (column Points).</p>"
            "<table><tr><th>student</th><th>kind</th><th>autograder</th><th>answer</th><th>flags</th><th>points</th></tr>"
            f"{rows}</table></body></html>\n")


def page_name(exercise: str) -> str:
    return f"{file_stem(exercise)}.html" if not re.fullmatch(r"\d+\.\d+", exercise) else f"{exercise}.html"


def index_page(by_exercise: dict[str, list[Answer]]) -> str:
    items = "".join(f"<li><a href='{_esc(page_name(e))}'>Exercise {_esc(e)}</a>: {len(a)} answers, "
                    f"{sum(1 for x in a if x.flags)} flagged</li>" for e, a in by_exercise.items())
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Manual grading</title>"
            f"<style>{PAGE_STYLE}</style></head><body><h1>Manual grading</h1><ul>{items}</ul></body></html>\n")


def write_manual(out_dir: Path, solutions: Path | None = None, previous: Path | None = None) -> list[Answer]:
    """Write OUT/manual.csv and OUT/manual/<exercise>.html; keep points already entered in
    `previous` (default: OUT/manual.csv) for answers that did not change."""
    out_dir = Path(out_dir)
    answers = collect(out_dir, solutions)
    earlier = previous_points(out_dir, answers, Path(previous) if previous else out_dir / "manual.csv")
    write_atomically(out_dir / "manual.csv", manual_csv(answers, earlier))
    by_exercise: dict[str, list[Answer]] = {}
    for answer in answers:
        by_exercise.setdefault(answer.exercise, []).append(answer)
    models = model_answers(out_dir, solutions)
    for exercise, group in by_exercise.items():
        write_atomically(out_dir / "manual" / page_name(exercise), exercise_page(exercise, group, models.get(exercise, "")))
    write_atomically(out_dir / "manual" / "index.html", index_page(by_exercise))
    return answers


def previous_points(out_dir: Path, answers: list[Answer], previous: Path) -> dict:
    """{answer key: row} of an earlier manual.csv. A copy of OUT/manual.csv is kept in
    OUT/manual-before.csv before it is written again; a file that cannot be read stops here
    (ValueError), so that no one's points are overwritten."""
    if not previous.exists():
        return {}
    rows, _ = read_manual(previous)
    if (out_dir / "manual.csv").exists():
        write_atomically(out_dir / "manual-before.csv", _decode(read_regular_file(out_dir / "manual.csv", CSV_CAP)))
    return match_rows(answers, rows)[0]


# --- reading the TA's points back -----------------------------------------------------------

def _decode(data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), else Windows-1252 as spreadsheets save it."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def read_manual(path: Path) -> tuple[dict, list[str]]:
    """{(student cell as one line, exercise, kind): row} from a manual.csv as a spreadsheet saved it (comma,
    semicolon or tab separated), and the problems found. ValueError if it cannot be read at all."""
    try:
        content = _decode(read_regular_file(path, CSV_CAP))
    except Unreadable as err:
        raise ValueError(f"the manual-grading file {path} {err}") from None
    first = content.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    reader = csv.DictReader(io.StringIO(content, newline=""), delimiter=delimiter)
    missing = {"Student", "Exercise", "Kind", "Points"} - set(reader.fieldnames or [])
    if missing:
        raise ValueError(f"the manual-grading file {path} lacks the column(s) {', '.join(sorted(missing))}")
    rows, problems = {}, []
    for line, row in enumerate(reader, 2):
        key = (text(row["Student"] or ""), re.sub(r"^Exercise\s+", "", (row["Exercise"] or "").strip()), (row["Kind"] or "").strip())
        row = {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)}
        row.setdefault("Answer ID", "")
        if key in rows:
            problems.append(f"line {line}: {text(key[0])!r}, exercise {text(key[1])} ({text(key[2])}) appears twice; the first is kept")
            continue
        rows[key] = {**row, "line": line}
    return rows, problems


def parse_points(value: str, max_points: int) -> tuple[float | None, str]:
    """(points, problem): a number within 0..max_points (a decimal comma is accepted)."""
    if not value:
        return None, ""
    try:
        points = float(value.replace(",", ".") if "." not in value else value)
    except ValueError:
        return None, f"{text(value)[:20]!r} is not a number"
    if not 0 <= points <= max_points:
        return None, f"{points:g} is outside 0..{max_points}"
    return points, ""


@dataclass
class Merged:
    """The TA's points merged with the autograder's."""
    points: dict = field(default_factory=dict)      # (student, exercise, kind) -> points
    totals: dict = field(default_factory=dict)      # student -> (total, max): for the LMS export
    pending: dict = field(default_factory=dict)     # student -> answers not marked yet
    problems: list[str] = field(default_factory=list)


def match_rows(answers: list[Answer], rows: dict) -> tuple[dict, list[str]]:
    """{answer key: row}, matching a row's Student cell to the student ID as written (escaped
    or not); problems for rows that match no answer."""
    by_cell = {}
    for form in (text, csv_cell):  # the cell as written wins over the plain text of another ID
        for answer in answers:
            by_cell[(form(answer.student), answer.exercise, answer.kind)] = answer.key
    students = {name for name, _, _ in by_cell}
    matched, problems = {}, []
    for key, row in rows.items():
        if key in by_cell:
            matched[by_cell[key]] = row
        elif key[0] not in students:
            problems.append(f"line {row['line']}: unknown student {text(key[0])[:60]!r}")
        else:
            problems.append(f"line {row['line']}: {text(key[0])[:60]!r} has no {text(key[2])[:20]} answer "
                            f"for exercise {text(key[1])[:20]!r}")
    return matched, problems


def merge(students: list[StudentResult], answers: list[Answer], rows: dict) -> Merged:
    matched, problems = match_rows(answers, rows)
    merged = Merged(problems=problems)
    for answer in answers:
        row = matched.get(answer.key)
        points, problem = parse_points(row["Points"], answer.max_points) if row else (None, "")
        if points is not None and row.get("Answer ID") not in ("", answer.answer_id):
            points, problem = None, "the answer changed after it was marked; mark it again"
        if problem:
            merged.problems.append(f"line {row['line']}: {text(answer.student)[:60]!r}, exercise {answer.exercise}: {problem}")
        if points is None:
            merged.pending[answer.student] = merged.pending.get(answer.student, 0) + 1
        else:
            merged.points[answer.key] = points
    for s in students:
        mine = [a for a in answers if a.student == s.student]
        merged.totals[s.student] = (s.total + sum(merged.points.get(a.key, 0) for a in mine),
                                    s.max_total + sum(a.max_points for a in mine))
    return merged


def gradebook_with_manual(students: list[StudentResult], answers: list[Answer], merged: Merged) -> str:
    columns = list(dict.fromkeys((a.exercise, a.kind, a.max_points) for a in answers))
    rows = [["Student ID", "Autograded", "Autograded max"] + [f"Manual {e} {k} ({m})" for e, k, m in columns]
            + ["Manual pending", "Total", "Max points", "Status"]]
    for s in students:
        manual = [merged.points.get((s.student, e, k), "") for e, k, _ in columns]
        total, max_total = merged.totals[s.student]
        rows.append([s.student, f"{s.total:g}", f"{s.max_total:g}"] + [m if m == "" else f"{m:g}" for m in manual]
                    + [str(merged.pending.get(s.student, 0)), f"{total:g}", f"{max_total:g}", s.status])
    return csv_text(rows)


def merge_manual(out_dir: Path, manual_csv: Path, solutions: Path | None = None) -> Merged:
    """Read the TA's points from manual_csv, check them (numbers within 0..max, known students
    and exercises; every problem is reported in `problems`, none stops the merge), and write
    OUT/gradebook_with_manual.csv. A blank Points cell is pending and counts 0."""
    out_dir = Path(out_dir)
    _, students = read_results(out_dir)
    answers = collect(out_dir, solutions)
    rows, problems = read_manual(Path(manual_csv))
    merged = merge(students, answers, rows)
    merged.problems[:0] = problems
    write_atomically(out_dir / "gradebook_with_manual.csv", gradebook_with_manual(students, answers, merged))
    return merged
