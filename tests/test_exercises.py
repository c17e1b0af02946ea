"""Exercises and solutions: one source of truth, checks that give full marks to the solutions,
zero to untouched notebooks, and take the points of deliberately wrong answers."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from conftest import ROOT
from kvmem.grading import ASSIGNMENTS, exercises, find
from kvmem.grading.feedback import visible_checks_pass
from kvmem.grading.grade import grade_submission, hidden_checks
from kvmem.grading.manual import prompts
from kvmem.grading.notebooks import (NotebookFormatError, generate_all, replace_regions, solution_regions,
                                     student_notebook)
from kvmem.grading.sandbox import Limits

SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = {int(p.name[len("chapter")]): p.name for p in sorted(SOLUTIONS.glob("chapter*.ipynb"))}


def test_every_chapter_has_a_solution_master_and_an_exercise_notebook():
    assert sorted(NOTEBOOKS) == sorted(ASSIGNMENTS) == list(range(1, 9))
    for name in NOTEBOOKS.values():
        assert (ROOT / "exercises" / name).exists()


def test_exercises_are_what_the_generator_makes(tmp_path):
    stale = generate_all(SOLUTIONS, ROOT / "exercises", check_only=True)
    assert not stale, f"exercises/ is out of date; run `python -m kvmem.grading.generate`: {stale}"


def test_each_chapter_mixes_at_least_four_graded_exercises_and_an_experiment():
    for chapter, specs in ASSIGNMENTS.items():
        kinds = [ex.kind for ex in specs]
        assert sum(k != "experiment" for k in kinds) >= 4, chapter
        assert "experiment" in kinds and "function" in kinds, chapter
        assert all(ex.id.startswith(f"{chapter}.") for ex in specs)


@pytest.mark.parametrize("chapter", sorted(NOTEBOOKS))
def test_solution_regions_match_the_specifications(chapter):
    notebook = nbformat.read(SOLUTIONS / NOTEBOOKS[chapter], as_version=4)
    ids = [region[0] for cell in notebook.cells if cell.cell_type == "code" for region in solution_regions(cell.source)]
    assert sorted(ids) == sorted(ex.id for ex in exercises(chapter) if ex.kind != "written")
    text = "\n".join(cell.source for cell in notebook.cells)
    for ex in exercises(chapter):
        heading = f"## Exercise {ex.id} ({ex.kind}" if ex.kind in ("experiment", "written") else f"## Exercise {ex.id} ({ex.points} point"
        assert heading in text, f"exercise {ex.id} has no heading with its points"


@pytest.mark.parametrize("chapter", sorted(NOTEBOOKS))
def test_every_chapter_asks_for_a_written_derivation_or_explanation(chapter):
    """At least one Markdown answer per chapter, for a teaching assistant to grade by hand with
    a rubric of two or more criteria."""
    prompt_list, _ = prompts(SOLUTIONS / NOTEBOOKS[chapter])
    assert prompt_list, f"chapter {chapter} has no written answer"
    assert any(len(find(p.exercise.split(" part ")[0]).rubric) >= 2 for p in prompt_list), chapter


@pytest.mark.parametrize("chapter", sorted(NOTEBOOKS))
def test_every_part_graded_by_hand_has_a_rubric_in_its_specification(chapter):
    """Choice justifications and written answers (Markdown answer regions of the master) are
    graded by a teaching assistant against the rubric of their exercise."""
    prompt_list, _ = prompts(SOLUTIONS / NOTEBOOKS[chapter])
    by_hand = {p.exercise.split(" part ")[0] for p in prompt_list} | {ex.id for ex in exercises(chapter) if ex.kind == "choice"}
    for exercise_id in by_hand:
        rubric = find(exercise_id).rubric
        assert rubric and all(points > 0 for _, points in rubric), f"exercise {exercise_id} has no rubric"
    for ex in exercises(chapter):
        if ex.kind == "written":
            assert ex.id in {p.exercise.split(" part ")[0] for p in prompt_list}, f"written exercise {ex.id} has no answer cell"


def test_generator_replaces_solutions_removes_hidden_checks_and_clears_outputs():
    master = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Solutions 2: x\n\nAnswer: <!-- BEGIN SOLUTION -->42<!-- END SOLUTION -->"),
        nbformat.v4.new_code_cell("def f(x):\n    ### BEGIN SOLUTION 2.1\n    return x\n    ### END SOLUTION\n",
                                  outputs=[nbformat.v4.new_output("stream", text="hi")], execution_count=3,
                                  metadata={"tags": ["hide-input"]}),
        nbformat.v4.new_code_cell("hidden_cases('2.1', [])", metadata={"tags": ["hidden-check", "remove-cell"]}),
    ])
    student = student_notebook(master)
    assert len(student.cells) == 2
    assert student.cells[0].source.startswith("# Exercises 2: x") and "42" not in student.cells[0].source
    code = student.cells[1]
    assert code.source == 'def f(x):\n    raise NotImplementedError("Exercise 2.1: return the cumulative-average key at position i")'
    assert code.outputs == [] and code.execution_count is None and "tags" not in code.metadata


@pytest.mark.parametrize("source, problem", [
    ("### BEGIN SOLUTION 2.1\nx = 1\n", "never closed"),
    ("x = 1\n### END SOLUTION\n", "without BEGIN"),
    ("### BEGIN SOLUTION 2.1\n### BEGIN SOLUTION 2.2\n### END SOLUTION\n", "inside the region"),
])
def test_unpaired_markers_are_reported(source, problem):
    with pytest.raises(NotebookFormatError, match=problem):
        solution_regions(source)


def _solution_cells(chapter: int) -> list[nbformat.NotebookNode]:
    return nbformat.read(SOLUTIONS / NOTEBOOKS[chapter], as_version=4).cells


def _with_wrong_answers(chapter: int, tmp_path: Path) -> Path:
    """The solution master with every graded exercise's region replaced by its wrong answer."""
    notebook = nbformat.read(SOLUTIONS / NOTEBOOKS[chapter], as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = replace_regions(cell.source, lambda ex_id, indent: find(ex_id).wrong or f"{indent}pass")
    path = tmp_path / f"wrong{chapter}.ipynb"
    nbformat.write(notebook, path)
    return path


@pytest.fixture(scope="module")
def grading_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("grading")


@pytest.mark.parametrize("chapter", sorted(NOTEBOOKS))
def test_solutions_get_full_marks_and_exercises_get_zero(chapter, grading_folder):
    hidden = hidden_checks([SOLUTIONS / NOTEBOOKS[chapter]])
    solved = grade_submission(SOLUTIONS / NOTEBOOKS[chapter], chapter, "solution", Limits(), grading_folder, hidden=hidden)
    assert solved.status == "ok", solved.detail
    assert solved.total == solved.max_total > 0, [(e.id, e.messages) for e in solved.exercises if not e.passed]
    untouched = grade_submission(ROOT / "exercises" / NOTEBOOKS[chapter], chapter, "untouched", Limits(), grading_folder,
                                 hidden=hidden)
    assert untouched.status == "ok", untouched.detail
    assert untouched.total == 0


@pytest.mark.parametrize("chapter", sorted(NOTEBOOKS))
def test_wrong_answers_lose_their_points(chapter, tmp_path, grading_folder):
    grade = grade_submission(_with_wrong_answers(chapter, tmp_path), chapter, "wrong", Limits(), grading_folder,
                             hidden=hidden_checks([SOLUTIONS / NOTEBOOKS[chapter]]))
    assert grade.status == "ok", grade.detail
    kept = [(e.id, e.points) for e in grade.exercises if e.points]
    assert not kept, f"wrong answers kept points: {kept}"


@pytest.mark.parametrize("exercise", [ex for specs in ASSIGNMENTS.values() for ex in specs if ex.kind in ("function", "value")],
                         ids=lambda ex: ex.id)
def test_visible_check_accepts_the_solution_and_rejects_the_wrong_answer(exercise, capsys):
    cells = [c for c in _solution_cells(exercise.chapter) if c.cell_type == "code"]
    namespace: dict = {}
    right = {}
    for cell in cells:  # run the solution, keeping data cells (keys_2_2, ...) the answers use
        if "hidden-check" in cell.metadata.get("tags", []) or re.search(r"^check\(", cell.source, re.M):
            continue
        exec(compile(cell.source.replace("plt.show()", "plt.close(\"all\")"), "<cell>", "exec"), namespace)
    right = namespace[exercise.name]
    assert visible_checks_pass(exercise.id, right)
    for cell in cells:
        if any(r[0] == exercise.id for r in solution_regions(cell.source)):
            exec(compile(replace_regions(cell.source, lambda i, indent: exercise.wrong if i == exercise.id else ""),
                         "<wrong>", "exec"), namespace)
    assert not visible_checks_pass(exercise.id, namespace[exercise.name])
    assert "Exercise " + exercise.id in capsys.readouterr().out


def _ema_weights_swapped(beta, i):
    """The weights with beta and 1 - beta swapped: beta (1 - beta)^(i - j)."""
    return beta * (1 - beta) ** (i - np.arange(i + 1))


def _bias_corrected_ema_swapped(x, beta):
    """The bias-corrected average with beta and 1 - beta swapped, by a plain loop."""
    swapped, mem, out = 1 - beta, np.zeros(x.shape[1]), np.zeros(x.shape)
    for i in range(x.shape[0]):
        mem = swapped * mem + (1 - swapped) * x[i]
        out[i] = mem / (1 - swapped ** (i + 1))
    return out


@pytest.mark.parametrize("exercise_id, swapped", [("4.1", _ema_weights_swapped), ("4.3", _bias_corrected_ema_swapped)])
def test_visible_checks_tell_beta_from_one_minus_beta(exercise_id, swapped, capsys):
    assert not visible_checks_pass(exercise_id, swapped)
    assert "0.8" in capsys.readouterr().out  # the beta = 0.8 case is the one that catches it


def test_check_explains_problems_in_plain_words(capsys):
    visible_checks_pass("2.1", lambda keys, i: keys[: i + 1])
    assert "should have shape (2,), got (3, 2)" in capsys.readouterr().out
    def stub(keys, i):
        raise NotImplementedError("Exercise 2.1: ...")
    visible_checks_pass("2.1", stub)
    assert "not answered yet" in capsys.readouterr().out
    visible_checks_pass("1.3", "E", "because it is so")
    assert "should be one of the letters A, B, C, D" in capsys.readouterr().out
    visible_checks_pass("1.3", "C", "")
    assert "justification" in capsys.readouterr().out


def test_nbval_passes_on_the_solutions_three_times_in_a_row():
    for run in range(3):
        result = subprocess.run([sys.executable, "-m", "pytest", "--nbval", "-q", "-p", "no:cacheprovider",
                                 str(SOLUTIONS)], cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, f"nbval run {run + 1}:\n{result.stdout[-3000:]}"
