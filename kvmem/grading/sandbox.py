"""Run one submission's code in a fresh, limited process and bring its answers back as plain data.

The grader's side of runner.py and jail.py: it writes the job and the grading-time inputs into
a working folder that holds nothing secret, starts the jail, enforces the wall-clock limit,
kills what is left, and reads the answers back with json and np.load(allow_pickle=False).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SANDBOX_UID_BASE = 61_000  # sandbox users: 61000, 61001, ... one per running submission
SANDBOX_UIDS = 512
UID_LOCKS = Path(tempfile.gettempdir()) / "kvmem-grade-uids"
COVER = ("/root", "/home", "/tmp", "/var/tmp", "/dev/shm")


@dataclass(frozen=True)
class Limits:
    cell_seconds: int = 10           # per cell, and per call of a student's function
    notebook_seconds: int = 60       # the whole submission
    memory_bytes: int = 2 * 2**30    # address space
    processes: int = 64              # processes and threads of the sandbox user
    file_bytes: int = 64 * 2**20     # largest file it may write
    cpu_seconds: int = 120


@dataclass
class Failure:
    """An answer that could not be brought back (an exception, not plain data, a timeout...)."""
    reason: str


@dataclass
class RunResult:
    status: str                      # ok, timeout, crash, exit, output-limit, memory, no-answers
    detail: str = ""
    cell_errors: list = field(default_factory=list)
    answers: dict = field(default_factory=dict)
    seconds: float = 0.0


@contextlib.contextmanager
def claim_uids(count: int):
    """`count` sandbox uids that no other grader on this machine is using, for as long as the
    context lasts (a lock file each: the lock ends with the process, however it ends). Two
    batches at once never share a uid, so neither kills the other's processes."""
    UID_LOCKS.mkdir(mode=0o700, exist_ok=True)
    claimed, handles = [], []
    try:
        for uid in range(SANDBOX_UID_BASE, SANDBOX_UID_BASE + SANDBOX_UIDS):
            if len(claimed) == count:
                break
            handle = open(UID_LOCKS / f"{uid}.lock", "w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            claimed.append(uid)
            handles.append(handle)
        if len(claimed) < count:
            raise RuntimeError(f"only {len(claimed)} free sandbox uids for {count} workers")
        yield claimed
    finally:
        for handle in handles:
            handle.close()


def can_isolate() -> bool:
    """Namespaces, tmpfs and a separate uid need root; without it only rlimits apply."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _write_inputs(folder: Path, args: tuple) -> None:
    folder.mkdir(parents=True)
    manifest = []
    for k, arg in enumerate(args):
        if isinstance(arg, np.ndarray):
            np.save(folder / f"arg{k}.npy", arg, allow_pickle=False)
            manifest.append({"npy": f"arg{k}.npy"})
        else:
            manifest.append({"json": arg})
    (folder / "args.json").write_text(json.dumps(manifest))


def _environment(workdir: Path) -> dict:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(workdir), "LANG": "C.UTF-8",
           "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(workdir / ".matplotlib"), "PYTHONHASHSEED": "0",
           "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # some processors need these
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _reach() -> list[str]:
    """Folders the sandboxed Python must be able to read: itself, its libraries, kvmem."""
    import numpy

    paths = {os.path.dirname(os.path.realpath(sys.executable)), sys.base_prefix, sys.prefix,
             str(HERE.parent.parent), os.path.dirname(os.path.dirname(numpy.__file__))}
    return sorted(os.path.realpath(p) for p in paths)


_cache_lock = threading.Lock()


def _matplotlib_cache(base: Path) -> Path:
    """A font cache built once per batch and copied into each working folder (building it
    costs about a second per submission otherwise)."""
    cache = base / "matplotlib-cache"
    with _cache_lock:
        if cache.exists():
            return cache
        building = Path(tempfile.mkdtemp(dir=base))
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env={**os.environ, "MPLCONFIGDIR": str(building)},
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        building.rename(cache)
    return cache


def run_in_sandbox(cells: list[str], jobs: list[dict], inputs: dict[str, list[tuple]], limits: Limits,
                   base: Path, uid: int, hide: tuple[str, ...] = ()) -> RunResult:
    """Execute the cells and collect the answers named in `jobs`, in a jail; never raises for
    anything the submission does."""
    workdir = Path(tempfile.mkdtemp(prefix="submission-", dir=base))
    try:
        (workdir / "out").mkdir()
        shutil.copytree(_matplotlib_cache(base), workdir / ".matplotlib")
        for exercise_id, cases in inputs.items():
            for k, args in enumerate(cases):
                _write_inputs(workdir / "inputs" / exercise_id / str(k), args)
        (workdir / "job.json").write_text(json.dumps({"cells": cells, "exercises": jobs,
                                                       "cell_timeout": limits.cell_seconds}))
        if can_isolate():
            for path in [workdir, *workdir.rglob("*")]:
                os.chown(path, uid, uid)
            os.chmod(workdir, 0o700)
        config = {"uid": uid, "workdir": str(workdir), "python": sys.executable, "runner": str(HERE / "runner.py"),
                  "env": _environment(workdir), "hide": [str(Path(h).resolve()) for h in hide],
                  "cover": list(COVER), "reach": _reach() + [str(workdir)],
                  "memory_bytes": limits.memory_bytes, "processes": limits.processes,
                  "file_bytes": limits.file_bytes, "cpu_seconds": limits.cpu_seconds}
        return _execute(config, workdir, limits)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _execute(config: dict, workdir: Path, limits: Limits) -> RunResult:
    start = time.perf_counter()
    # The jail's and the runner's start-up errors go to a file (the runner sends the notebook's
    # own output to /dev/null), so that no amount of output reaches the grader's memory.
    with open(workdir / "startup-errors.txt", "wb") as errors:
        process = subprocess.Popen([sys.executable, "-I", "-S", str(HERE / "jail.py"), json.dumps(config)],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors,
                                   start_new_session=True)
    try:
        process.wait(timeout=limits.notebook_seconds)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        _kill_group(process.pid)
        if can_isolate():
            _kill_user(config["uid"])
    if timed_out:
        process.wait()
        return RunResult("timeout", f"the notebook ran longer than {limits.notebook_seconds} s",
                         seconds=time.perf_counter() - start)
    seconds = time.perf_counter() - start
    code = process.returncode
    with open(workdir / "startup-errors.txt", "rb") as errors:
        errors.seek(max(0, os.path.getsize(workdir / "startup-errors.txt") - 4096))
        stderr = errors.read()
    if code != 0:
        return RunResult(*_failure_status(code, stderr), seconds=seconds)
    try:
        cell_errors, answers = _read_answers(workdir / "out")
    except (OSError, ValueError, KeyError, TypeError) as err:
        return RunResult("no-answers", f"the notebook left no readable answers ({err})", seconds=seconds)
    return RunResult("ok", "", cell_errors, answers, seconds)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_user(uid: int, seconds: float = 2.0) -> None:
    """SIGKILL every process still running as the sandbox user, until none is left."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = False
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                line = next(l for l in status.read_text().splitlines() if l.startswith("Uid:"))
                if int(line.split()[1]) == uid:
                    found = True
                    os.kill(int(status.parent.name), signal.SIGKILL)
            except (OSError, StopIteration, ValueError):
                continue
        if not found:
            return
        time.sleep(0.02)


def _failure_status(code: int, stderr: bytes) -> tuple[str, str]:
    """(status, detail) for a runner that did not end normally."""
    signal_number = -code if code < 0 else code - 128 if code > 128 else 0
    if signal_number == signal.SIGXFSZ:
        return "output-limit", "the notebook wrote a file larger than the limit"
    if signal_number == signal.SIGXCPU:
        return "timeout", "the notebook used more CPU time than the limit"
    if signal_number == signal.SIGKILL:
        return "memory", "the notebook was killed (most often: it ran out of memory)"
    if signal_number:
        return "crash", f"the notebook's process died of signal {signal.Signals(signal_number).name}"
    tail = stderr.decode(errors="replace").strip().splitlines()[-1:] if stderr else []
    if any("MemoryError" in line for line in tail):
        return "memory", "the notebook ran out of memory"
    return "exit", f"the notebook's process exited with code {code} before it was graded"


def _read_answers(out: Path) -> tuple[list, dict]:
    """answers.json and its .npy files, read as plain data (json; np.load without pickle)."""
    raw = json.loads((out / "answers.json").read_text()[: 50 * 2**20])
    cell_errors = [e for e in raw.get("cell_errors", []) if isinstance(e, dict)][:1000]
    answers = {}
    for exercise_id, record in raw["answers"].items():
        if not isinstance(record, dict):
            raise TypeError("an answer record is not an object")
        answers[str(exercise_id)] = record
    return cell_errors, {k: _decode_record(v, out) for k, v in answers.items()}


def _decode_record(record: dict, out: Path) -> dict:
    decoded = {}
    for key, value in record.items():
        if key == "cases" and isinstance(value, list):
            decoded[key] = [decode(v, out) for v in value]
        elif key == "value":
            decoded[key] = decode(value, out)
        elif key in ("choice", "why", "missing"):
            decoded[key] = value if isinstance(value, str) or value is None else str(value)
    return decoded


def decode(descriptor, out: Path, depth: int = 0):
    """One exported value: JSON data, a float .npy array, or a tuple of those."""
    if not isinstance(descriptor, dict) or depth > 4:
        return Failure("the answer could not be read")
    if "error" in descriptor:
        return Failure(str(descriptor["error"])[:300])
    if "json" in descriptor:
        value = descriptor["json"]
        return value if isinstance(value, (int, float, str, bool)) or value is None else Failure("not plain data")
    if "tuple" in descriptor and isinstance(descriptor["tuple"], list):
        return tuple(decode(d, out, depth + 1) for d in descriptor["tuple"][:16])
    if "npy" in descriptor:
        name = str(descriptor["npy"])
        if os.path.basename(name) != name or not name.endswith(".npy"):
            return Failure("a file name outside the results folder")
        try:
            return np.load(out / name, allow_pickle=False)
        except (OSError, ValueError) as err:
            return Failure(f"the array could not be read ({err})")
    return Failure("the answer could not be read")
