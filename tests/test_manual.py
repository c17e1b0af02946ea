"""Manual grading: written answers and justifications collected, shown escaped, and the TA's points merged."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import nbformat
import pytest

from fake_batch import csv_rows, write_batch_output
from kvmem.grading.manual import MAX_ANSWER, merge_manual, write_manual
from kvmem.grading.notebooks import MD_STUB, student_notebook

FORMULA = tuple("=+-@\t\r")
# The written exercises of this fake master, 2.97 and 2.98, have no specification, so they get
# the default rubric (2 points); the real chapter 2 has written exercises of its own.
PROMPT_27 = "## Exercise 2.97 (written): why the average forgets nothing\n\nExplain in two sentences."


def master() -> nbformat.NotebookNode:
    """A chapter 2 master with two written answers: one inside its prompt cell, one in a cell of
    its own, and a hidden-check cell before them (the student notebook has one cell less)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Solutions 2: test"),
                nbformat.v4.new_code_cell("hidden_cases('2.1', [])", metadata={"tags": ["hidden-check"]}),
                nbformat.v4.new_markdown_cell(PROMPT_27 + "\n\n<!-- BEGIN SOLUTION -->\nEvery token keeps 1/(i+1).\n"
                                              "<!-- END SOLUTION -->\n\nThen run the next cell."),
                nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_markdown_cell("## Exercise 2.98 (written): derive the recursion\n\nDerive it."),
                nbformat.v4.new_markdown_cell("<!-- BEGIN SOLUTION -->\nMem_i = Mem_{i-1} + (k_i - Mem_{i-1})/(i+1)\n"
                                              "<!-- END SOLUTION -->")]
    return nb


@pytest.fixture
def course(tmp_path) -> dict:
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    nbformat.write(master(), solutions / "chapter2_written.ipynb")
    handout = student_notebook(master())
    return {"root": tmp_path, "solutions": solutions, "handout": handout, "out": tmp_path / "out"}


def answered(handout, answer_27: str | None = None, answer_28: str | None = None):
    """The handed-out notebook with answers written in place of the prompts."""
    nb = copy.deepcopy(handout)
    if answer_27 is not None:
        nb.cells[1].source = nb.cells[1].source.replace(MD_STUB, answer_27)
    if answer_28 is not None:
        nb.cells[4].source = answer_28
    return nb


def save(course, name: str, nb) -> Path:
    path = course["root"] / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def run(course, students: list[dict]) -> dict:
    """Batch output for these students, then manual.csv; {(student, exercise, kind): row}."""
    write_batch_output(course["out"], students)
    write_manual(course["out"], course["solutions"])
    header, *rows = csv_rows(course["out"] / "manual.csv")
    return {(r[0], r[1], r[2]): dict(zip(header, r)) for r in rows}


def test_written_answers_and_justifications_are_collected(course):
    handout = course["handout"]
    ada = save(course, "ada", answered(handout, "The weights are all 1/(i+1), so no token is ever dropped.",
                                       "Split off the last term of the sum and divide by i+1."))
    late = answered(handout)  # answers in cells added after the prompts, ids kept
    late.cells.insert(2, nbformat.v4.new_markdown_cell("Old tokens keep their weight 1/(i+1) forever."))
    bob = save(course, "bob", late)
    rows = run(course, [
        {"student": "ada", "notebook": ada, "points": {"2.4": 1}, "why": {"2.4": "Each token enters with the same factor."}},
        {"student": "bob", "notebook": bob, "why": {"2.4": "Because."}},
        {"student": "cy", "notebook": None, "status": "no-notebook"}])
    assert rows[("ada", "Exercise 2.97", "written")]["Answer"] == "The weights are all 1/(i+1), so no token is ever dropped."
    assert rows[("ada", "Exercise 2.98", "written")]["Answer"] == "Split off the last term of the sum and divide by i+1."
    assert rows[("bob", "Exercise 2.97", "written")]["Answer"] == "Old tokens keep their weight 1/(i+1) forever."
    assert rows[("bob", "Exercise 2.98", "written")]["Flags"] == "empty"
    assert rows[("ada", "Exercise 2.4", "justification")]["Flags"] == ""
    assert rows[("bob", "Exercise 2.4", "justification")]["Flags"] == "shorter than a sentence"
    assert rows[("cy", "Exercise 2.4", "justification")]["Flags"].startswith("empty; not collected")
    assert "no notebook" in rows[("cy", "Exercise 2.97", "written")]["Flags"]
    assert {r["Points"] for r in rows.values()} == {""} and len(rows) == 9
    assert rows[("ada", "Exercise 2.97", "written")]["Max points"] == "2"
    assert rows[("ada", "Exercise 2.4", "justification")]["Rubric"].startswith("names the mechanism")
    pages = {name: (course["out"] / "manual" / f"{name}.html").read_text(encoding="utf-8") for name in ("2.4", "2.97", "2.98")}
    assert "<h2>Model answer</h2><div class='answer'>Every token keeps 1/(i+1).</div>" in pages["2.97"]
    assert "Mem_i = Mem_{i-1} + (k_i - Mem_{i-1})/(i+1)" in pages["2.98"]
    assert "right choice: C: they weigh the same, 1/1000" in pages["2.4"]
    assert all(page.count("<tr>") == 4 for page in pages.values())  # the header and three students


def test_an_answer_cell_is_found_without_ids_by_its_prompt(course):
    nb = json.loads(nbformat.writes(answered(course["handout"], "Nothing is forgotten: all weights equal 1/(i+1).")))
    for cell in nb["cells"]:
        del cell["id"]
    nb["nbformat_minor"] = 4
    nb["cells"].insert(0, {"cell_type": "markdown", "metadata": {}, "source": ["A note of my own."]})
    path = course["root"] / "old.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    rows = run(course, [{"student": "old", "notebook": path}])
    assert rows[("old", "Exercise 2.97", "written")]["Answer"] == "Nothing is forgotten: all weights equal 1/(i+1)."


def test_an_answer_found_only_by_position_or_not_at_all_is_flagged(course):
    moved = answered(course["handout"], "My own text, the prompt deleted.")
    moved.cells[1].id, moved.cells[1].source = "new-id-1", "My own text, the prompt deleted."
    emptied = copy.deepcopy(course["handout"])
    emptied.cells = [c for c in emptied.cells if c.cell_type == "code"]
    rows = run(course, [{"student": "moved", "notebook": save(course, "moved", moved)},
                        {"student": "emptied", "notebook": save(course, "emptied", emptied)}])
    assert rows[("moved", "Exercise 2.97", "written")]["Answer"] == "My own text, the prompt deleted."
    assert "found by its position only" in rows[("moved", "Exercise 2.97", "written")]["Flags"]
    assert rows[("emptied", "Exercise 2.97", "written")]["Flags"] == "empty; answer cell not found"


def test_two_answer_cells_of_one_exercise_are_two_rows(course):
    two = master()
    two.cells.append(nbformat.v4.new_markdown_cell("And now the other way round.\n\n<!-- BEGIN SOLUTION -->\nx\n<!-- END SOLUTION -->"))
    nbformat.write(two, course["solutions"] / "chapter2_written.ipynb")
    handout = student_notebook(two)
    handout.cells[-1].source = "And now the other way round.\n\nThe recursion read backwards gives the sum."
    rows = run(course, [{"student": "ada", "notebook": save(course, "ada", handout)}])
    assert rows[("ada", "Exercise 2.98 part 2", "written")]["Answer"] == "The recursion read backwards gives the sum."
    assert rows[("ada", "Exercise 2.98", "written")]["Flags"] == "empty"


def test_hostile_text_is_escaped_in_the_pages_and_the_csv(course):
    attack = ('<script>alert(1)</script><img src=x onerror=alert(2)> [click](javascript:alert(3)) '
              '</td></tr></table><h1>Full marks</h1>')
    path = save(course, "mallory", answered(course["handout"], attack, "=HYPERLINK(\"http://evil\", \"x\")"))
    rows = run(course, [{"student": "<b>mallory</b>", "notebook": path, "why": {"2.4": "-1+2 <script>x</script>"}}])
    page = (course["out"] / "manual" / "2.97.html").read_text(encoding="utf-8")
    assert "<script" not in page and "<img" not in page and "<h1>Full marks" not in page and "<b>mallory" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;mallory&lt;/b&gt;" in page
    assert "<a " not in page and page.count("<table>") == 1 and page.count("</table>") == 1
    assert "<script" not in (course["out"] / "manual" / "2.4.html").read_text(encoding="utf-8")
    for row in csv_rows(course["out"] / "manual.csv"):
        assert not any(cell.startswith(FORMULA) for cell in row), row
    assert rows[("<b>mallory</b>", "Exercise 2.98", "written")]["Answer"] == "'=HYPERLINK(\"http://evil\", \"x\")"


def test_a_huge_answer_is_cut_with_a_note(course):
    path = save(course, "long", answered(course["handout"], "word " * 50_000))
    row = run(course, [{"student": "long", "notebook": path}])[("long", "Exercise 2.97", "written")]
    assert len(row["Answer"]) < MAX_ANSWER + 100 and "cut: 249999 characters in all" in row["Answer"]
    assert "truncated (249999 characters)" in row["Flags"]
    page = (course["out"] / "manual" / "2.97.html").read_text(encoding="utf-8")
    assert len(page) < 3 * MAX_ANSWER + 5000


def test_bytes_that_are_not_utf8_and_lone_surrogates_become_replacement_characters(course):
    text = nbformat.writes(answered(course["handout"], "café MARK1 and MARK2 MARK3"))
    raw = text.encode("utf-8").replace(b"MARK1", b"\xff\xfe").replace(b"MARK2", b"\\ud800").replace(b"MARK3", b"\xc3")
    path = course["root"] / "bytes.ipynb"
    path.write_bytes(raw)
    rows = run(course, [{"student": "bytes", "notebook": path}])
    assert rows[("bytes", "Exercise 2.97", "written")]["Answer"] == "café \ufffd\ufffd and \ufffd \ufffd"
    (course["out"] / "manual" / "2.97.html").read_bytes().decode("utf-8")


def test_a_notebook_that_is_not_json_or_changed_since_grading_is_flagged(course):
    broken = course["root"] / "broken.ipynb"
    broken.write_text("{" * 100_000, encoding="utf-8")
    changed = save(course, "changed", answered(course["handout"], "First version of my answer here."))
    write_batch_output(course["out"], [{"student": "broken", "notebook": broken}, {"student": "changed", "notebook": changed}])
    save(course, "changed", answered(course["handout"], "Second version, written after grading."))
    write_manual(course["out"], course["solutions"])
    header, *rows = csv_rows(course["out"] / "manual.csv")
    flags = {(r[0], r[1], r[2]): r[4] for r in rows}
    assert "the notebook could not be read" in flags[("broken", "Exercise 2.97", "written")]
    assert "the notebook changed since it was graded" in flags[("changed", "Exercise 2.97", "written")]


def ta_fills(course, points: dict, extra_rows: list[list[str]] = (), delimiter=",", encoding="utf-8") -> Path:
    """The TA's copy of manual.csv with points entered: {(student, exercise, kind): points}."""
    header, *rows = csv_rows(course["out"] / "manual.csv")
    for row in rows:
        row[5] = points.get((row[0], row[1], row[2]), "")
    lines = [header] + rows + [list(r) for r in extra_rows]
    path = course["root"] / "ta.csv"
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows(lines)
    return path


def test_the_tas_points_merge_into_the_gradebook_and_bad_entries_are_reported(course):
    ada = save(course, "ada", answered(course["handout"], "All weights are 1/(i+1) forever.", "Split the sum."))
    bob = save(course, "bob", answered(course["handout"], "Weights never change at all.", "Divide by i plus one."))
    run(course, [{"student": "ada", "notebook": ada, "points": {"2.1": 2, "2.4": 1}, "why": {"2.4": "Same factor for all."}},
                 {"student": "bob", "notebook": bob, "points": {"2.2": 2}, "why": {"2.4": "Recent ones count more."}}])
    path = ta_fills(course, {("ada", "Exercise 2.97", "written"): "2", ("ada", "Exercise 2.98", "written"): "1,5",
                             ("ada", "Exercise 2.4", "justification"): "1",
                             ("bob", "Exercise 2.97", "written"): "5", ("bob", "Exercise 2.98", "written"): "abc",
                             ("bob", "Exercise 2.4", "justification"): "-1"},
                    extra_rows=[["eve", "Exercise 2.97", "written", "", "", "2"],
                                ["ada", "Exercise 9.9", "written", "", "", "1"],
                                ["ada", "Exercise 2.97", "written", "", "", "0"]])
    merged = merge_manual(course["out"], path, course["solutions"])
    assert merged.points == {("ada", "2.97", "written"): 2.0, ("ada", "2.98", "written"): 1.5,
                             ("ada", "2.4", "justification"): 1.0}
    assert merged.totals == {"ada": (3 + 4.5, 9 + 5), "bob": (2, 9 + 5)}
    assert merged.pending == {"bob": 3}
    problems = "\n".join(merged.problems)
    for words in ("5 is outside 0..2", "'abc' is not a number", "-1 is outside 0..1", "unknown student 'eve'",
                  "no written answer for exercise '9.9'", "appears twice"):
        assert words in problems, words
    book = {r[0]: r for r in csv_rows(course["out"] / "gradebook_with_manual.csv")}
    assert book["Student ID"] == ["Student ID", "Autograded", "Autograded max", "Manual 2.97 written (2)",
                                  "Manual 2.98 written (2)", "Manual 2.4 justification (1)", "Manual pending", "Total",
                                  "Max points", "Status"]
    assert book["ada"] == ["ada", "3", "9", "2", "1.5", "1", "0", "7.5", "14", "ok"]
    assert book["bob"] == ["bob", "2", "9", "", "", "", "3", "2", "14", "ok"]


def test_points_given_to_an_earlier_answer_are_not_merged(course):
    path = save(course, "ada", answered(course["handout"], "Every weight stays 1/(i+1)."))
    run(course, [{"student": "ada", "notebook": path}])
    ta = ta_fills(course, {("ada", "Exercise 2.97", "written"): "2"})
    save(course, "ada", answered(course["handout"], "A different answer, resubmitted after marking."))
    write_batch_output(course["out"], [{"student": "ada", "notebook": path}])
    merged = merge_manual(course["out"], ta, course["solutions"])
    assert merged.points == {} and "the answer changed after it was marked" in merged.problems[0]


def test_a_spreadsheets_semicolons_and_windows_encoding_are_read(course):
    path = save(course, "zoë", answered(course["handout"], "Every weight stays 1/(i+1).", "Split the sum off."))
    run(course, [{"student": "zoë", "notebook": path}])
    ta = ta_fills(course, {("zoë", "Exercise 2.97", "written"): "1"}, delimiter=";", encoding="cp1252")
    assert merge_manual(course["out"], ta, course["solutions"]).points == {("zoë", "2.97", "written"): 1.0}


def test_a_formula_like_student_id_matches_its_escaped_cell(course):
    path = save(course, "f", answered(course["handout"], "Every weight stays 1/(i+1)."))
    run(course, [{"student": "=1+1", "notebook": path}])
    ta = ta_fills(course, {("'=1+1", "Exercise 2.97", "written"): "2"})
    assert merge_manual(course["out"], ta, course["solutions"]).points == {("=1+1", "2.97", "written"): 2.0}


def test_points_survive_the_next_run_unless_the_answer_changed(course):
    path = save(course, "ada", answered(course["handout"], "Every weight stays 1/(i+1).", "Split the sum off."))
    run(course, [{"student": "ada", "notebook": path}])
    ta = ta_fills(course, {("ada", "Exercise 2.97", "written"): "2", ("ada", "Exercise 2.98", "written"): "1"})
    save(course, "ada", answered(course["handout"], "Every weight stays 1/(i+1).", "A new derivation after marking."))
    write_batch_output(course["out"], [{"student": "ada", "notebook": path}])  # graded again
    write_manual(course["out"], course["solutions"], previous=ta)
    rows = {(r[1]): r for r in csv_rows(course["out"] / "manual.csv")[1:]}
    assert rows["Exercise 2.97"][5] == "2"
    assert rows["Exercise 2.98"][5] == "" and "the answer changed after it was marked (1 points then)" in rows["Exercise 2.98"][4]


def test_an_unreadable_manual_file_is_a_clear_error_and_is_not_overwritten(course):
    run(course, [{"student": "ada", "notebook": None}])
    bad = course["out"] / "manual.csv"
    bad.write_text("just some notes\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lacks the column"):
        merge_manual(course["out"], bad, course["solutions"])
    with pytest.raises(ValueError, match="lacks the column"):
        write_manual(course["out"], course["solutions"])
    assert bad.read_text(encoding="utf-8") == "just some notes\n"


def test_two_students_with_the_same_name_are_two_rows_and_get_their_own_points(course):
    """Moodle students keyed by participant (as the intake keys them), both named Jane Doe."""
    first = save(course, "first", answered(course["handout"], "Every weight stays 1/(i+1)."))
    second = save(course, "second", answered(course["handout"], "Old tokens fade away."))
    rows = run(course, [{"student": "Participant 11", "name": "Jane Doe", "lms": "moodle", "notebook": first},
                        {"student": "Participant 12", "name": "Jane Doe", "lms": "moodle", "notebook": second}])
    written = {k[0]: r for k, r in rows.items() if k[1:] == ("Exercise 2.97", "written")}
    assert {k: (r["Name"], r["Answer"]) for k, r in written.items()} == {
        "Participant 11": ("Jane Doe", "Every weight stays 1/(i+1)."), "Participant 12": ("Jane Doe", "Old tokens fade away.")}
    page = (course["out"] / "manual" / "2.97.html").read_text()
    assert page.count("Participant 1") == 2 and page.count("<br>Jane Doe") == 2
    path = ta_fills(course, {("Participant 11", "Exercise 2.97", "written"): "2",
                             ("Participant 12", "Exercise 2.97", "written"): "0"})
    merged = merge_manual(course["out"], path, course["solutions"])
    assert merged.points[("Participant 11", "2.97", "written")] == 2 and merged.points[("Participant 12", "2.97", "written")] == 0
    assert not merged.problems
