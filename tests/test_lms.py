"""Canvas and Moodle exports: the formats' documented header rows, and names that map back to students."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from fake_batch import csv_rows, write_batch_output
from kvmem.grading.batch import grade_folder
from kvmem.grading.intake import find_submissions
from kvmem.grading.lms import write_canvas, write_moodle

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
    return [{"student": s.student, "notebook": s.notebook, "points": totals.get(made_from[s.student], {})}
            for s in intake.submissions]


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
    write_batch_output(tmp_path / "out", [{"student": "Ann Lee", "notebook": None, "status": "no-notebook"}])
    rows = csv_rows(write_moodle(tmp_path / "out", submissions=tmp_path / "in", now=NOW))
    assert rows[1][:5] == ["Participant 31", "Ann Lee", "", "No submission", "0.00"]


def test_a_real_batch_exports_to_both(tmp_path):
    """The grader's intake and batch, then both exports: a full-marks Canvas download and an
    empty Moodle submission come back under their LMS identities with their own scores."""
    folder = tmp_path / "in"
    (folder / "Jane Doe_123456_assignsubmission_file_").mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / "chapter2_cumulative_average.ipynb", folder / "doe_jane_12345_67890_chapter2.ipynb")
    shutil.copy(ROOT / "exercises" / "chapter2_cumulative_average.ipynb",
                folder / "Jane Doe_123456_assignsubmission_file_" / "chapter2_cumulative_average.ipynb")
    grade_folder(folder, 2, tmp_path / "out", workers=2, log=lambda message: None)
    canvas = {row[1]: row[5] for row in csv_rows(write_canvas(tmp_path / "out", "Chapter 2", 9))[2:] if row[1]}
    moodle = {row[0]: row[4] for row in csv_rows(write_moodle(tmp_path / "out", now=NOW))[1:] if row[0]}
    assert canvas == {"12345": "9"} and moodle == {"Participant 123456": "0.00"}


def test_no_results_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="run the batch first"):
        write_canvas(tmp_path, "Chapter 2")
