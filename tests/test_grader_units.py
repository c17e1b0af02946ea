"""The grader's parts that read what students control, one at a time, without a sandbox: the
answers read back (JSON lines, .npy bytes), answers exported the way the runner does and judged
the way the notebook's own check judges them, the cells that run, intake, and escaping."""

from __future__ import annotations

import base64
import io
import json
import os
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from kvmem.grading import find
from kvmem.grading import runner
from kvmem.grading.grade import Case, derive_seed, judge_exercise, judge_one
from kvmem.grading.intake import find_submissions
from kvmem.grading.notebook_code import InvalidNotebook, as_python, graded_cells, read_cells
from kvmem.grading.readback import Failure, Unreadable, decode, parse_answers, parse_npy, read_regular_file
from kvmem.grading.reports import csv_cell, file_stem, markdown
from kvmem.grading.sandbox import lock_folder
from kvmem.grading.spec import judge


def npy_bytes(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def npy_header(shape, dtype="<f8") -> bytes:
    """A valid .npy header claiming `shape`, with no data after it."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header


# -- .npy bytes -------------------------------------------------------------------------------

def test_a_valid_array_is_read_back_exactly():
    array = np.arange(12.0).reshape(3, 4)
    assert np.array_equal(parse_npy(npy_bytes(array)), array)
    assert parse_npy(npy_bytes(np.float32(2.5) * np.ones(3, np.float32))).dtype == np.float32


@pytest.mark.parametrize("data, problem", [
    (b"", "not a valid .npy"),
    (npy_bytes(np.arange(10.0))[:-8], "truncated"),
    (npy_header((10**6, 10**6)), "claimed shape"),
    (npy_header((2000, 1000)), "claimed shape"),
    (npy_header((-1,)), "claimed shape"),
    (npy_header((3,), "|O"), "not of floats"),
    (npy_bytes(np.arange(3)), "not of floats"),
    (b"\x93NUMPY\x09\x00garbage", "not a valid .npy"),
])
def test_a_bad_array_is_refused_without_allocating_it(data, problem):
    with pytest.raises(Unreadable, match=problem):
        parse_npy(data)


# -- answers read back ------------------------------------------------------------------------

def line(message) -> bytes:
    return json.dumps(message).encode() + b"\n"


def test_garbage_lines_are_ignored_and_the_last_record_counts():
    data = (b"[]\nnull\n{not json\n" + line({"answer": "2.1", "record": None}) + line({"answer": "9.9", "record": {}})
            + line({"cell_errors": [5, {"cell": True, "error": "E", "message": 3}]})
            + line({"answer": "2.1", "record": {"cases": [{"json": 1.5}, {"npy": base64.b64encode(npy_bytes(np.ones(2))).decode()}]}})
            + line({"done": True}))
    answers = parse_answers(data, {"2.1"})
    assert answers.finished and set(answers.records) == {"2.1"}
    first, second = answers.records["2.1"]["cases"]
    assert first == 1.5 and np.array_equal(second, np.ones(2))
    assert answers.cell_errors == [{"cell": None, "error": "E", "message": "3"}]


def test_after_the_hidden_request_only_hidden_records_and_the_end_count():
    good = {"cases": [{"json": 1.0}]}
    before = (line({"cell_errors": [{"cell": 1, "error": "E", "message": "m"}]}) + line({"answer": "2.1", "record": good})
              + line({"hidden": "2.1", "record": {"failed": "made up before any hidden input"}}))
    after = (line({"hidden_inputs": "please"}) + line({"answer": "2.1", "record": {"failed": "LEAK"}})
             + line({"cell_errors": [{"cell": 2, "error": "E", "message": "LEAK"}]}) + line({"hidden": "2.1", "record": good})
             + line({"done": True}))
    answers = parse_answers(before + after, {"2.1"}, hidden_from=len(before))
    assert answers.finished and answers.records == {"2.1": {"cases": [1.0]}} and answers.hidden == {"2.1": {"cases": [1.0]}}
    assert answers.cell_errors == [{"cell": 1, "error": "E", "message": "m"}]
    assert parse_answers(before, {"2.1"}, hidden_from=len(before)).hidden == {}  # hidden records before the request


@pytest.mark.parametrize("record", [None, [], {"cases": None}, {"cases": "x"}, {"value": None}, {"value": {"json": [1, 2]}},
                                    {"value": {"npy": "AAAA"}}, {"value": {"json": 1, "npy": "x"}}, {"choice": 3, "why": None},
                                    {"cases": [{"tuple": [{"json": {"a": 1}}]}]}])
def test_every_malformed_record_scores_zero_without_an_exception(record):
    answers = parse_answers(line({"answer": "2.2", "record": record}) + line({"answer": "2.1", "record": record})
                            + line({"answer": "2.4", "record": record}), {"2.1", "2.2", "2.4"})
    for exercise_id, cases in (("2.1", [Case((np.ones((2, 2)), 1), False)]), ("2.2", []), ("2.4", [])):
        result = judge_exercise(find(exercise_id), answers.records[exercise_id], cases)
        assert result.points == 0 and result.messages


def test_a_huge_integer_is_a_failure_not_an_overflow():
    assert isinstance(decode({"json": 10**400}), Failure)
    assert judge_one(find("2.2"), 10**300, ()) == (False, "weighted_key should be an array of shape (2,); got a single number")


# -- the runner's export and the notebook's check agree ---------------------------------------

RIGHT_2_3 = np.cumsum(np.arange(12.0).reshape(4, 3), axis=0) / np.arange(1, 5)[:, None]
ANSWERS = [  # (exercise, answer); for 2.3 the answer on its visible input
    ("2.5", (1 / 41, 0.0)), ("2.5", [1 / 41, 0]), ("2.5", (Fraction(1, 41), Fraction(0))), ("2.5", np.array([1 / 41, 0.0])),
    ("2.5", (np.float32(1 / 41), np.float64(0))), ("2.5", (1 / 40, 1 / 20)), ("2.5", 10**400), ("2.5", "C"), ("2.5", None),
    ("2.2", np.array([1.4, 2.6])), ("2.2", [1.4, 2.6]), ("2.2", np.array([1.4, 2.6], dtype=object)), ("2.2", np.array([14, 26]) / 10),
    ("2.2", np.array([1.4, 2.6], dtype=np.float32)), ("2.2", np.array([1, 2])), ("2.2", np.array([1.4 + 0j, 2.6])), ("2.2", np.array([1.4 + 1j, 2.6])),
    ("2.2", [[1.4], [2.6]]), ("2.2", np.float64(1.4)), ("2.2", True),
    ("2.3", RIGHT_2_3), ("2.3", RIGHT_2_3.tolist()), ("2.3", RIGHT_2_3.astype(object)), ("2.3", RIGHT_2_3.astype(np.float32)),
    ("2.3", [list(r) for r in RIGHT_2_3] * 20), ("2.3", RIGHT_2_3.T),
    # forms the messages talk about: None, float32 near-misses, lists against arrays, single numbers
    ("2.3", None), ("2.2", None), ("2.5", (1 / 41, None)), ("2.5", np.array([1 / 41, 0.0], dtype=np.float32)),
    ("2.5", np.array([[1 / 41, 0.0]])), ("2.2", np.array([1.4, 2.6], dtype=np.float32) * np.float32(1 + 5e-4)),
    ("2.2", np.array([1.4, 2.6]) * (1 + 3e-6)), ("2.2", [1.4, 2.6, 0.0]), ("2.2", (1.4, 2.6)),
    ("1.2", np.float32(10.0 * (1 + 2e-5))), ("1.2", 10.0 * (1 + 2e-5)), ("1.2", 20.0), ("1.2", [10.0]), ("1.2", np.float16(10)),
    ("6.2", np.float32(0.5773502691896258)), ("2.3", RIGHT_2_3.astype(np.float32) * np.float32(1 + 3e-4)),
]


def through_the_grader(answer):
    """The answer as the grader sees it: exported by the runner, sent as JSON, read back."""
    runner._containers_left, runner._elements_left = runner.MAX_CONTAINERS, runner.MAX_ELEMENTS  # one fresh record
    try:
        descriptor = runner.export(answer, np)
    except BaseException as err:
        descriptor = {"error": f"{type(err).__name__}: {err}"}
    return decode(json.loads(json.dumps(descriptor)))


@pytest.mark.parametrize("exercise_id, answer", ANSWERS)
def test_the_grader_and_the_notebook_check_agree(exercise_id, answer):
    exercise = find(exercise_id)
    args = exercise.visible[0] if exercise.kind == "function" else ()
    try:
        in_notebook, _ = judge(exercise, answer, args)
    except (OverflowError, TypeError, ValueError):
        in_notebook = False  # the check cannot compare it either
    graded, message = judge_one(exercise, through_the_grader(answer), args)
    assert graded == in_notebook, message


def test_messages_say_what_is_wrong_in_plain_words_and_the_grader_says_the_same():
    args_2_3 = find("2.3").visible[0]
    cases = [  # (exercise, answer, args, words the message must hold)
        ("2.3", None, args_2_3, "your function returned None: did you forget `return`?"),
        ("2.2", None, (), "weighted_key is None"),
        ("1.2", 20.0, (), "cache_gib is a single number, and it is not the right one"),
        ("1.2", [10.0, 1.0], (), "cache_gib should be a single number; got a list of shape (2,)"),
        ("2.2", 1.4, (), "weighted_key should be an array of shape (2,); got a single number"),
        ("2.2", [1.4, 2.6, 0.0], (), "weighted_key is a list; read as an array it has shape (3,), but it should have shape (2,)"),
        ("2.2", np.array([1.4, 2.6], dtype=np.float32) * np.float32(1 + 5e-4), (),
         "close to the right answer but off by more than the tolerance (relative 0.0001); it is in float32"),
        ("2.2", np.array([1.4, 2.6]) * (1 + 3e-6), (), "off by more than the tolerance (relative 1e-06); rounding errors"),
    ]
    for exercise_id, answer, args, words in cases:
        in_notebook = judge(find(exercise_id), answer, args)
        graded = judge_one(find(exercise_id), through_the_grader(answer), args)
        assert not in_notebook[0] and words in in_notebook[1], in_notebook
        assert graded == in_notebook  # short lists reach the grader as tuples: the same words
        assert "1.4" not in in_notebook[1] and "10" not in in_notebook[1].replace("1e-06", "")  # no answer shown


def test_lists_tuples_and_arrays_of_the_right_numbers_all_pass():
    for answer in ([1 / 41, 0.0], (1 / 41, 0), np.array([1 / 41, 0.0]), np.array([1 / 41, 0.0], dtype=np.float32)):
        assert judge(find("2.5"), answer)[0] and judge_one(find("2.5"), through_the_grader(answer), ())[0]
    for answer in ([1.4, 2.6], (1.4, 2.6), np.array([1.4, 2.6])):
        assert judge(find("2.2"), answer)[0] and judge_one(find("2.2"), through_the_grader(answer), ())[0]


def test_a_hidden_case_names_the_kind_of_failure_only():
    from kvmem.grading.grade import failure_kind

    assert failure_kind("your function returned None: did you forget `return`?") == "it returned None: a missing `return`?"
    assert failure_kind("the result is close to the right answer but off by more than the tolerance (relative 1e-06); "
                        "rounding errors this large usually come from computing in float32: compute in float64").startswith("close")
    assert failure_kind("the result is a single number, and it is not the right one") == "wrong value"
    assert failure_kind("the result should be a single number; got an array of shape (2,)") == "wrong shape"


def test_right_answers_in_other_forms_pass():
    assert judge_one(find("2.5"), through_the_grader((Fraction(1, 41), Fraction(0))), ())[0]
    assert judge_one(find("2.3"), through_the_grader(RIGHT_2_3.tolist()), find("2.3").visible[0])[0]
    assert judge_one(find("2.3"), through_the_grader(RIGHT_2_3.astype(object)), find("2.3").visible[0])[0]


def test_float32_answers_pass_on_every_drawn_input():
    """A float32 implementation of 2.1 passes on the inputs of every student (the grade of a
    notebook never depends on the luck of the draw)."""
    exercise = find("2.1")
    for student in range(200):
        rng = np.random.default_rng(derive_seed(2, "2.1", f"s{student}", "same-notebook"))
        for keys, i in exercise.cases(rng):
            got = keys.astype(np.float32)[: i + 1].mean(axis=0)
            assert judge_one(exercise, through_the_grader(got), (keys, i))[0]


def test_seeds_depend_on_chapter_exercise_student_and_notebook():
    seed = derive_seed(2, "2.1", "ann", "abc")
    assert seed == derive_seed(2, "2.1", "ann", "abc")
    assert len({seed, derive_seed(3, "2.1", "ann", "abc"), derive_seed(2, "2.3", "ann", "abc"),
                derive_seed(2, "2.1", "ben", "abc"), derive_seed(2, "2.1", "ann", "abd")}) == 5


# -- which cells run ------------------------------------------------------------------------

def test_only_the_cells_answers_depend_on_run():
    cells = ["import numpy as np\nimport matplotlib.pyplot as plt",          # 0: binds np, used by the answer
             "def helper(x):\n    return np.cumsum(x)",                       # 1: used by the answer
             "def answer(x):\n    return helper(x) / scale",                  # 2: the answer
             "fig, ax = plt.subplots()\nax.plot(answer(np.ones(3)))",         # 3: a plot
             "import time\ntime.sleep(9)",                                     # 4: slow, ungraded
             "scale = 2",                                                      # 5: after the answer, used by it
             "np.random.seed(0)",                                              # 6: changes np in place
             "exec('scale = 3')",                                              # 7: cannot be analysed
             "keys = np.ones(3)\nfor k in keys:\n    pass"]                    # 8: binds nothing used
    assert graded_cells(cells, {"answer"}) == [0, 1, 2, 5, 6, 7]


def test_ipython_syntax_becomes_python():
    assert "get_ipython().getoutput('ls')" in as_python("x = !ls")
    assert "run_line_magic('timeit', '-o f(3)')" in as_python("t = %timeit -o f(3)")


def test_the_runners_shell_runs_timing_magics():
    namespace = {}
    shell = runner.Shell(namespace)
    assert shell.run_line_magic("time", "1 + 1") == 2
    shell.run_line_magic("timeit", "-n 1 -r 1 y = 5")
    shell.run_cell_magic("time", "", "z = 7")
    assert (namespace["y"], namespace["z"], shell.getoutput("ls")) == (5, 7, [])


def test_outputs_are_dropped_before_the_size_cap(tmp_path):
    import nbformat

    cell = nbformat.v4.new_code_cell("x = 1")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "A" * (22 * 2**20)})]
    path = tmp_path / "big.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
    assert read_cells(path) == ["x = 1"]


def test_a_fifo_or_a_link_is_never_read(tmp_path):
    os.mkfifo(tmp_path / "fifo.ipynb")
    (tmp_path / "link.ipynb").symlink_to("/dev/zero")
    for name in ("fifo.ipynb", "link.ipynb"):
        with pytest.raises(InvalidNotebook):
            read_cells(tmp_path / name)
    with pytest.raises(Unreadable, match="larger than"):
        (tmp_path / "big").write_bytes(b"x" * 2000)
        read_regular_file(tmp_path / "big", 1000)


# -- intake and outputs -----------------------------------------------------------------------

def test_intake_maps_lms_names_and_lists_what_it_skips(tmp_path):
    for name in ("zoe.IPYNB", "yan.ipynb.json", "smithjohn_12345_67890_chapter2.ipynb", "kim_LATE_1_2_hw.ipynb", "notes.pdf"):
        (tmp_path / name).write_text("{}")
    moodle = tmp_path / "Ada Lovelace_4242_assignsubmission_file_"
    moodle.mkdir()
    (moodle / "work.ipynb").write_text("{}")
    (tmp_path / "empty").mkdir()
    intake = find_submissions(tmp_path)
    found = {s.student: s for s in intake.submissions}
    # LMS downloads are keyed by the LMS's own identifier, and keep the name to show
    assert set(found) == {"zoe", "yan", "12345", "1", "Participant 4242", "empty"}
    assert [(found[k].name, found[k].lms) for k in ("12345", "1", "Participant 4242", "zoe")] == \
        [("smithjohn", "canvas"), ("kim", "canvas"), ("Ada Lovelace", "moodle"), ("zoe", "")]
    assert found["empty"].notebook is None and "no notebook" in found["empty"].problem
    assert intake.skipped == [("notes.pdf", "not a notebook (.ipynb)")]


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_never_start_a_formula(cell):
    # a tab or a carriage return is shown escaped ("\\tx"), so nothing hides in a cell
    shown = cell.replace("\t", "\\t").replace("\r", "\\r")
    assert csv_cell(cell)[0] not in "=+-@\t\r" and csv_cell(cell).strip("'") == shown


def test_markdown_escapes_student_text_and_file_names_are_safe():
    assert markdown("<b>[x](y)</b> | *z*") == "&lt;b&gt;\\[x\\](y)&lt;/b&gt; \\| \\*z\\*"
    assert markdown("it's # 1") == "it&#x27;s \\# 1"  # an entity's '#' is not escaped into "&\\#x27;"
    stem = file_stem("../../etc/passwd" + "x" * 300)
    assert "/" not in stem and len(stem) < 60 and stem != file_stem("../../etc/passwd")


def test_a_lock_folder_made_by_someone_else_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))
    folder = tmp_path / f"kvmem-grade-locks-{os.geteuid()}"
    folder.mkdir(mode=0o777)
    os.chmod(folder, 0o777)
    with pytest.raises(RuntimeError, match="writable by it alone"):
        lock_folder()
    os.chmod(folder, 0o700)
    assert lock_folder() == folder


def test_matplotlib_imported_on_first_use_works_as_the_real_one():
    import subprocess
    import sys

    code = """import sys
sys.path.insert(0, sys.argv[1])
import runner
runner.install_lazy_modules()
import matplotlib.pyplot as plt
from matplotlib import pyplot
assert type(plt).__name__ == "LazyModule" and pyplot is plt and "matplotlib.colors" not in sys.modules
from matplotlib.colors import Normalize
fig, ax = plt.subplots()
ax.plot([1, 2], [3, 4])
import matplotlib
assert matplotlib.get_backend().lower() == "agg" and type(sys.modules["matplotlib.pyplot"]).__name__ == "module"
print("drawn")"""
    result = subprocess.run([sys.executable, "-c", code, str(Path(runner.__file__).parent)], capture_output=True, text=True,
                            env={**os.environ, "MPLBACKEND": "Agg"})
    assert result.stdout.strip() == "drawn", result.stderr


@pytest.mark.parametrize("split", [0, 1, 5, 20, 27, 28, 40])
def test_the_hidden_request_is_seen_wherever_the_pipe_splits_it(split):
    from kvmem.grading.sandbox import _Drain

    request = b'{"hidden_inputs": "please"}'
    data = b'{"answer": "2.1"}\n' + request + b"\n" + b'{"done": true}\n'
    cut = 18 + split  # cut inside or around the request line
    read_end, write_end = os.pipe()
    seen = []
    with os.fdopen(read_end, "rb") as stream:
        drain = _Drain(stream, 1 << 20, on_line=(request, lambda: seen.append(True)))
        for piece in (data[:cut], data[cut:]):
            os.write(write_end, piece)
            time.sleep(0.05)
        os.close(write_end)
        drain.join(5)
    assert seen == [True] and drain.line_at == 18
    assert bytes(drain.data[drain.line_at:]).startswith(request)
