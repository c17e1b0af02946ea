"""Run one submission's code in a fresh, limited sandbox and bring its answers back as plain data.

The sandbox is bubblewrap (Debian's `bubblewrap`, the sandbox Flatpak uses). Per submission:
new user, network, IPC, PID, UTS and mount namespaces; a read-only view holding only the
system's /usr, the Python interpreter, numpy, matplotlib (and what they import) and the public
`kvmem` models, with `kvmem.grading` replaced by a stub whose check() does nothing; a
size-limited tmpfs as the working folder (and /tmp); a new /proc and a minimal /dev whose
/dev/shm is a size-limited tmpfs of its own; no /run,
no home folders, no repository, no submissions, hidden checks or results. `--die-with-parent`,
`--new-session`, no_new_privs. As root, each submission also runs inside a cgroup that limits
its memory, process count and CPU (one core) as a whole, and as its own unprivileged uid wherever that uid can
run the grader's Python (see drops_to_own_uid); rlimits always apply.

The job (cells, inputs) goes in through an inherited file descriptor; the answers come back as
JSON lines on a pipe that the grader reads under a size cap. Nothing the submission writes
survives it: the only writable places are tmpfs mounts of its own namespace.

Where no sandbox can be made (no bubblewrap, no user namespaces), or with
KVMEM_GRADE_ISOLATION=none, `isolation_mode()` is "none": the runner then starts with rlimits
(and, as root, its own uid) alone, and every result says "isolation": "none".
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .cgroup import SubmissionCgroup
from .readback import parse_answers
from .runner import HIDDEN_REQUEST

HERE = Path(__file__).resolve().parent
SANDBOX_UID_BASE = 61_000  # sandbox users as root: 61000, 61001, ... one per running submission
SANDBOX_UIDS = 512
OUTPUT_CAP = 64 * 2**20    # bytes of answers read back from one submission
SHM_BYTES = 32 * 2**20     # /dev/shm (POSIX shared memory, semaphores), out of Limits.disk_bytes
THIRD_PARTY = ("numpy", "matplotlib", "mpl_toolkits", "PIL", "cycler", "dateutil", "fontTools",
               "kiwisolver", "packaging", "pyparsing", "contourpy", "six.py", "autograd")
STUB = '''"""The course's grading package is not available while a notebook is graded: check(),
show_options() and hidden_cases() do nothing and reveal nothing here; variant() gives a value
exercise's numbers, as in the student's own notebook."""

from ..variants import variant


def show_options(*args, **kwargs):
    return None


def check(*args, **kwargs):
    return None


def visible_checks_pass(*args, **kwargs):
    return None


def hidden_cases(*args, **kwargs):
    return None
'''


@dataclass(frozen=True)
class Limits:
    cell_seconds: int = 10           # per cell, and per exercise when its answers are collected
    notebook_seconds: int = 60       # all graded cells together
    memory_bytes: int = 2 * 2**30    # the whole submission (cgroup), and address space per process
    processes: int = 64              # processes and threads of the whole submission
    file_bytes: int = 64 * 2**20     # largest file it may write
    disk_bytes: int = 256 * 2**20    # its working folder, /tmp and /dev/shm together (tmpfs sizes)
    cpu_seconds: int = 120

    def wall_seconds(self, exercises: int) -> float:
        """The hard limit for the whole run: cells, collection, start-up."""
        return self.notebook_seconds + (exercises + 1) * self.cell_seconds + 10


@dataclass
class RunResult:
    status: str                      # ok, timeout, crash, exit, memory, no-answers
    detail: str = ""
    cell_errors: list = field(default_factory=list)
    answers: dict = field(default_factory=dict)
    seconds: float = 0.0             # up to the request for the hidden cases, where there is one
    isolation: str = "bwrap"
    hidden: dict = field(default_factory=dict)  # the hidden cases' records, asked for after the answers


# -- sandbox users and their locks -----------------------------------------------------------

def lock_folder() -> Path:
    """A folder for the uid locks owned by this user and writable by no one else: a folder made
    first by another local user (in /tmp) is refused, never used."""
    folder = Path(tempfile.gettempdir()) / f"kvmem-grade-locks-{os.geteuid()}"
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise RuntimeError(f"{folder} is not a folder owned by this user and writable by it alone; remove it")
    return folder


@contextlib.contextmanager
def claim_uids(count: int):
    """`count` sandbox uids (as root) that no other grader on this machine is using, for as long
    as the context lasts (a lock file each: the lock ends with the process, however it ends).
    Not root: [None] * count (the submission runs as this user, inside its user namespace)."""
    if os.geteuid() != 0:
        yield [None] * count
        return
    folder, claimed, handles = lock_folder(), [], []
    try:
        for uid in range(SANDBOX_UID_BASE, SANDBOX_UID_BASE + SANDBOX_UIDS):
            if len(claimed) == count:
                break
            fd = os.open(folder / f"{uid}.lock", os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            claimed.append(uid)
            handles.append(fd)
        if len(claimed) < count:
            raise RuntimeError(f"only {len(claimed)} free sandbox uids for {count} workers")
        yield claimed
    finally:
        for fd in handles:
            os.close(fd)


# -- what the sandbox shows -------------------------------------------------------------------

@dataclass(frozen=True)
class View:
    """The read-only folders a submission sees, prepared once per batch under `base`."""
    base: Path
    site: Path                       # kvmem (public models, grading stub), built here
    third_party: tuple[tuple[str, str], ...]  # (host path, name in the sandbox's site folder)
    python: str
    prefix: str
    matplotlib_cache: Path

    def binds(self) -> list[tuple[str, str]]:
        binds = [(self.prefix, self.prefix), (str(self.site / "kvmem"), "/sandbox/site/kvmem"),
                 (str(HERE / "runner.py"), "/sandbox/runner.py"), (str(self.matplotlib_cache), "/sandbox/matplotlib-cache")]
        return binds + [(path, f"/sandbox/site/{name}") for path, name in self.third_party]

    def host_path(self) -> list[str]:
        """sys.path of a runner without sandbox: the stub first, then the real site-packages."""
        return [str(self.site)] + sorted({os.path.dirname(path) for path, _ in self.third_party})


@functools.lru_cache(maxsize=None)
def _usable_by_others(view: View) -> bool:
    """Whether another user can run this Python on these folders."""
    paths = [view.python, view.prefix, str(HERE / "runner.py"), *view.host_path(), *(p for p, _ in view.binds())]
    return all(_others_can_read(Path(p)) for p in paths)


def drops_to_own_uid(view: View, uid: int | None) -> bool:
    """As root, a submission runs as its own uid (61000, ...) wherever that uid can run Python:
    bubblewrap then starts unprivileged. Where it cannot (a Python under /root), bubblewrap
    starts as root and the submission is that uid inside its user namespace only, with no
    capabilities, its limits held by the cgroup."""
    return uid is not None and os.geteuid() == 0 and _usable_by_others(view)


def _others_can_read(path: Path) -> bool:
    """Every folder above `path` is traversable by others, and `path` readable by them."""
    try:
        if not os.stat(path).st_mode & stat.S_IROTH:
            return False
        return all(os.stat(folder).st_mode & stat.S_IXOTH for folder in path.resolve().parents)
    except OSError:
        return False


def _third_party() -> tuple[tuple[str, str], ...]:
    """numpy, matplotlib, what they import, and their bundled libraries (*.libs)."""
    import numpy

    site = Path(numpy.__file__).resolve().parent.parent
    names = [n for n in THIRD_PARTY if (site / n).exists()]
    wanted = {n.split(".")[0].lower() for n in names} | {"pillow"}
    names += sorted(p.name for p in site.glob("*.libs") if p.is_dir() and p.name.split(".")[0].lower() in wanted)
    return tuple((str(site / n), n) for n in names)


def _public_kvmem(site: Path) -> None:
    """A copy of the kvmem package without its grading package, which becomes the stub."""
    package = HERE.parent
    (site / "kvmem" / "grading").mkdir(parents=True)
    for module in package.glob("*.py"):
        shutil.copy2(module, site / "kvmem" / module.name)
    (site / "kvmem" / "grading" / "__init__.py").write_text(STUB)


def _matplotlib_cache(folder: Path) -> Path:
    """A font cache built once per batch and copied into each working folder (building it
    costs about a second per submission otherwise)."""
    folder.mkdir()
    subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env={**os.environ, "MPLCONFIGDIR": str(folder)},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    return folder


_views: dict[Path, View] = {}
_views_lock = threading.Lock()


def view_for(base: Path) -> View:
    """The View of a batch whose temporary folder is `base` (made on first use)."""
    with _views_lock:
        if base not in _views:
            os.chmod(base, 0o711)  # the sandbox users open binds by descriptor; others need traverse only
            site = base / "site"
            _public_kvmem(site)
            for path in [site, *site.rglob("*")]:
                os.chmod(path, 0o755 if path.is_dir() else 0o644)
            python = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
            _views[base] = View(base, site, _third_party(), python, os.path.realpath(sys.base_prefix),
                                _matplotlib_cache(base / "matplotlib-cache"))
        return _views[base]


def _system_binds() -> list[str]:
    """/usr read-only, and /bin, /lib... as in the host (links into /usr, or folders)."""
    arguments = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            arguments += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            arguments += ["--ro-bind", str(path), str(path)]
    return arguments + ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]


def bwrap_arguments(limits: Limits, env: dict, uid: int | None) -> list[str]:
    """bubblewrap's arguments for one submission (the binds come from View.binds). Inside, the
    submission is `uid` (as root: the claimed sandbox uid) with no capabilities, and may not
    make user namespaces of its own."""
    arguments = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--unshare-user", "--disable-userns",
                 "--die-with-parent", "--new-session", "--as-pid-1", "--hostname", "sandbox", "--cap-drop", "ALL",
                 "--clearenv"]
    if uid is not None:
        arguments += ["--uid", str(uid), "--gid", str(uid)]
    for name, value in env.items():
        arguments += ["--setenv", name, value]
    shm = min(SHM_BYTES, limits.disk_bytes // 4)  # /dev/shm is writable too: its share of the disk limit
    return arguments + _system_binds() + ["--proc", "/proc", "--dev", "/dev", "--size", str(shm), "--perms", "1777",
                                          "--tmpfs", "/dev/shm", "--size", str(limits.disk_bytes - shm), "--tmpfs", "/work",
                                          "--symlink", "/work/tmp", "/tmp", "--chdir", "/work"]


def _environment(workdir: str) -> dict:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": workdir, "TMPDIR": f"{workdir}/tmp", "LANG": "C.UTF-8",
           "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{workdir}/.matplotlib", "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # some processors need these
        if name in os.environ:
            env[name] = os.environ[name]
    return env


# -- starting it ------------------------------------------------------------------------------

def _rlimits(limits: Limits, cgroup: SubmissionCgroup | None, uid: int | None) -> dict:
    """Per-process limits. The process count limit is per user: as root each submission has its
    own uid; as an ordinary user it counts the user's other processes too, so it is raised by
    those (the cgroup, when there is one, holds the real per-submission limit)."""
    processes = limits.processes
    if uid is None:
        processes += _processes_of(os.getuid())
    return {"RLIMIT_AS": limits.memory_bytes, "RLIMIT_NPROC": processes, "RLIMIT_FSIZE": limits.file_bytes,
            "RLIMIT_CPU": limits.cpu_seconds, "RLIMIT_CORE": 0}


def _processes_of(uid: int) -> int:
    count = 0
    for status in Path("/proc").glob("[0-9]*/task/[0-9]*/status"):
        with contextlib.suppress(OSError, StopIteration, ValueError):
            line = next(l for l in status.read_text().splitlines() if l.startswith("Uid:"))
            count += int(line.split()[1]) == uid
    return count


def jail_config(mode: str, view: View, limits: Limits, uid: int | None, job_fd: int, hidden_fd: int, workdir: str,
                cgroup: SubmissionCgroup | None) -> dict:
    """What jail.py needs: the cgroups to join, the uid, the limits, and the command."""
    sandboxed = mode == "bwrap"
    env = _environment("/work" if sandboxed else workdir)
    runner = "/sandbox/runner.py" if sandboxed else str(HERE / "runner.py")
    return {"mode": mode, "uid": uid, "drop": drops_to_own_uid(view, uid), "cgroups": cgroup.procs_files if cgroup else [], "env": env,
            "rlimits": _rlimits(limits, cgroup, uid), "workdir": workdir,
            "bwrap": bwrap_arguments(limits, env, uid) if sandboxed else [],
            "binds": view.binds() if sandboxed else [],
            "command": [view.python, "-I", "-S", runner, str(job_fd), str(hidden_fd)]}


class _Drain(threading.Thread):
    """Reads a pipe to its end, keeping the first `cap` bytes (or the last, with tail=True).
    With `on_line`: the first time the line `on_line[0]` is read, `on_line[1]()` is called,
    `line_at` is where that line starts in `data` and `line_time` when it was read."""

    def __init__(self, stream, cap: int, tail: bool = False, on_line: tuple[bytes, Callable] | None = None):
        super().__init__(daemon=True)
        self.stream, self.cap, self.tail, self.data = stream, cap, tail, bytearray()
        self.on_line, self.line_at, self.line_time, self._searched = on_line, None, None, 0
        self.start()

    def run(self):
        with contextlib.suppress(OSError, ValueError):
            while chunk := self.stream.read1(1 << 16):
                if self.tail:
                    self.data = (self.data + chunk)[-self.cap:]
                elif len(self.data) < self.cap:
                    self.data += chunk[: self.cap - len(self.data)]
                    if self.on_line and self.line_at is None:
                        self._watch()

    def _watch(self):
        """Look for the line in what arrived since the last look (linear in all)."""
        line, callback = self.on_line
        if self.data.startswith(line + b"\n"):
            self.line_at = 0
        else:
            found = self.data.find(b"\n" + line + b"\n", max(self._searched - len(line) - 2, 0))
            self.line_at = found + 1 if found >= 0 else None
        self._searched = len(self.data)
        if self.line_at is not None:
            self.line_time = time.perf_counter()
            callback()


class _Deferred:
    """Bytes for a pipe, written (in a thread of their own: the reader may never read them all)
    only when called; `close` closes the pipe if they never were. Whichever comes first takes
    the descriptor: a call after `close` (a stray process's late request) does nothing, for
    the descriptor's number may belong to another submission by then."""

    def __init__(self, fd: int, data: bytes):
        self.fd, self.data, self.taken, self._lock = fd, data, False, threading.Lock()

    def _take(self) -> bool:
        with self._lock:
            taken, self.taken = self.taken, True
        return not taken

    def __call__(self):
        if self._take():
            threading.Thread(target=self._write, daemon=True).start()

    def _write(self):
        with contextlib.suppress(OSError), os.fdopen(self.fd, "wb") as pipe:
            pipe.write(self.data)

    def close(self):
        if self._take():
            os.close(self.fd)


def _job_file(job: dict) -> int:
    """An unlinked temporary file holding the job, as a descriptor the runner inherits."""
    handle = tempfile.TemporaryFile()
    handle.write(json.dumps(job).encode())
    handle.flush()
    handle.seek(0)
    fd = os.dup(handle.fileno())
    handle.close()
    os.set_inheritable(fd, True)
    return fd


def _places(mode: str, view: View, workdir: str) -> dict:
    """Where the runner works and imports from, as seen from where it runs."""
    if mode == "bwrap":
        return {"workdir": workdir, "path": ["/sandbox/site"], "matplotlib_cache": "/sandbox/matplotlib-cache"}
    return {"workdir": workdir, "path": view.host_path(), "matplotlib_cache": str(view.matplotlib_cache)}


def run_in_sandbox(cells: list, jobs: list[dict], inputs: dict, limits: Limits, base: Path, uid: int | None,
                   hidden: dict | None = None) -> RunResult:
    """Execute the cells and collect the answers named in `jobs` on `inputs`; then, only when the
    runner asks for them after everything else is sent, on the `hidden` inputs. Never raises
    for anything the submission does."""
    mode, view = isolation_mode(), view_for(base)
    if mode != "bwrap" and not drops_to_own_uid(view, uid):
        uid = None  # no sandbox, and Python is not usable by another user: it runs as this user
    workdir = "/work" if mode == "bwrap" else tempfile.mkdtemp(prefix="submission-", dir=base)
    if mode != "bwrap" and uid is not None:
        os.chown(workdir, uid, uid)
    job = {"cells": cells, "exercises": jobs, "inputs": inputs, "cell_timeout": limits.cell_seconds,
           "notebook_budget": limits.notebook_seconds, "exercise_timeout": limits.cell_seconds,
           **_places(mode, view, workdir)}
    cgroup = SubmissionCgroup.make(limits.memory_bytes, limits.processes) if os.geteuid() == 0 else None
    job_fd = _job_file(job)
    hidden_fd, hidden_writer = os.pipe()
    os.set_inheritable(hidden_fd, True)
    send_hidden = _Deferred(hidden_writer, json.dumps(hidden or {}).encode())
    try:
        config = jail_config(mode, view, limits, uid, job_fd, hidden_fd, workdir, cgroup)
        result = _execute(config, limits.wall_seconds(len(jobs) + len(hidden or {})), {j["id"] for j in jobs}, send_hidden)
    finally:
        os.close(job_fd)
        os.close(hidden_fd)
        send_hidden.close()
        if cgroup:
            cgroup.remove()
        if mode != "bwrap":
            shutil.rmtree(workdir, ignore_errors=True)
            if uid is not None:
                _kill_user(uid)
    result.isolation = mode
    return result


def _execute(config: dict, wall_seconds: float, exercise_ids: set[str], send_hidden: _Deferred) -> RunResult:
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-I", "-S", str(HERE / "jail.py"), json.dumps(config)],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               pass_fds=[int(fd) for fd in config["command"][-2:]], start_new_session=True)
    request = json.dumps(HIDDEN_REQUEST).encode()
    answers_pipe = _Drain(process.stdout, OUTPUT_CAP, on_line=(request, send_hidden))
    errors_pipe = _Drain(process.stderr, 4096, tail=True)
    try:
        process.wait(timeout=wall_seconds)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        _kill_group(process.pid)
        process.wait()
    for pipe in (answers_pipe, errors_pipe):
        pipe.join(timeout=5)  # without a sandbox a stray process may hold the pipe: do not wait for it
    # Up to the request for the hidden cases: how long they take may be made of their inputs.
    seconds = (answers_pipe.line_time or time.perf_counter()) - start
    answers = parse_answers(bytes(answers_pipe.data), exercise_ids, hidden_from=answers_pipe.line_at)
    if timed_out:
        status, detail = "timeout", f"the notebook ran longer than {wall_seconds:g} s"
    elif (process.returncode != 0 or not answers.finished) and answers_pipe.line_at is not None:
        status, detail = HIDDEN_PHASE_FAILURE  # its exit code or signal may be made of a hidden input
    elif process.returncode != 0 or not answers.finished:
        status, detail = _failure_status(process.returncode, bytes(errors_pipe.data))
    else:
        status, detail = "ok", ""
    # Answers count only from a runner that finished: one that exited early may have written
    # records of its own making.
    return RunResult(status, detail, answers.cell_errors, answers.records if status == "ok" else {}, seconds,
                     hidden=answers.hidden if status == "ok" else {})


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _kill_user(uid: int, seconds: float = 2.0) -> None:
    """SIGKILL every process still running as a sandbox user, until none is left (no sandbox)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = False
        for status in Path("/proc").glob("[0-9]*/status"):
            with contextlib.suppress(OSError, StopIteration, ValueError):
                line = next(l for l in status.read_text().splitlines() if l.startswith("Uid:"))
                if int(line.split()[1]) == uid:
                    found = True
                    os.kill(int(status.parent.name), signal.SIGKILL)
        if not found:
            return
        time.sleep(0.02)


HIDDEN_PHASE_FAILURE = ("exit", "the notebook's process ended while its hidden cases were collected")


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
    if code == 0:
        return "no-answers", "the notebook left no answers to read"
    return "exit", f"the notebook's process exited with code {code} before it was graded"


# -- can a sandbox be made here? --------------------------------------------------------------

NO_SANDBOX_REASON: list[str] = []  # why isolation_mode() is "none", when the trial failed


@functools.lru_cache(maxsize=None)
def isolation_mode() -> str:
    """"bwrap" where bubblewrap runs a trial sandbox on this machine (as this user), else "none".
    KVMEM_GRADE_ISOLATION=none skips the sandbox on purpose."""
    if os.environ.get("KVMEM_GRADE_ISOLATION", "").lower() == "none":
        NO_SANDBOX_REASON.append("KVMEM_GRADE_ISOLATION=none")
        return "none"
    if not shutil.which("bwrap"):
        NO_SANDBOX_REASON.append("bubblewrap (bwrap) is not installed")
        return "none"
    base = Path(tempfile.mkdtemp(prefix="kvmem-grade-trial-"))
    try:
        problem = _trial(base)
    except (OSError, subprocess.SubprocessError, RuntimeError) as err:
        problem = str(err)
    finally:
        with _views_lock:
            _views.pop(base, None)
        shutil.rmtree(base, ignore_errors=True)
    if problem:
        NO_SANDBOX_REASON.append(problem)
        return "none"
    return "bwrap"


def _trial(base: Path) -> str:
    """Start one sandbox that imports numpy and the grading stub; "" if it works, else why not."""
    with claim_uids(1) as (uid,):
        config = jail_config("bwrap", view_for(base), Limits(), uid, -1, -1, "/work", None)
        config["command"][-3:] = ["-c", "import sys; sys.path[:0] = ['/sandbox/site']; import numpy, kvmem.grading; "
                                  "print('sandbox works')"]
        trial = subprocess.run([sys.executable, "-I", "-S", str(HERE / "jail.py"), json.dumps(config)],
                               capture_output=True, timeout=60)
    if trial.returncode == 0 and b"sandbox works" in trial.stdout:
        return ""
    return trial.stderr.decode(errors="replace").strip()[-500:] or f"exit code {trial.returncode}"


def can_isolate() -> bool:
    """Whether submissions run in a bubblewrap sandbox here."""
    return isolation_mode() == "bwrap"
