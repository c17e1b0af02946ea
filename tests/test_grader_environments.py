"""The grader outside the happy path: the same grade every run (and a replay that shows it),
no sandbox at all, root without CAP_SYS_ADMIN, and an ordinary user."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy
import pytest

from conftest import ROOT
from test_autograder import FULL, GRADED, MASTER, master_cells, notebook, region

FLOAT32_2_1 = "    return keys.astype(np.float32)[: i + 1].mean(axis=0)"


def grade(submissions: Path, out: Path, *extra: str, env=None, prefix=()) -> subprocess.CompletedProcess:
    command = [*prefix, sys.executable, "-m", "kvmem.grading.cli", str(submissions), "--chapter", "2", "--out", str(out),
               "--workers", "2", "--cell-timeout", "5", *extra]
    return subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600)


def gradebook(out: Path) -> dict[str, dict]:
    return {g["student"]: g for g in json.loads((out / "results.json").read_text())["submissions"]}


def test_forty_identical_notebooks_get_forty_identical_scores_and_replay(tmp_path):
    submissions = tmp_path / "subs"
    submissions.mkdir()
    text = notebook(region(master_cells(), "2.1", FLOAT32_2_1))
    for k in range(40):
        (submissions / f"student{k:02d}.ipynb").write_text(text)
    result = grade(submissions, tmp_path / "out")
    assert result.returncode == 0, result.stderr[-2000:]
    grades = gradebook(tmp_path / "out")
    assert len(grades) == 40 and {g["total"] for g in grades.values()} == {FULL}
    assert len({json.dumps(g["seeds"]) for g in grades.values()}) == 40  # each student has inputs of their own
    record = next((tmp_path / "out" / "results").glob("student07-*.json"))
    replay = subprocess.run([sys.executable, "-m", "kvmem.grading.cli", "--replay", str(record)], capture_output=True, text=True)
    assert replay.returncode == 0, replay.stderr[-2000:]
    replayed = json.loads(replay.stdout)
    assert replayed["same"] and replayed["replayed"]["seeds"] == grades["student07"]["seeds"]


def one_correct_and_one_cheat(folder: Path) -> Path:
    submissions = folder / "subs"
    submissions.mkdir()
    (submissions / "honest.ipynb").write_text(MASTER.read_text())
    (submissions / "wrong.ipynb").write_text(notebook(region(master_cells(), "2.1", "    return keys[0]")))
    (submissions / "slow_plots.ipynb").write_text(notebook(master_cells() + ["import time\ntime.sleep(30)\nplt.plot([1])"]))
    (submissions / "exits.ipynb").write_text(notebook(master_cells() + ["import os\nos._exit(1)" + GRADED]))
    return submissions


def test_without_a_sandbox_the_grades_are_right_and_the_log_says_so_loudly(tmp_path):
    result = grade(one_correct_and_one_cheat(tmp_path), tmp_path / "out", env={"KVMEM_GRADE_ISOLATION": "none"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "WARNING: NO SANDBOX" in result.stderr
    grades = gradebook(tmp_path / "out")
    assert {name: (g["total"], g["status"], g["isolation"]) for name, g in grades.items()} == {
        "honest": (FULL, "ok", "none"), "wrong": (FULL - 2, "ok", "none"), "slow_plots": (FULL, "ok", "none"),
        "exits": (0, "exit", "none")}


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_root_without_cap_sys_admin_still_grades_in_full(tmp_path):
    result = grade(one_correct_and_one_cheat(tmp_path), tmp_path / "out",
                   prefix=("setpriv", "--bounding-set", "-sys_admin", "--inh-caps", "-sys_admin"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert gradebook(tmp_path / "out")["honest"]["total"] == FULL


AS_NOBODY = ("setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups")
SITE = str(Path(numpy.__file__).resolve().parent.parent)


def python_for_nobody() -> str | None:
    """A Python an ordinary user can run, and start again from itself (the grader does): this
    one, or the system's Python of the same version with this environment's packages."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return None
    for python in (sys.executable, f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"):
        probe = subprocess.run([*AS_NOBODY, python, "-c", "import subprocess, sys, kvmem.grading, nbformat; "
                                "subprocess.run([sys.executable, '-c', 'pass'], check=True)"],
                               capture_output=True, env={**os.environ, "PYTHONPATH": f"{ROOT}:{SITE}"})
        if probe.returncode == 0:
            return python
    return None


@pytest.mark.skipif(python_for_nobody() is None, reason="no Python here that an ordinary user can run")
def test_an_ordinary_user_grades_in_full():
    folder = Path(tempfile.mkdtemp(prefix="kvmem-nobody-"))  # pytest's own folders are private to root
    try:
        os.chmod(folder, 0o777)
        submissions = one_correct_and_one_cheat(folder)
        out = folder / "out"
        command = [*AS_NOBODY, python_for_nobody(), "-m", "kvmem.grading.cli", str(submissions), "--chapter", "2",
                   "--out", str(out), "--workers", "2"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600,
                                env={**os.environ, "PYTHONPATH": f"{ROOT}:{SITE}", "HOME": str(folder)})
        assert result.returncode == 0, result.stderr[-2000:]
        grades = gradebook(out)
        assert {name: (g["total"], g["status"]) for name, g in grades.items()} == {
            "honest": (FULL, "ok"), "wrong": (FULL - 2, "ok"), "slow_plots": (FULL, "ok"), "exits": (0, "exit")}
        assert grades["honest"]["isolation"] == "bwrap"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def descends_from(pid: int, ancestor: int) -> bool:
    """Whether process `pid` is `ancestor` or one of its descendants (other graders may be running)."""
    while pid > 1:
        if pid == ancestor:
            return True
        status = Path(f"/proc/{pid}/status").read_text()
        pid = int(next(l for l in status.splitlines() if l.startswith("PPid:")).split()[1])
    return False


def runner_uids(seconds: float, ancestor: int) -> set[int]:
    """The host uids of the sandboxed runners started by process `ancestor`, seen in /proc during `seconds`."""
    seen, deadline = set(), time.monotonic() + seconds
    while time.monotonic() < deadline and not seen:
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                if cmdline.read_bytes().split(b"\0")[3:4] == [b"/sandbox/runner.py"]:  # python -I -S runner.py: not jail, not bwrap
                    if not descends_from(int(cmdline.parent.name), ancestor):
                        continue
                    status = (cmdline.parent / "status").read_text()
                    seen.add(int(next(l for l in status.splitlines() if l.startswith("Uid:")).split()[1]))
            except (OSError, StopIteration, ValueError):
                continue
        time.sleep(0.05)
    return seen


@pytest.mark.skipif(os.geteuid() != 0 or python_for_nobody() is None, reason="needs root and a Python every user can run")
def test_as_root_each_submission_runs_as_its_own_uid_where_that_uid_can_run_python(tmp_path):
    """Seen from the host, the sandboxed runner is the claimed sandbox uid, not root."""
    submissions = tmp_path / "subs"
    submissions.mkdir()
    (submissions / "slow.ipynb").write_text(notebook(master_cells() + ["import time\ntime.sleep(4)" + GRADED]))
    process = subprocess.Popen([python_for_nobody(), "-m", "kvmem.grading.cli", str(submissions), "--chapter", "2",
                                "--out", str(tmp_path / "out"), "--workers", "1"], stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": f"{ROOT}:{SITE}"})
    uids = runner_uids(30, process.pid)
    assert process.wait(timeout=300) == 0, process.stderr.read()[-2000:]
    assert uids and all(61_000 <= uid < 61_512 for uid in uids), uids
    assert gradebook(tmp_path / "out")["slow"]["total"] == FULL
