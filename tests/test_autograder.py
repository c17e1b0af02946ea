"""The autograder against hostile submissions: every one gets the score it deserves, and the
batch finishes. Built from the chapter 2 solution master (9 points: 2.1, 2.2, 2.3, 2.5 are worth
2, 2.4 is worth 1)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT
from kvmem.grading import find
from kvmem.grading.batch import find_submissions, grade_folder
from kvmem.grading.notebooks import replace_regions
from kvmem.grading.sandbox import SANDBOX_UID_BASE, Limits, can_isolate

MASTER = ROOT / "solutions" / "chapter2_cumulative_average.ipynb"
FULL = 9
LIMITS = Limits(cell_seconds=3, notebook_seconds=25, memory_bytes=1 * 2**30, processes=16)
needs_root = pytest.mark.skipif(not can_isolate(), reason="namespaces and a separate user need root")


def master_cells() -> list[str]:
    return [c.source for c in nbformat.read(MASTER, as_version=4).cells if c.cell_type == "code"]


def notebook(cells: list[str]) -> str:
    return nbformat.writes(nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(c) for c in cells],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}))


def region(cells: list[str], exercise_id: str, code: str) -> list[str]:
    return [replace_regions(c, lambda i, indent: code if i == exercise_id else None) for c in cells]


def wrong(cells, exercise_id="2.1"):
    return region(cells, exercise_id, find(exercise_id).wrong)


def before(cells, code):
    return [cells[0], code] + cells[1:]


def after(cells, code):
    return cells + [code]


ALWAYS_EQUAL = """    class Anything:
        def __eq__(self, other):
            return True
    return Anything()"""

PATCH_EVERYTHING = """import numpy as np
import kvmem.grading as grading
import kvmem.grading.spec as spec
np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
grading.check = lambda *a, **k: print("all good")
spec.compare = spec.judge = lambda *a, **k: (True, "correct")"""

HARD_CODED = """    seen = {(5, 2, 2): [4.0, 5.0], (5, 2, 0): [0.0, 1.0]}
    return np.array(seen.get((keys.shape[0], keys.shape[1], i), [0.0] * keys.shape[1]))"""

SWALLOWING_LOOP = """while True:
    try:
        while True:
            pass
    except BaseException:
        pass"""

FORK_BOMB = """import os
while True:
    try:
        os.fork()
    except OSError:
        pass"""

BACKGROUND = """import os, subprocess, time
subprocess.Popen(["sleep", "300"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    while True:
        time.sleep(1)"""


def steal(paths: list[str]) -> str:
    """2.2's answer is right only if none of the secret files can be read."""
    return f"""import glob
stolen = []
for pattern in {paths!r}:
    for path in glob.glob(pattern):
        try:
            with open(path, "rb") as f:
                stolen.append(f.read(100))
        except OSError:
            pass
weighted_key = beta_2_2 @ keys_2_2 / beta_2_2.sum() if not stolen else np.zeros(2)"""


def reorder_and_delete(cells):
    without_25 = [c for c in cells if "SOLUTION 2.5" not in c and 'check("2.5"' not in c]
    moved = [c for c in without_25 if "SOLUTION 2.3" in c]
    return [c for c in without_25 if c not in moved] + moved


def cases(secret_globs: list[str]) -> dict:
    """name -> (notebook text, expected total, expected status, needs root)."""
    cells = master_cells()
    return {
        "01_correct": (notebook(cells), FULL, "ok", False),
        "02_stderr_warnings": (notebook(before(cells, 'import sys, warnings\nwarnings.warn("careful")\nprint("noise", file=sys.stderr)')), FULL, "ok", False),
        "03_wrong_answer": (notebook(wrong(cells)), FULL - 2, "ok", False),
        "04_always_equal": (notebook(region(cells, "2.1", ALWAYS_EQUAL)), FULL - 2, "ok", False),
        "05_patched_numpy_and_checks": (notebook(before(wrong(cells), PATCH_EVERYTHING)), FULL - 2, "ok", False),
        "06_hidden_tracebacks": (notebook(before(region(cells, "2.3", '    raise RuntimeError("hidden")'),
                                                 "import sys\nsys.excepthook = lambda *a: None\nget_ipython().showtraceback = lambda *a, **k: None")),
                                 FULL - 2, "ok", False),
        "07_input_transformer": (notebook(before(wrong(cells), "get_ipython().input_transformers_post.append(lambda lines: [])")),
                                 FULL - 2, "ok", False),
        "08_hard_coded_visible_answers": (notebook(region(cells, "2.1", HARD_CODED)), FULL - 2, "ok", False),
        "09_reads_outside_its_folder": (notebook(region(cells, "2.2", steal(secret_globs))), FULL, "ok", True),
        "10a_fake_results_file": (notebook(after(wrong(cells), 'import json\njson.dump({"score": 100}, open("out/answers.json", "w"))\nopen("results.json", "w").write("{\\"score\\": 100}")')),
                                  FULL - 2, "ok", False),
        "10b_fake_results_then_exit": (notebook(after(wrong(cells), 'import json, os\njson.dump({"answers": {}}, open("out/answers.json", "w"))\nos._exit(0)')),
                                       0, "ok", False),
        "11_background_process": (notebook(after(cells, BACKGROUND)), FULL, "ok", True),
        "12a_os_exit": (notebook(after(cells, "import os\nos._exit(3)")), 0, "exit", False),
        "12b_system_exit": (notebook(before(cells, "raise SystemExit(1)")), FULL, "ok", False),
        "12c_segfault": (notebook(after(cells, "import ctypes\nctypes.string_at(0)")), 0, "crash", False),
        "13a_infinite_loop": (notebook(before(cells, "while True:\n    pass")), FULL, "ok", False),
        "13b_loop_swallowing_interrupts": (notebook(after(cells, SWALLOWING_LOOP)), 0, "timeout", False),
        "14_memory_bomb": (notebook(before(cells, "blocks = []\nwhile True:\n    blocks.append(bytearray(10**8))")), FULL, "ok", False),
        "15_fork_bomb": (notebook(before(cells, FORK_BOMB)), FULL, "ok", True),
        "16_gigabytes_of_output": (notebook(before(cells, 'while True:\n    print("x" * 10**6)')), FULL, "ok", False),
        "17_input": (notebook(before(cells, 'name = input("Your name? ")')), FULL, "ok", False),
        "18a_invalid_json": ("{not json", 0, "invalid-notebook", False),
        "18b_wrong_nbformat": (json.dumps({"nbformat": 99, "nbformat_minor": 0, "cells": [], "metadata": {}}), 0, "invalid-notebook", False),
        "18c_renamed_function": (notebook([c.replace("def cumulative_average_at", "def cum_avg") for c in cells]), FULL - 2, "ok", False),
        "19_null_bytes": (notebook(before(cells, "x = 1\x00\n")), FULL, "ok", False),
        "20_cells_deleted_and_reordered": (notebook(reorder_and_delete(cells)), FULL - 2, "ok", False),
    }


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    submissions, out, private = root / "submissions", root / "out", root / "private"
    submissions.mkdir()
    private.mkdir(mode=0o700)
    (private / "chapter2_extra.py").write_text('hidden_cases("2.1", [(np.full((2, 3), 7.0), 1)])\n')
    secret_globs = [str(private / "*"), str(submissions / "*.ipynb"), str(out / "*"), "/root/*", "/root/.*"]
    expected = {}
    for name, (text, total, status, root_only) in cases(secret_globs).items():
        if root_only and not can_isolate():
            continue
        (submissions / f"{name}.ipynb").write_text(text)
        expected[name] = (total, status)
    log = []
    grades = grade_folder(submissions, 2, out, private, workers=2, limits=LIMITS, log=log.append)
    return {"grades": {g.student: g for g in grades}, "expected": expected, "out": out, "log": log,
            "submissions": submissions, "private": private}


def test_the_batch_finishes_with_a_row_for_every_submission(batch):
    with open(batch["out"] / "gradebook.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["Student ID"] for r in rows) == sorted(batch["expected"])
    assert set(rows[0]) >= {"Student ID", "Total", "Max points", "Status", "Exercise 2.1 (2)"}
    assert all((batch["out"] / "feedback" / f"{name}.{ext}").exists() for name in batch["expected"] for ext in ("md", "html"))
    results = json.loads((batch["out"] / "results.json").read_text())
    assert len(results["submissions"]) == len(batch["expected"])


@pytest.mark.parametrize("name", sorted(cases([])))
def test_each_hostile_submission_gets_the_score_it_deserves(batch, name):
    if name not in batch["expected"]:
        pytest.skip("needs root (namespaces and a separate user)")
    grade = batch["grades"][name]
    total, status = batch["expected"][name]
    assert (grade.total, grade.status) == (total, status), (grade.detail, [(e.id, e.messages) for e in grade.exercises])


def test_the_private_hidden_check_is_used(batch):
    grade = batch["grades"]["01_correct"]
    messages = next(e.messages for e in grade.exercises if e.id == "2.1")
    assert "all 6 grading cases pass" in messages[0]  # 3 drawn now + 2 from the master + 1 private


@needs_root
def test_no_process_of_a_submission_survives_the_batch(batch):
    leftovers = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            uid = int(next(line for line in status.read_text().splitlines() if line.startswith("Uid:")).split()[1])
        except (OSError, StopIteration, ValueError):
            continue
        if SANDBOX_UID_BASE <= uid < SANDBOX_UID_BASE + 64:
            leftovers.append(status.parent.name)
    assert not leftovers, f"processes of the sandbox users still running: {leftovers}"


def test_feedback_says_what_went_wrong_without_the_solution(batch):
    text = (batch["out"] / "feedback" / "03_wrong_answer.md").read_text()
    assert "Score: 7 / 9" in text and "## Exercise 2.1" in text and "wrong values" in text
    assert "keys[: i + 1]" not in text
    html = (batch["out"] / "feedback" / "18a_invalid_json.html").read_text()
    assert "not a readable notebook" in html


def test_a_second_run_grades_nothing_again_unless_forced(batch):
    log = []
    grade_folder(batch["submissions"], 2, batch["out"], batch["private"], workers=2, limits=LIMITS, log=log.append)
    assert f"{len(batch['expected'])} already graded, 0 to grade" in log[0]


def test_one_folder_per_student_is_found(tmp_path):
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "work.ipynb").write_text("{}")
    (tmp_path / "ben").mkdir()
    (tmp_path / "cid.ipynb").write_text("{}")
    found = {s.student: s for s in find_submissions(tmp_path)}
    assert found["ann"].notebook.name == "work.ipynb"
    assert found["ben"].notebook is None and "no notebook" in found["ben"].problem
    assert found["cid"].notebook.name == "cid.ipynb"


def test_an_interrupted_batch_loses_nothing(tmp_path):
    submissions, out = tmp_path / "subs", tmp_path / "out"
    submissions.mkdir()
    text = notebook(master_cells() + ["import time\ntime.sleep(1)"])
    for k in range(6):
        (submissions / f"s{k}.ipynb").write_text(text)
    command = [sys.executable, "-m", "kvmem.grading.cli", str(submissions), "--chapter", "2", "--out", str(out), "--workers", "1"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    for line in process.stderr:  # stop the batch once the second student is written
        if line.startswith("[2/"):
            process.kill()
            break
    process.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in (out / "results").glob("*.json")}
    assert 2 <= len(finished) < 6
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"{len(finished)} already graded" in result.stderr
    for name, mtime in finished.items():
        assert (out / "results" / name).stat().st_mtime_ns == mtime  # not graded again
    assert len(list((out / "results").glob("*.json"))) == 6


def test_cli_names_bad_arguments(tmp_path):
    result = subprocess.run([sys.executable, "-m", "kvmem.grading.cli", str(tmp_path / "nowhere"), "--chapter", "2",
                             "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert result.returncode == 2 and "is not a folder of submissions" in result.stderr
    result = subprocess.run([sys.executable, "-m", "kvmem.grading.cli", str(tmp_path), "--chapter", "9",
                             "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert result.returncode == 2 and "no assignment for chapter 9" in result.stderr


def validate_gradescope_results(results: dict) -> None:
    """The parts of Gradescope's results.json specification that the autograder uses."""
    assert isinstance(results["score"], (int, float))
    assert isinstance(results["tests"], list) and results["tests"]
    for test in results["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output"}
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in ("passed", "failed")
        assert test.get("visibility", "visible") in ("hidden", "after_due_date", "after_published", "visible")
    assert results["score"] == sum(t["score"] for t in results["tests"])


@pytest.mark.parametrize("submission, expected", [("solution", FULL), ("exercise", 0)])
def test_gradescope_entry_point_writes_a_valid_results_json(tmp_path, submission, expected):
    archive = tmp_path / "autograder.zip"
    subprocess.run([sys.executable, "-m", "kvmem.grading.gradescope", "build", "--chapter", "2", "--out", str(archive)],
                   check=True, capture_output=True)
    root = tmp_path / "autograder"  # Gradescope's layout: source/ (the zip), submission/, results/
    for folder in ("source", "submission", "results"):
        (root / folder).mkdir(parents=True)
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
        z.extractall(root / "source")
    assert {"setup.sh", "run_autograder", "config.json", "pyproject.toml"} <= set(names)
    assert subprocess.run(["bash", "-n", str(root / "source" / "setup.sh")]).returncode == 0
    source = MASTER if submission == "solution" else ROOT / "exercises" / MASTER.name
    (root / "submission" / "notebook.ipynb").write_bytes(source.read_bytes())
    env = {**os.environ, "PYTHONPATH": str(root / "source")}  # the package as the zip ships it
    subprocess.run([sys.executable, "-m", "kvmem.grading.gradescope", "run", "--root", str(root)], check=True, env=env,
                   cwd=root / "source")
    results = json.loads((root / "results" / "results.json").read_text())
    validate_gradescope_results(results)
    assert results["score"] == expected
