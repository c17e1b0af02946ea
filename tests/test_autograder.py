"""The autograder against hostile submissions: every one gets the score it deserves, the batch
finishes with one row per student, and nothing a submission writes survives it. Built from the
chapter 2 solution master (9 points: 2.1, 2.2, 2.3, 2.5 are worth 2, 2.4 is worth 1).

The whole hostile folder is graded once, in one batch, with the README's command.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT
from kvmem.grading import find
from kvmem.grading.notebooks import replace_regions
from kvmem.grading.reports import file_stem
from kvmem.grading.sandbox import can_isolate

MASTER = ROOT / "solutions" / "chapter2_cumulative_average.ipynb"
FULL = 9
# 5 s a cell: 27b's forks fill the submission's 1 GB on its one core, which took over 3 s while
# the other worker graded another heavy submission.
LIMIT_ARGS = ["--cell-timeout", "5", "--notebook-timeout", "25", "--memory-mb", "1024"]
LEFTOVER = "kvmem-leftover-7f3a"
needs_sandbox = pytest.mark.skipif(not can_isolate(), reason="no bubblewrap sandbox can be made here")


def master_cells() -> list[str]:
    return [c.source for c in nbformat.read(MASTER, as_version=4).cells if c.cell_type == "code"]


def notebook(cells: list[str]) -> str:
    return nbformat.writes(nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(c) for c in cells],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}))


def region(cells: list[str], exercise_id: str, code: str) -> list[str]:
    return [replace_regions(c, lambda i, indent: code if i == exercise_id else None) for c in cells]


def regions(cells: list[str], codes: dict[str, str]) -> list[str]:
    for exercise_id, code in codes.items():
        cells = region(cells, exercise_id, code)
    return cells


def wrong(cells, exercise_id="2.1"):
    return region(cells, exercise_id, find(exercise_id).wrong)


# The grader skips cells that no graded answer depends on (plots, experiments). An attack cell
# ends with `np = np`: it rebinds a name the answers use, so the grader runs it.
GRADED = "\nnp = np"


def before(cells, code):
    return [cells[0], code + GRADED] + cells[1:]


def after(cells, code):
    return cells + [code + GRADED]


ALWAYS_EQUAL = """    class Anything:
        def __eq__(self, other):
            return True
    return Anything()"""

PATCH_EVERYTHING = """import numpy as np
np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
import kvmem.grading as grading
grading.check = lambda *a, **k: print("all good")
import kvmem.grading.spec as spec
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

ANSWER_KEY = {  # every exercise answered from the grading package's own reference
    "2.1": "    from kvmem.grading import find\n    return find('2.1').reference(keys, i)",
    "2.2": "from kvmem.grading import find\nweighted_key = find('2.2').expected()",
    "2.3": "    from kvmem.grading import find\n    return find('2.3').reference(x)",
    "2.4": "from kvmem.grading import find\nweight_choice = find('2.4').reference\nweight_choice_why = 'the answer key says so'",
    "2.5": "from kvmem.grading import find\ntoken_15_weights = find('2.5').expected()",
}

NOTHING = {"2.1": "    pass", "2.2": "pass", "2.3": "    pass", "2.4": "pass", "2.5": "pass"}

RUN_SOLUTIONS = f"""import json
for name in ["{MASTER}", "/work/main/solutions/{MASTER.name}", "../solutions/{MASTER.name}", "solutions/{MASTER.name}"]:
    try:
        master = json.load(open(name))
    except OSError:
        continue
    for cell in master["cells"]:
        if cell["cell_type"] == "code" and "hidden_cases" not in "".join(cell["source"]):
            try:
                exec("".join(cell["source"]), globals())
            except Exception:
                pass
    break"""

LEAVE_BEHIND = f"""import ctypes, os
for folder in ["/tmp", "/dev/shm", "/run/lock", "/var/tmp", os.path.expanduser("~"), "/work"]:
    try:
        open(os.path.join(folder, "{LEFTOVER}"), "w").write("left behind")
    except OSError:
        pass
libc = ctypes.CDLL(None)
libc.shmget(0x4b564d31, 4096, 0o1666)     # SysV shared memory, IPC_CREAT
libc.msgget(0x4b564d32, 0o1666)           # a SysV message queue"""

READ_LEFTOVERS = f"""import ctypes, glob
found = glob.glob("/tmp/{LEFTOVER}") + glob.glob("/dev/shm/{LEFTOVER}") + glob.glob("/run/lock/{LEFTOVER}")
libc = ctypes.CDLL(None)
found += [k for k in (libc.shmget(0x4b564d31, 0, 0), libc.msgget(0x4b564d32, 0)) if k >= 0]
weighted_key = beta_2_2 @ keys_2_2 / beta_2_2.sum() if not found else np.zeros(2)"""

FILL_TMP = """import time
start = time.time()
try:
    with open("/tmp/big", "wb") as f:
        while time.time() - start < 2:
            f.write(b"x" * 2**24)
except OSError:
    pass"""

STREAM_GARBAGE = """import os
for fd in range(3, 12):
    try:
        os.write(fd, b'garbage\\n[]\\nnull\\n{"answer": "2.1", "record": null}\\n{"cell_errors": 5}\\n'
                     b'{"answer": "2.2", "record": {"value": {"npy": "AAAA"}}}\\n{"done": true}\\n')
    except OSError:
        pass"""

MEMORY_BY_FORKING = """import os, time
pids = []
for _ in range(3):  # 3 x 400 MB, each under the per-process limit, together over the 1 GB of the submission
    try:
        pid = os.fork()
    except (OSError, MemoryError):  # the submission's memory is full: this child could not even start
        continue
    if pid == 0:
        try:
            block = b"x" * (400 * 2**20)
            time.sleep(0.5)
        finally:
            os._exit(0)
    pids.append(pid)
survived = 0
for pid in pids:
    _, status = os.waitpid(pid, 0)
    survived += os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
weighted_key = beta_2_2 @ keys_2_2 / beta_2_2.sum() if survived < 3 else np.zeros(2)"""

SLOW_EXPERIMENTS = ["import time\ntime.sleep(9)\nfig, ax = plt.subplots()\nax.plot([1, 2], [3, 4]);"] * 7

MAGICS = """display(keys_2_2)
files = !ls
%time weighted_key = beta_2_2 @ keys_2_2 / beta_2_2.sum()
weighted_key"""


def snoop(paths: list[str]) -> str:
    """2.2's answer is right only if none of the secret files can be read."""
    return f"""import glob
stolen = []
for pattern in {paths!r}:
    for path in glob.glob(pattern):
        try:
            with open(path, "rb") as f:
                data = f.read(200)
            if not path.endswith("cmdline") or b"kvmem" in data or b"jail" in data:
                stolen.append(data)
        except OSError:
            pass
weighted_key = beta_2_2 @ keys_2_2 / beta_2_2.sum() if not stolen else np.zeros(2)"""


def reorder_and_delete(cells):
    without_25 = [c for c in cells if "SOLUTION 2.5" not in c and 'check("2.5"' not in c]
    moved = [c for c in without_25 if "SOLUTION 2.3" in c]
    return [c for c in without_25 if c not in moved] + moved


def cases(secret_globs: list[str]) -> dict:
    """name -> (notebook text, expected total, expected status, needs the sandbox)."""
    cells = master_cells()
    return {
        # the 26 original cases
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
        "09_reads_outside_its_folder": (notebook(region(cells, "2.2", snoop(secret_globs))), FULL, "ok", True),
        "10a_fake_results_file": (notebook(after(wrong(cells), 'import json\njson.dump({"score": 100}, open("answers.json", "w"))')),
                                  FULL - 2, "ok", False),
        "10b_fake_results_then_exit": (notebook(after(wrong(cells), STREAM_GARBAGE + "\nos._exit(0)")), 0, "ok", False),
        "11_background_process": (notebook(after(cells, BACKGROUND)), FULL, "ok", True),
        "12a_os_exit": (notebook(after(cells, "import os\nos._exit(3)")), 0, "exit", False),
        "12b_system_exit": (notebook(before(cells, "raise SystemExit(1)")), FULL, "ok", False),
        "12c_segfault": (notebook(after(cells, "import ctypes\nctypes.string_at(0)")), 0, "crash", False),
        "13a_infinite_loop": (notebook(before(cells, "while True:\n    pass")), FULL, "ok", False),
        "13b_loop_swallowing_interrupts": (notebook(after(cells, SWALLOWING_LOOP)), FULL, "ok", False),
        "14_memory_bomb": (notebook(before(cells, "blocks = []\nwhile True:\n    blocks.append(bytearray(10**8))")), FULL, "ok", False),
        "15_fork_bomb": (notebook(before(cells, FORK_BOMB)), FULL, "ok", True),
        "16_gigabytes_of_output": (notebook(before(cells, 'while True:\n    print("x" * 10**6)')), FULL, "ok", False),
        "17_input": (notebook(before(cells, 'name = input("Your name? ")')), FULL, "ok", False),
        "18a_invalid_json": ("{not json", 0, "invalid-notebook", False),
        "18b_wrong_nbformat": (json.dumps({"nbformat": 99, "nbformat_minor": 0, "cells": [], "metadata": {}}), 0, "invalid-notebook", False),
        "18c_renamed_function": (notebook([c.replace("def cumulative_average_at", "def cum_avg") for c in cells]), FULL - 2, "ok", False),
        "19_null_bytes": (notebook(before(cells, "x = 1\x00\n")), FULL, "ok", False),
        "20_cells_deleted_and_reordered": (notebook(reorder_and_delete(cells)), FULL - 2, "ok", False),
        # the answer key and the solutions
        "21_answer_key_import": (notebook(regions(cells, ANSWER_KEY)), 0, "ok", True),
        "22_runs_solutions": (notebook(regions(cells, NOTHING) + [RUN_SOLUTIONS + GRADED]), 0, "ok", True),
        # batch breakers
        "23_huge_int": (notebook(region(cells, "2.2", "weighted_key = 10**400")), FULL - 2, "ok", False),
        "24_garbage_on_the_answer_pipe": (notebook(after(cells, STREAM_GARBAGE)), FULL, "ok", False),
        "25_many_references_to_one_array": (notebook(region(cells, "2.5", "big = np.zeros(10**6)\ntoken_15_weights = tuple([big] * 40)")),
                                            FULL - 2, "ok", False),
        # limits per submission, leftovers
        "26_fills_tmp": (notebook(before(cells, FILL_TMP)), FULL, "ok", False),
        "27_leaves_files_and_ipc": (notebook(before(cells, LEAVE_BEHIND)), FULL, "ok", True),
        "27b_memory_by_forking": (notebook(region(cells, "2.2", MEMORY_BY_FORKING)), FULL, "ok", True),
        "28_reads_leftovers": (notebook(region(cells, "2.2", "import time\ntime.sleep(2)\n" + READ_LEFTOVERS)), FULL, "ok", True),
        # right answers in other forms
        "29_list_answer": (notebook(region(cells, "2.3", "    return (np.cumsum(x, axis=0) / np.arange(1, len(x) + 1)[:, None]).tolist()")),
                           FULL, "ok", False),
        "30_fraction_answer": (notebook(region(cells, "2.5", "from fractions import Fraction\ntoken_15_weights = (Fraction(1, 41), Fraction(0))")),
                               FULL, "ok", False),
        "31_object_array": (notebook(region(cells, "2.3", "    return (np.cumsum(x, axis=0) / np.arange(1, len(x) + 1)[:, None]).astype(object)")),
                            FULL, "ok", False),
        "32_display_and_magics": (notebook(region(cells, "2.2", MAGICS) + ["t = %timeit -o all_prefix_means(np.ones((3, 2)))"]),
                                  FULL, "ok", False),
        "33_slow_experiments": (notebook(cells + SLOW_EXPERIMENTS), FULL, "ok", False),
        "34_one_exercise_never_returns": (notebook(region(cells, "2.3", "    while True:\n        try:\n            pass\n        except BaseException:\n            pass")),
                                          FULL - 2, "ok", False),
        "35_hidden_input_in_exception": (notebook(region(cells, "2.1", '    raise ValueError("LEAK" + repr(keys.tolist()))')),
                                         FULL - 2, "ok", False),
        "36_markup_in_messages": (notebook(region(cells, "2.3", '    raise ValueError("<script>alert(1)</script> [x](http://evil) | **b**")')),
                                  FULL - 2, "ok", False),
        "=HYPERLINK(1)": (notebook(cells), FULL, "ok", False),
    }


def hostile_folder(root: Path) -> dict:
    submissions, out, private = root / "submissions", root / "out", root / "private"
    submissions.mkdir()
    private.mkdir(mode=0o700)
    (private / "chapter2_extra.py").write_text('hidden_cases("2.1", [(np.full((2, 3), 7.0), 1)])\n')
    secret_globs = [str(private / "*"), str(submissions / "*.ipynb"), str(out / "*"), "/root/*", "/root/.*",
                    str(ROOT / "solutions" / "*"), str(ROOT / "kvmem" / "grading" / "*"), "/run/*", "/proc/*/cmdline"]
    expected = {}
    for name, (text, total, status, sandbox_only) in cases(secret_globs).items():
        if sandbox_only and not can_isolate():
            continue
        (submissions / f"{name}.ipynb").write_text(text)
        expected[name] = (total, status)
    # intake: every one of these gets a row of its own
    correct = notebook(master_cells())
    (submissions / "zoe.IPYNB").write_text(correct)
    (submissions / "yan.ipynb.json").write_text(correct)
    (submissions / "smithjohn_12345_67890_chapter2_cumulative_average.ipynb").write_text(correct)
    (submissions / "dup.ipynb").write_text(correct)
    (submissions / "dup").mkdir()
    (submissions / "dup" / "other.ipynb").write_text(notebook(wrong(master_cells())))
    (submissions / "two").mkdir()
    (submissions / "two" / "draft.ipynb").write_text(notebook(wrong(master_cells())))
    (submissions / "two" / "chapter2_cumulative_average.ipynb").write_text(correct)
    (submissions / ("long" * 60 + ".ipynb")).write_text(correct)
    (submissions / os.fsdecode(b"caf\xe9.ipynb")).write_text(correct)
    (submissions / "link_to_solution.ipynb").symlink_to(MASTER)
    (submissions / "link_to_shadow.ipynb").symlink_to("/etc/shadow")
    os.mkfifo(submissions / "fifo.ipynb")
    (submissions / "README.txt").write_text("not a notebook")
    # a Canvas download is its user id (12345)
    expected.update({"zoe": (FULL, "ok"), "yan": (FULL, "ok"), "12345": (FULL, "ok"), "dup": (FULL, "ok"),
                     "two": (FULL, "ok"), "long" * 60: (FULL, "ok"), "caf\\xe9": (FULL, "ok"),
                     "link_to_solution": (0, "invalid-notebook"), "link_to_shadow": (0, "invalid-notebook"),
                     "fifo": (0, "invalid-notebook")})
    return {"submissions": submissions, "out": out, "private": private, "expected": expected}


def readme_command(folder: dict, *extra: str) -> list[str]:
    """The README's command (kvmem-grade is python -m kvmem.grading.cli)."""
    return [sys.executable, "-m", "kvmem.grading.cli", str(folder["submissions"]), "--chapter", "2",
            "--out", str(folder["out"]), "--hidden", str(folder["private"]), "--workers", "2", *LIMIT_ARGS, *extra]


def leftovers() -> list[str]:
    found = [str(p) for folder in ("/tmp", "/dev/shm", "/run/lock", "/var/tmp", str(Path.home())) for p in Path(folder).glob(LEFTOVER)]
    for table, key in (("shm", 0x4b564d31), ("msg", 0x4b564d32)):
        path = Path("/proc/sysvipc") / table
        if path.exists() and any(line.split()[0] == str(key) for line in path.read_text().splitlines()[1:]):
            found.append(f"SysV {table} {key:#x}")
    return found


def boot_ticks() -> int:
    """Now, in clock ticks since boot: the unit of a process's start time in /proc/PID/stat."""
    return int(float(Path("/proc/uptime").read_text().split()[0]) * os.sysconf("SC_CLK_TCK"))


def sandboxed_processes(since: int, until: int) -> list[str]:
    """'PID command line' of every process that started between the two times (boot_ticks) and
    runs in a sandbox of this checkout's grader: its mount namespace has this checkout's runner.py
    at /sandbox/runner.py (mountinfo gives the source as a path on its file system, hence the
    suffix). Graders of other checkouts, running at the same time, mount their own runner.py;
    a process a submission started, detached or not, stays in its sandbox's mount namespace."""
    runner = os.path.realpath(ROOT / "kvmem" / "grading" / "runner.py")
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            started = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[19])
            if not since <= started <= until:
                continue
            mounts = [line.split() for line in (proc / "mountinfo").read_text().splitlines()]
            if any(m[4] == "/sandbox/runner.py" and runner.endswith(m[3]) and m[3].endswith("/runner.py") for m in mounts):
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                found.append(f"{proc.name} {command}")
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
    return found


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    folder = hostile_folder(tmp_path_factory.mktemp("hostile"))
    before_batch = set(leftovers())
    started = boot_ticks()
    result = subprocess.run(readme_command(folder), capture_output=True, text=True, timeout=900)
    ended = boot_ticks()
    results = json.loads((folder["out"] / "results.json").read_text()) if result.returncode == 0 else {"submissions": []}
    return {**folder, "returncode": result.returncode, "log": result.stderr, "leftovers_before": before_batch,
            "ticks": (started, ended),
            "grades": {g["student"]: g for g in results["submissions"]}, "results": results}


def test_the_batch_finishes_with_one_row_per_student(batch):
    assert batch["returncode"] == 0, batch["log"][-3000:]
    with open(batch["out"] / "gradebook.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    ids = [r["Student ID"] for r in rows]
    assert sorted(ids) == sorted("'" + s if s.startswith("=") else s for s in batch["expected"])
    assert set(rows[0]) >= {"Student ID", "Total", "Max points", "Status", "Exercise 2.1 (2)", "Isolation"}
    for name in batch["expected"]:
        assert all((batch["out"] / "feedback" / f"{file_stem(name)}.{ext}").exists() for ext in ("md", "html")), name
    assert len(batch["results"]["submissions"]) == len(batch["expected"])


@pytest.mark.parametrize("name", sorted(cases([])))
def test_each_hostile_submission_gets_the_score_it_deserves(batch, name):
    if name not in batch["expected"]:
        pytest.skip("needs the bubblewrap sandbox")
    grade = batch["grades"][name]
    total, status = batch["expected"][name]
    assert (grade["total"], grade["status"]) == (total, status), (grade["detail"], [(e["id"], e["messages"]) for e in grade["exercises"]])


@pytest.mark.parametrize("name", ["zoe", "yan", "12345", "dup", "two", "long" * 60, "caf\\xe9", "link_to_solution",
                                  "link_to_shadow", "fifo"])
def test_intake_gives_every_notebook_a_row_and_refuses_links(batch, name):
    grade = batch["grades"][name]
    assert (grade["total"], grade["status"]) == batch["expected"][name], grade["detail"]


def test_duplicates_and_folders_of_several_notebooks_say_which_was_graded(batch):
    assert "graded dup.ipynb, not dup" in batch["grades"]["dup"]["detail"]
    assert "graded chapter2_cumulative_average.ipynb (its name holds the assignment's name)" in batch["grades"]["two"]["detail"]
    feedback = (batch["out"] / "feedback" / f"{file_stem('two')}.md").read_text()
    assert "not graded: draft" in feedback
    with open(batch["out"] / "skipped.csv", newline="") as f:
        assert [r["File"] for r in csv.DictReader(f)] == ["README.txt"]


def test_the_sandbox_is_recorded_for_every_graded_student(batch):
    graded = [g for g in batch["grades"].values() if g["status"] not in ("invalid-notebook", "no-notebook")]
    assert {g["isolation"] for g in graded} == {"bwrap" if can_isolate() else "none"}


def test_the_private_hidden_check_is_used(batch):
    messages = next(e["messages"] for e in batch["grades"]["01_correct"]["exercises"] if e["id"] == "2.1")
    assert "all 6 grading cases pass" in messages[0]  # 3 drawn now + 2 from the master + 1 private


def test_hidden_inputs_never_reach_feedback(batch):
    messages = next(e["messages"] for e in batch["grades"]["35_hidden_input_in_exception"]["exercises"] if e["id"] == "2.1")
    assert sum("a hidden case failed (it raised an exception)" == m for m in messages) == 3  # 2 from the master, 1 private
    assert sum("LEAK" in m for m in messages) == 3  # drawn cases may show their error; hidden ones never
    assert not any("[[7.0, 7.0" in m for m in messages)


def test_feedback_escapes_student_text_and_the_gradebook_escapes_formulas(batch):
    markdown = (batch["out"] / "feedback" / f"{file_stem('36_markup_in_messages')}.md").read_text()
    html = (batch["out"] / "feedback" / f"{file_stem('36_markup_in_messages')}.html").read_text()
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown and "\\[x\\]" in markdown
    assert "<script>" not in html
    gradebook = (batch["out"] / "gradebook.csv").read_text()
    assert "\n'=HYPERLINK(1)," in gradebook and "\n=HYPERLINK" not in gradebook


@needs_sandbox
def test_nothing_a_submission_wrote_survives_the_batch(batch):
    assert set(leftovers()) - batch["leftovers_before"] == set()
    assert list(batch["submissions"].glob("**/answers.json")) == []
    assert sorted(p.name for p in batch["out"].iterdir()) == ["feedback", "gradebook.csv", "manual", "manual.csv", "results",
                                                             "results.json", "skipped.csv"]


@needs_sandbox
def test_no_process_of_a_submission_survives_the_batch(batch):
    """Only this batch's processes count, not those of graders other people run on the machine
    at the same time: see sandboxed_processes."""
    running = sandboxed_processes(*batch["ticks"])
    assert not running, f"processes of submissions still running: {running}"


@needs_sandbox
def test_a_surviving_sandboxed_process_would_be_found():
    """The check above can fail: a process left running in a sandbox that mounts this checkout's
    runner.py, started inside the time window, is found; the same process is not found by a
    window that ends before it started."""
    from kvmem.grading.sandbox import _system_binds

    started = boot_ticks()
    survivor = subprocess.Popen(["bwrap", "--unshare-all", "--die-with-parent", "--new-session", *_system_binds(),
                                 "--ro-bind", str(ROOT / "kvmem" / "grading" / "runner.py"), "/sandbox/runner.py",
                                 "--proc", "/proc", "--dev", "/dev", "sleep", "60"])
    try:
        for _ in range(100):  # until bubblewrap has started sleep in the sandbox
            found = sandboxed_processes(started, boot_ticks())
            if any("sleep 60" in p for p in found):
                break
            time.sleep(0.05)
        assert any("sleep 60" in p for p in found), found
        assert not any("sleep 60" in p for p in sandboxed_processes(0, started - 1))
    finally:
        survivor.kill()
        survivor.wait()


def test_feedback_says_what_went_wrong_without_the_solution(batch):
    text = (batch["out"] / "feedback" / f"{file_stem('03_wrong_answer')}.md").read_text()
    assert "Score: 7 / 9" in text and "## Exercise 2.1" in text and "wrong values" in text
    assert "keys[: i + 1]" not in text
    html = (batch["out"] / "feedback" / f"{file_stem('18a_invalid_json')}.html").read_text()
    assert "not a readable notebook" in html


def test_output_files_are_readable_by_the_group(batch):
    for path in [batch["out"] / "gradebook.csv", *batch["out"].glob("results/*.json"), *batch["out"].glob("feedback/*")]:
        assert path.stat().st_mode & 0o777 == 0o640, path


def test_a_second_run_grades_nothing_again_unless_forced(batch):
    result = subprocess.run(readme_command(batch), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"{len(batch['expected'])} already graded, 0 to grade" in result.stderr


def test_a_changed_hidden_check_grades_everyone_again(tmp_path):
    folder = {"submissions": tmp_path / "subs", "out": tmp_path / "out", "private": tmp_path / "private"}
    for name in ("subs", "private"):
        (tmp_path / name).mkdir()
    (folder["submissions"] / "ann.ipynb").write_text(notebook(master_cells()))
    (folder["private"] / "chapter2_extra.py").write_text('hidden_cases("2.1", [(np.ones((2, 2)), 1)])\n')
    assert subprocess.run(readme_command(folder), capture_output=True).returncode == 0
    (folder["private"] / "chapter2_extra.py").write_text('hidden_cases("2.1", [(np.ones((3, 2)), 1)])\n')
    result = subprocess.run(readme_command(folder), capture_output=True, text=True)
    assert "0 already graded, 1 to grade" in result.stderr


def test_an_interrupted_batch_loses_nothing(tmp_path):
    submissions, out = tmp_path / "subs", tmp_path / "out"
    submissions.mkdir()
    text = notebook(master_cells() + ["import time\ntime.sleep(1)" + GRADED])
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


@pytest.mark.parametrize("submission, expected", [("solution", FULL), ("exercise", 0), ("answer_key", 0)])
def test_gradescope_entry_point_writes_a_valid_results_json(tmp_path, gradescope_zip, submission, expected):
    if submission == "answer_key" and not can_isolate():
        pytest.skip("needs the bubblewrap sandbox")
    archive = gradescope_zip
    root = tmp_path / "autograder"  # Gradescope's layout: source/ (the zip), submission/, results/
    for folder in ("source", "submission", "results"):
        (root / folder).mkdir(parents=True)
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
        z.extractall(root / "source")
    assert {"setup.sh", "run_autograder", "config.json", "pyproject.toml"} <= set(names)
    assert subprocess.run(["bash", "-n", str(root / "source" / "setup.sh")]).returncode == 0
    texts = {"solution": MASTER.read_text(), "exercise": (ROOT / "exercises" / MASTER.name).read_text(),
             "answer_key": notebook(regions(master_cells(), ANSWER_KEY))}
    (root / "submission" / "notebook.ipynb").write_text(texts[submission])
    env = {**os.environ, "PYTHONPATH": str(root / "source")}  # the package as the zip ships it
    subprocess.run([sys.executable, "-m", "kvmem.grading.gradescope", "run", "--root", str(root)], check=True, env=env,
                   cwd=root / "source", capture_output=True)
    results = json.loads((root / "results" / "results.json").read_text())
    validate_gradescope_results(results)
    assert results["score"] == expected
