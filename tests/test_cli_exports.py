"""kvmem-grade's exports, end to end: a tiny batch (the chapter 2 solution and the untouched
exercise notebook) graded by the command line with --lms canvas, then the TA's points entered in
manual.csv and merged with --manual (and exported to Moodle)."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys

from conftest import ROOT
from kvmem.grading import exercises

NOTEBOOK = "chapter2_cumulative_average.ipynb"


def rows(path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def grade(submissions, out, *extra) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "kvmem.grading.cli", str(submissions), "--chapter", "2",
                             "--out", str(out), "--workers", "1", *extra], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_lms_and_manual_exports_from_the_command_line(tmp_path):
    submissions, out = tmp_path / "subs", tmp_path / "grades"
    submissions.mkdir()
    shutil.copy(ROOT / "solutions" / NOTEBOOK, submissions / "ann.ipynb")
    shutil.copy(ROOT / "exercises" / NOTEBOOK, submissions / "bob.ipynb")

    grade(submissions, out, "--lms", "canvas", "--lms-assignment", "Chapter 2", "--lms-points", "18")
    canvas = rows(out / "canvas.csv")
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Chapter 2"]
    assert canvas[1][0] == "Points Possible" and canvas[1][5] == "18"
    assert {r[3]: r[5] for r in canvas[2:]} == {"ann": "18", "bob": "0"}  # 9/9 and 0/9, out of 18
    assert (out / "manual" / "2.4.html").is_file() and (out / "manual" / "index.html").is_file()

    # the TA marks ann's justification of 2.4 (1 point) and leaves bob's empty one blank
    manual = rows(out / "manual.csv")
    header = manual[0]
    by_student = {r[0]: r for r in manual[1:] if r[1] == "Exercise 2.4" and r[2] == "justification"}
    assert by_student["bob"][header.index("Flags")] == "empty"
    by_student["ann"][header.index("Points")] = "1"
    with open(out / "manual.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(manual)

    result = grade(submissions, out, "--manual", str(out / "manual.csv"), "--lms", "moodle")
    assert "2 already graded, 0 to grade" in result.stderr
    gradebook = rows(out / "gradebook_with_manual.csv")
    columns = gradebook[0]
    ann = dict(zip(columns, next(r for r in gradebook[1:] if r[0] == "ann")))
    bob = dict(zip(columns, next(r for r in gradebook[1:] if r[0] == "bob")))
    # out of the automatic points plus every rubric's (a choice's justification, a written answer)
    most = sum(ex.points + ex.manual_points for ex in exercises(2))
    assert ann["Manual 2.4 justification (1)"] == "1" and ann["Total"] == "10" and ann["Max points"] == str(most)
    assert bob["Manual 2.4 justification (1)"] == "" and bob["Manual pending"] == str(sum(bool(ex.rubric) for ex in exercises(2))) and bob["Total"] == "0"
    moodle = {r[1]: r for r in rows(out / "moodle.csv")[1:]}
    assert moodle["ann"][4:6] == ["10.00", f"{most:.2f}"]
    # the TA's point survives the rewrite of manual.csv that every run does
    kept = {r[0]: r for r in rows(out / "manual.csv")[1:] if r[1] == "Exercise 2.4"}
    assert kept["ann"][header.index("Points")] == "1"
