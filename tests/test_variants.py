"""Per-student variants: each student's own numbers (2.2) and option order (2.4), judged on the
student's variant ID (made from the file's student ID and the instructor's salt)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re

import nbformat
import numpy as np
import pytest

from conftest import ROOT
from kvmem.grading import check, find, variant
from kvmem.grading.batch import grade_folder, replay
from kvmem.grading.grade import grade_submission
from kvmem.grading.reports import markdown
from kvmem.grading.sandbox import Limits
from kvmem.grading.spec import judge
from kvmem.grading.variant_ids import main as print_variant_ids
from kvmem.grading.variant_ids import variant_id
from kvmem.variants import BOOK, SHUFFLED

MASTER = ROOT / "solutions" / "chapter2_cumulative_average.ipynb"
SALT = "pepper-2026-autumn"
BOOK_KEY = np.array([14.0, 26.0]) / 10  # (1*[4,0] + 2*[0,4] + 3*[2,2] + 4*[1,3]) / (1+2+3+4), by hand
RIGHT_TEXT = "they weigh the same, 1/1000"


def weighted_key(student_id):
    """Exercise 2.2 from its definition: sum_j beta_j k_j / sum_j beta_j."""
    keys, beta = variant("2.2", student_id)
    return (beta[:, None] * keys).sum(axis=0) / beta.sum()


def right_letter(student_id):
    """The letter the student sees in front of the right option (read from the printed options)."""
    shown = find("2.4").shown_options(student_id)
    return next(line[0] for line in shown if line.endswith(RIGHT_TEXT))


def two_students():
    """Two students of the course (under SALT) whose right letters in 2.4 differ."""
    for a, b in itertools.combinations([f"student{k}" for k in range(40)], 2):
        if right_letter(variant_id(a, SALT)) != right_letter(variant_id(b, SALT)):
            return a, b
    raise AssertionError("no two students with different option orders")


ALICE, BOB = two_students()


def test_without_an_id_the_book_numbers_and_order_are_used():
    keys, beta = variant("2.2", "")
    assert keys.tolist() == [[4, 0], [0, 4], [2, 2], [1, 3]] and beta.tolist() == [1, 2, 3, 4]
    assert judge(find("2.2"), BOOK_KEY)[0]
    assert find("2.4").shown_options("") == list(find("2.4").options)
    assert right_letter("") == find("2.4").reference == "C"


def test_variant_ids_are_an_hmac_of_the_student_id_with_the_salt(tmp_path, capsys):
    expected = hmac.new(SALT.encode(), b"alice", hashlib.sha256).hexdigest()[:6]
    assert variant_id("Alice ", SALT) == f"Alice-{expected}"
    assert variant_id("alice", SALT) != variant_id("alice", SALT + "x")
    assert variant_id("alice", "") == ""
    (tmp_path / "salt").write_text(SALT + "\n")
    assert print_variant_ids(["--salt-file", str(tmp_path / "salt"), "alice"]) == 0
    assert capsys.readouterr().out == f"alice\talice-{expected}\n"


def test_two_students_see_different_numbers_and_only_their_own_answer_passes():
    a, b = variant_id(ALICE, SALT), variant_id(BOB, SALT)
    assert not np.array_equal(variant("2.2", a)[0], variant("2.2", b)[0])
    assert np.array_equal(variant("2.2", a)[0], variant("2.2", a.upper())[0])  # case does not matter
    assert not np.allclose(weighted_key(a), weighted_key(b))
    exercise = find("2.2")
    assert judge(exercise, weighted_key(a), student_id=a)[0] and judge(exercise, weighted_key(b), student_id=b)[0]
    assert not judge(exercise, weighted_key(b), student_id=a)[0]
    assert not judge(exercise, weighted_key(a), student_id=b)[0]
    assert not judge(exercise, BOOK_KEY, student_id=a)[0]


def test_each_student_scores_with_their_own_letter():
    a, b = variant_id(ALICE, SALT), variant_id(BOB, SALT)
    exercise = find("2.4")
    assert judge(exercise, right_letter(a), student_id=a)[0] and judge(exercise, right_letter(b), student_id=b)[0]
    assert not judge(exercise, right_letter(b), student_id=a)[0]
    assert not judge(exercise, right_letter(a), student_id=b)[0]


def test_check_judges_on_the_notebooks_id_and_never_shows_the_answer(capsys):
    a, b = variant_id(ALICE, SALT), variant_id(BOB, SALT)
    check("2.2", weighted_key(a), student_id=a)
    check("2.2", weighted_key(b), student_id=a)
    check("2.4", right_letter(a), "Each token enters with the same weight.", student_id=a)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Exercise 2.2: correct."
    assert "wrong values" in lines[1]
    assert "graded when you submit" in lines[2]
    assert set(re.findall(r"\d+\.\d*", "\n".join(lines))) <= {"2.2", "2.4"}  # no number but the exercises' ids


def student_notebook(path, student_id, letter):
    """The solution master as a student would hand it in: their STUDENT_ID, their letter in 2.4
    (2.2's answer is computed by the notebook's own code from the numbers it shows)."""
    notebook = nbformat.read(MASTER, as_version=4)
    for cell in notebook.cells:
        cell.source = cell.source.replace('STUDENT_ID = ""', f"STUDENT_ID = {student_id!r}")
        cell.source = cell.source.replace('weight_choice = "C"', f"weight_choice = {letter!r}")
    nbformat.write(notebook, path)
    return path


def points(grade):
    return {e.id: e.points for e in grade.exercises if e.id in ("2.2", "2.4")}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return tmp_path_factory.mktemp("grading")


def test_the_grader_grades_each_student_on_their_own_variant(tmp_path, base):
    a, b = variant_id(ALICE, SALT), variant_id(BOB, SALT)
    alice = student_notebook(tmp_path / "alice.ipynb", a, right_letter(a))
    own = grade_submission(alice, 2, ALICE, Limits(), base, variant_id=a)
    assert own.status == "ok" and own.total == own.max_total, [(e.id, e.messages) for e in own.exercises]
    assert not own.id_mismatch and own.recorded_id == a
    copied = grade_submission(alice, 2, BOB, Limits(), base, variant_id=b)  # Bob hands in Alice's notebook
    assert points(copied) == {"2.2": 0, "2.4": 0}
    assert copied.status == "ok" and copied.id_mismatch and a in copied.detail and b in copied.detail
    published = grade_submission(MASTER, 2, BOB, Limits(), base, variant_id=b)  # the book's solution, unchanged
    lost = {e.id for e in published.exercises if not e.passed}
    assert "2.2" in lost and lost <= set(BOOK) | SHUFFLED and published.id_mismatch  # only the variants lose


def test_a_batch_with_a_salt_uses_the_file_names_id_and_flags_a_wrong_recorded_id(tmp_path):
    a, b = variant_id(ALICE, SALT), variant_id(BOB, SALT)
    folder = tmp_path / "submissions"
    folder.mkdir()
    student_notebook(folder / f"{ALICE}.ipynb", a, right_letter(a))
    student_notebook(folder / f"{BOB}.ipynb", a, right_letter(a))  # Bob copied Alice's notebook, ID and all
    grades = {g.student: g for g in grade_folder(folder, 2, tmp_path / "out", workers=1, log=lambda m: None, salt=SALT)}
    assert grades[ALICE].total == grades[ALICE].max_total and not grades[ALICE].id_mismatch
    assert points(grades[BOB]) == {"2.2": 0, "2.4": 0} and grades[BOB].id_mismatch and grades[BOB].status == "ok"
    results = {s["student"]: s for s in json.loads((tmp_path / "out" / "results.json").read_text())["submissions"]}
    assert results[BOB]["id_mismatch"] and results[BOB]["variant_id"] == b
    feedback = next((tmp_path / "out" / "feedback").glob(f"{BOB}*.md")).read_text()
    assert markdown("STUDENT_ID") in feedback and markdown(b) in feedback
    assert SALT not in (tmp_path / "out" / "results.json").read_text() + feedback
    recorded, again = replay(next((tmp_path / "out" / "results").glob(f"{ALICE}*.json")))  # an appeal: same variant
    assert again.variant_id == a and again.total == recorded.total == recorded.max_total


def test_without_a_salt_the_book_numbers_count_and_a_set_id_is_flagged(tmp_path, base):
    a = variant_id(ALICE, SALT)
    grade = grade_submission(student_notebook(tmp_path / "x.ipynb", a, right_letter(a)), 2, ALICE, Limits(), base)
    assert grade.status == "ok" and grade.id_mismatch and grade.variant_id == ""
    assert points(grade)["2.2"] == 0  # its numbers are not the book's
    number = tmp_path / "number.ipynb"
    number.write_text(MASTER.read_text().replace('STUDENT_ID = \\"\\"', "STUDENT_ID = 12345"))
    assert "STUDENT_ID = 12345" in number.read_text()
    assert grade_submission(number, 2, ALICE, Limits(), base, variant_id=a).id_mismatch
    book = grade_submission(MASTER, 2, ALICE, Limits(), base)
    assert book.total == book.max_total and not book.id_mismatch and book.recorded_id == ""


def test_the_exercise_notebook_asks_for_the_id_first():
    notebook = nbformat.read(ROOT / "exercises" / MASTER.name, as_version=4)
    first = next(c for c in notebook.cells if c.cell_type == "code")
    assert first.source.rstrip().endswith('STUDENT_ID = ""')
    text = "\n".join(c.source for c in notebook.cells)
    assert 'variant("2.2", STUDENT_ID)' in text and 'show_options("2.4", STUDENT_ID)' in text


def compressive_state(n_tokens):
    """5.3 by following the events: a segment of 3 enters Mem when the next one starts; Mem keeps
    6 positions, each evicted segment becomes one CMem pair; CMem keeps 2."""
    mem, cmem = [], []
    for segment in range((n_tokens - 1) // 3):
        mem += [3 * segment, 3 * segment + 1, 3 * segment + 2]
        while len(mem) > 6:
            cmem.append([mem[0], mem[2]])
            mem = mem[3:]
    return (np.array(mem), np.array(cmem[-2:]))


def gated_read(q, mem_keys, mem_values, knn_keys, knn_values, g):
    """5.7 from the definitions: alpha_j = exp(q . k_j / sqrt d) / sum, one softmax per branch,
    then g * local + (1 - g) * retrieved."""
    def read(keys, values):
        scores = [np.exp(np.dot(q, k) / np.sqrt(len(q))) for k in keys]
        return sum(s * v for s, v in zip(scores, values)) / sum(scores)
    local, retrieved = read(mem_keys, mem_values), read(knn_keys, knn_values)
    return (local, retrieved, g * local + (1 - g) * retrieved)


INDEPENDENT = {  # each value exercise with variants, from its definition
    "5.3": compressive_state,
    "1.2": lambda layers, heads, d_head, b, n: 2 * layers * heads * d_head * b * n / 2**30,  # keys and values
    "4.2": lambda window: np.array(1 - 1 / window),  # 1 / (1 - beta) = window
    "6.2": lambda n, d: np.array(1 / np.sqrt(1 + (n - 1) / d)),  # the crosstalk law: signal 1, noise (N - 1) / d
    "2.2": lambda keys, beta: (beta[:, None] * keys).sum(axis=0) / beta.sum(),
    "2.5": lambda t, i, n_c: (1 / (i + 1), 1 / n_c if i - n_c < t <= i else 0.0),  # in Mem_i: 1/(i+1); window i-n_c+1..i
    "5.4": lambda layers, n_s: (layers * n_s, (layers + 1) * n_s - 1),  # offset 0 and n_s - 1 of a segment
    "5.7": gated_read,
    "3.2": lambda keys: np.array([keys[: i + 1].sum(axis=0) / (i + 1) for i in range(len(keys))]),
    "7.2": lambda alpha, beta: np.array([beta[j] * np.prod(alpha[j + 1:]) for j in range(5)]),
}


def test_every_value_exercise_with_variants_is_tested():
    assert sorted(INDEPENDENT) == sorted(BOOK)


@pytest.mark.parametrize("exercise_id", sorted(INDEPENDENT))
def test_every_value_variant_is_judged_on_the_students_own_numbers(exercise_id):
    exercise = find(exercise_id)
    ids = [variant_id(f"student{k}", SALT) for k in range(5)]
    answers = [INDEPENDENT[exercise_id](*variant(exercise_id, i)) for i in ids]
    as_text = [repr([np.asarray(x).tolist() for x in (a if isinstance(a, tuple) else (a,))]) for a in answers]
    assert len(set(as_text)) >= 4  # five students, at least four different answers
    for i, answer, text in zip(ids, answers, as_text):
        assert judge(exercise, answer, student_id=i)[0]
        assert not any(judge(exercise, other, student_id=i)[0] for other, t in zip(answers, as_text) if t != text)
    assert judge(exercise, INDEPENDENT[exercise_id](*variant(exercise_id, "")))[0]  # the book's numbers


@pytest.mark.parametrize("exercise", [find(i) for i in sorted(SHUFFLED)], ids=lambda ex: ex.id)
def test_every_choice_follows_the_students_order(exercise):
    right_text = next(o for o in exercise.options if o[0] == exercise.reference).split(": ", 1)[1]
    orders = set()
    for k in range(12):
        shown = exercise.shown_options(variant_id(f"student{k}", SALT))
        assert sorted(o.split(": ", 1)[1] for o in shown) == sorted(o.split(": ", 1)[1] for o in exercise.options)
        letter = next(o[0] for o in shown if o.endswith(right_text))
        assert [judge(exercise, x, student_id=variant_id(f"student{k}", SALT))[0] for x in "ABCD"[:len(shown)]] == \
            [x == letter for x in "ABCD"[:len(shown)]]
        orders.add(tuple(shown))
    assert len(orders) > 1


@pytest.mark.parametrize("exercise_id", sorted(BOOK))
def test_no_variant_has_the_books_answer(exercise_id):
    """The published solution scores zero under any student's variant ID (checked for 300)."""
    exercise = find(exercise_id)
    book = INDEPENDENT[exercise_id](*variant(exercise_id, ""))
    same = [k for k in range(300) if judge(exercise, book, student_id=f"student{k}-{k:06x}")[0]]
    assert not same, f"students with the book's answer: {same}"


def test_two_moodle_students_with_the_same_name_are_two_students_with_their_own_variants(tmp_path):
    """Variant IDs are made from the LMS's identifier (Moodle: `Participant <n>`), not the name."""
    folder = tmp_path / "submissions"
    ids = {p: variant_id(f"Participant {p}", SALT) for p in ("101", "102")}
    assert not np.array_equal(variant("2.2", ids["101"])[0], variant("2.2", ids["102"])[0])
    for participant, vid in ids.items():
        (folder / f"Jane Doe_{participant}_assignsubmission_file_").mkdir(parents=True)
        student_notebook(folder / f"Jane Doe_{participant}_assignsubmission_file_" / MASTER.name, vid, right_letter(vid))
    grades = grade_folder(folder, 2, tmp_path / "out", workers=2, log=lambda m: None, salt=SALT)
    assert sorted(g.student for g in grades) == ["Participant 101", "Participant 102"]
    for grade in grades:
        assert grade.name == "Jane Doe" and grade.variant_id == ids[grade.student.split()[1]]
        assert grade.total == grade.max_total and not grade.id_mismatch, grade.detail
