"""Canvas and Moodle exports: the formats' documented header rows, and names that map back to students."""

from __future__ import annotations

import csv
import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from fake_batch import csv_rows, write_batch_output
from kvmem.grading.batch import grade_folder
from kvmem.grading.intake import find_submissions
from kvmem.grading.lms import write_canvas, write_moodle
from kvmem.grading.reports import file_stem

ROOT = Path(__file__).resolve().parent.parent
FORMULA = tuple("=+-@\t\r")
NOW = datetime(2026, 11, 26, 9, 5, tzinfo=timezone.utc)


def students_of(folder: Path, names: list[str], totals: dict[str, dict]) -> list[dict]:
    """Notebooks (or folders holding one) under these names, through the grader's own intake;
    `totals` gives each student's points by the name they were made from."""
    for name in names:
        if name.endswith(".ipynb"):
            (folder / name).write_text("{}", encoding="utf-8")
        else:
            (folder / name).mkdir()
            (folder / name / "chapter2.ipynb").write_text("{}", encoding="utf-8")
    intake = find_submissions(folder)
    made_from = {s.student: next(n for n in names if s.notebook and n in str(s.notebook)) for s in intake.submissions}
    return [{"student": s.student, "notebook": s.notebook, "points": totals.get(made_from[s.student], {}),
             "name": s.name, "lms": s.lms} for s in intake.submissions]


def test_canvas_header_rows_are_the_import_format(tmp_path):
    write_batch_output(tmp_path, [{"student": "ada", "notebook": None, "points": {"2.1": 2}}])
    rows = csv_rows(write_canvas(tmp_path, "Chapter 2 exercises", 10, assignment_id="4711"))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Chapter 2 exercises (4711)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "10"]
    assert rows[2] == ["ada", "", "", "ada", "", f"{round(2 / 9 * 10, 2):g}"]
    assert csv_rows(write_canvas(tmp_path, "Chapter 2 exercises"))[0][-1] == "Chapter 2 exercises"  # a new assignment


def test_moodle_header_row_is_the_grading_worksheet(tmp_path):
    write_batch_output(tmp_path, [{"student": "ada", "notebook": None}])
    rows = csv_rows(write_moodle(tmp_path, now=NOW))
    assert rows[0] == ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum grade",
                       "Grade can be changed", "Last modified (grade)", "Feedback comments"]
    assert rows[1][4:8] == ["0.00", "9.00", "Yes", "Thursday, 26 November 2026, 09:05 AM"]


def test_canvas_and_moodle_download_names_map_back_to_their_students(tmp_path):
    canvas, moodle = "doe_jane_12345_67890_chapter2.ipynb", "Jane Doe_123456_assignsubmission_file_"
    others = ["smithjohn_LATE_222_333_chapter2.ipynb", "John Smith_654321_assignsubmission_file_"]
    (tmp_path / "in").mkdir()
    students = students_of(tmp_path / "in", [canvas, moodle] + others,
                           {canvas: {"2.1": 2}, moodle: {"2.1": 2, "2.3": 2, "2.4": 1}, others[0]: {"2.5": 2}})
    write_batch_output(tmp_path / "out", students)
    canvas_rows = {row[1]: row for row in csv_rows(write_canvas(tmp_path / "out", "Chapter 2"))[2:]}
    assert canvas_rows["12345"][0] == "doe_jane" and canvas_rows["12345"][5] == "2"
    assert canvas_rows["222"][0] == "smithjohn" and canvas_rows["222"][5] == "2"
    moodle_rows = {row[0]: row for row in csv_rows(write_moodle(tmp_path / "out", now=NOW))[1:]}
    assert moodle_rows["Participant 123456"][1] == "Jane Doe" and moodle_rows["Participant 123456"][4] == "5.00"
    assert moodle_rows["Participant 654321"][1] == "John Smith" and moodle_rows["Participant 654321"][4] == "0.00"


def test_unicode_names_survive_both_exports(tmp_path):
    names = ["müller_émile_9_8_kapitel2.ipynb", "Zoë Ñúñez-Łukasz 王_777_assignsubmission_file_"]
    (tmp_path / "in").mkdir()
    write_batch_output(tmp_path / "out", students_of(tmp_path / "in", names, {}))
    assert ["müller_émile", "9"] in [row[:2] for row in csv_rows(write_canvas(tmp_path / "out", "Kapitel 2"))]
    moodle = write_moodle(tmp_path / "out", now=NOW)
    assert ["Participant 777", "Zoë Ñúñez-Łukasz 王"] in [row[:2] for row in csv_rows(moodle)]
    moodle.read_bytes().decode("utf-8")  # valid UTF-8


def test_a_formula_in_a_name_is_never_a_formula_in_the_spreadsheet(tmp_path):
    names = ['=HYPERLINK("evil")_55_assignsubmission_file_', "@SUM(A1)_1_2_x.ipynb", "-1+2.ipynb", "+cmd.ipynb"]
    (tmp_path / "in").mkdir()
    write_batch_output(tmp_path / "out", students_of(tmp_path / "in", names, {}))
    canvas = csv_rows(write_canvas(tmp_path / "out", "=evil assignment"))
    moodle = csv_rows(write_moodle(tmp_path / "out", now=NOW))
    for row in canvas + moodle:
        assert not any(cell.startswith(FORMULA) for cell in row), row
    assert "'=HYPERLINK(\"evil\")" in [row[1] for row in moodle]
    assert "'@SUM(A1)" in [row[0] for row in canvas] and "'-1+2" in [row[3] for row in canvas]


def test_scores_are_rescaled_and_a_grader_error_is_left_blank(tmp_path):
    write_batch_output(tmp_path, [{"student": "a", "notebook": None, "points": {"2.1": 2, "2.2": 2, "2.3": 2, "2.4": 1}},
                                  {"student": "b", "notebook": None, "status": "grader-error"}])
    canvas = {row[0]: row[5] for row in csv_rows(write_canvas(tmp_path, "Ch 2", 100))[2:]}
    assert canvas == {"a": "77.78", "b": ""}  # 7 of 9 points, out of 100
    moodle = {row[1]: row[4:6] for row in csv_rows(write_moodle(tmp_path, 20, now=NOW))[1:]}
    assert moodle == {"a": ["15.56", "20.00"], "b": ["", "20.00"]}


def test_merged_totals_replace_the_autograder_totals(tmp_path):
    write_batch_output(tmp_path, [{"student": "a", "notebook": None, "points": {"2.1": 2}}])
    rows = csv_rows(write_canvas(tmp_path, "Ch 2", totals={"a": (3.0, 10.0)}))
    assert rows[1][5] == "10" and rows[2][5] == "3"
    row = csv_rows(write_moodle(tmp_path, totals={"a": (3.0, 10.0)}, now=NOW))[1]
    assert row[4:6] == ["3.00", "10.00"] and row[8].endswith("With the answers marked by hand: 3 of 10 points.")


def test_a_moodle_folder_without_a_notebook_keeps_its_participant_number(tmp_path):
    (tmp_path / "in" / "Ann Lee_31_assignsubmission_file_").mkdir(parents=True)
    empty = find_submissions(tmp_path / "in").submissions[0]
    assert (empty.student, empty.name, empty.notebook) == ("Participant 31", "Ann Lee", None)
    write_batch_output(tmp_path / "out", [{"student": empty.student, "name": empty.name, "lms": empty.lms,
                                           "notebook": None, "status": "no-notebook"}])
    rows = csv_rows(write_moodle(tmp_path / "out", now=NOW))
    assert rows[1][:5] == ["Participant 31", "Ann Lee", "", "No submission", "0.00"]


def test_a_real_batch_exports_to_both(tmp_path):
    """The grader's intake and batch, then both exports: two Moodle students with the same full
    name and two Canvas students with the same name (one late) are four students, each back
    under their own LMS identifier with their own score."""
    folder = tmp_path / "in"
    solution, exercise = (ROOT / d / "chapter2_cumulative_average.ipynb" for d in ("solutions", "exercises"))
    for participant, notebook in (("123456", exercise), ("654321", solution)):
        (folder / f"Jane Doe_{participant}_assignsubmission_file_").mkdir(parents=True)
        shutil.copy(notebook, folder / f"Jane Doe_{participant}_assignsubmission_file_" / notebook.name)
    shutil.copy(solution, folder / "doe_jane_12345_67890_chapter2.ipynb")
    shutil.copy(exercise, folder / "doe_jane_LATE_12346_67891_chapter2.ipynb")
    grades = grade_folder(folder, 2, tmp_path / "out", workers=2, log=lambda message: None)
    assert sorted((g.student, g.name, g.lms) for g in grades) == [
        ("12345", "doe_jane", "canvas"), ("12346", "doe_jane", "canvas"),
        ("Participant 123456", "Jane Doe", "moodle"), ("Participant 654321", "Jane Doe", "moodle")]
    canvas = {row[1]: row for row in csv_rows(write_canvas(tmp_path / "out", "Chapter 2", 9))[2:]}
    moodle = {row[0]: row for row in csv_rows(write_moodle(tmp_path / "out", now=NOW))[1:]}
    assert {k: (r[0], r[3], r[5]) for k, r in canvas.items() if k} == {"12345": ("doe_jane", "", "9"),
                                                                      "12346": ("doe_jane", "", "0")}
    assert {k: (r[1], r[4]) for k, r in moodle.items() if k} == {"Participant 123456": ("Jane Doe", "0.00"),
                                                                "Participant 654321": ("Jane Doe", "9.00")}
    book = {row["Student ID"]: row for row in csv.DictReader(open(tmp_path / "out" / "gradebook.csv", encoding="utf-8"))}
    assert book["Participant 654321"]["Name"] == "Jane Doe" and book["12346"]["Name"] == "doe_jane"
    feedback = (tmp_path / "out" / "feedback" / f"{file_stem('12346')}.md").read_text()
    assert feedback.startswith("# Feedback: chapter 2 exercises, doe\\_jane (12346)")


def test_exports_of_a_batch_graded_before_identifiers_were_recorded(tmp_path):
    """results.json without name and lms (an older batch, keyed by name): the identifiers are
    read again from the notebooks' download names."""
    (tmp_path / "in" / "Jane Doe_7_assignsubmission_file_").mkdir(parents=True)
    old = {"doe_jane": tmp_path / "in" / "doe_jane_5_6_x.ipynb",
           "Jane Doe": tmp_path / "in" / "Jane Doe_7_assignsubmission_file_" / "x.ipynb"}
    for path in old.values():
        path.write_text("{}")
    write_batch_output(tmp_path / "out", [{"student": k, "notebook": v} for k, v in old.items()])
    summary = json.loads((tmp_path / "out" / "results.json").read_text())
    for entry in summary["submissions"]:
        del entry["name"], entry["lms"]
    (tmp_path / "out" / "results.json").write_text(json.dumps(summary))
    assert ["doe_jane", "5"] in [row[:2] for row in csv_rows(write_canvas(tmp_path / "out", "Ch 2"))]
    assert ["Participant 7", "Jane Doe"] in [row[:2] for row in csv_rows(write_moodle(tmp_path / "out", now=NOW))]


def test_no_results_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="run the batch first"):
        write_canvas(tmp_path, "Chapter 2")


def test_only_ascii_digits_are_lms_identifiers_and_hidden_characters_in_names_are_shown(tmp_path):
    """Hostile download names: an id in another script's digits is no Canvas id (the file is a
    student of its own name), a bidi override in a Moodle name is shown escaped everywhere."""
    (tmp_path / "in").mkdir()
    names = ["anna_\u0661\u0662_\u0663_x.ipynb", "Jane\u202eDoe_5_assignsubmission_file_"]
    students = students_of(tmp_path / "in", names, {})
    assert sorted((s["student"], s["lms"]) for s in students) == [
        ("Participant 5", "moodle"), ("anna_\u0661\u0662_\u0663_x", "")]
    write_batch_output(tmp_path / "out", students)
    moodle = csv_rows(write_moodle(tmp_path / "out", now=NOW))
    assert ["Participant 5", "Jane\\u202eDoe"] in [row[:2] for row in moodle]
    canvas = csv_rows(write_canvas(tmp_path / "out", "Ch 2"))
    assert ["anna_\u0661\u0662_\u0663_x", "", "", "anna_\u0661\u0662_\u0663_x"] in [row[:4] for row in canvas]
    assert "\u202e" not in (tmp_path / "out" / "gradebook.csv").read_text(encoding="utf-8")


def test_a_plain_file_named_like_a_canvas_id_is_that_student_and_the_choice_is_written(tmp_path):
    for name in ("12345.ipynb", "ann_12345_678_chapter2.ipynb"):
        (tmp_path / name).write_text("{}")
    (only,) = find_submissions(tmp_path).submissions
    assert only.student == "12345" and only.notebook.name == "12345.ipynb"
    assert "2 submissions for this student; graded 12345.ipynb, not ann_12345_678_chapter2.ipynb" in only.problem


def test_moodle_files_downloaded_without_folders_are_their_participants(tmp_path):
    names = ["Ann Lee_77_assignsubmission_file_chapter2.ipynb", "Ann Lee_78_assignsubmission_file_chapter2.ipynb",
             "Participant_79_assignsubmission_file_x.ipynb"]  # the last: Moodle's blind marking
    (tmp_path / "in").mkdir()
    students = students_of(tmp_path / "in", names, {names[0]: {"2.1": 2}})
    assert sorted((s["student"], s["name"]) for s in students) == [
        ("Participant 77", "Ann Lee"), ("Participant 78", "Ann Lee"), ("Participant 79", "Participant")]
    write_batch_output(tmp_path / "out", students)
    rows = {row[0]: row[4] for row in csv_rows(write_moodle(tmp_path / "out", now=NOW))[1:]}
    assert rows == {"Participant 77": "2.00", "Participant 78": "0.00", "Participant 79": "0.00"}


def test_a_student_folder_that_cannot_be_read_costs_that_student_only(tmp_path, monkeypatch):
    (tmp_path / "Ann Lee_5_assignsubmission_file_").mkdir()
    (tmp_path / "Bo Li_6_assignsubmission_file_").mkdir()
    (tmp_path / "Bo Li_6_assignsubmission_file_" / "chapter2.ipynb").write_text("{}")
    real_scandir = os.scandir

    def scandir(path):  # as for a folder of mode 000 (root reads it anyway, so it is simulated)
        if "Ann Lee" in str(path):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = {s.student: s for s in find_submissions(tmp_path).submissions}
    assert found["Participant 5"].notebook is None and "cannot be read (Permission denied)" in found["Participant 5"].problem
    assert found["Participant 6"].notebook.name == "chapter2.ipynb"
