"""Runs one submission inside the sandbox: python -I -S runner.py JOB_FD HIDDEN_FD.

The job (read from the inherited file descriptor JOB_FD, then closed) holds the cells to run,
the answers to collect, the drawn grading inputs and the folders Python may import from. The
runner executes the cells in one namespace, each under its own alarm, recording each cell's
error and going on; then it collects each exercise's answer in a forked child with its own
deadline, so that a function that never returns costs that exercise only. Answers go back to
the grader as JSON lines on the standard output it was started with (arrays as .npy bytes in
base64); everything the notebook itself prints goes to /dev/null. It never judges anything.

The instructor's hidden cases are not in the job: once everything else is sent, the runner
writes HIDDEN_REQUEST and only then does the grader write them to HIDDEN_FD. The grader keeps
nothing but the hidden cases' records from after that line (and judges those by kind only), so
no code of the notebook can carry a hidden input into text that reaches the feedback.

It imports only the standard library and numpy, before any student code runs.
"""

import base64
import builtins
import io
import json
import numbers
import os
import re
import shutil
import signal
import sys
import time
import types

_exec, _compile, _isinstance, _type, _write = exec, compile, isinstance, type, os.write
_handle, _timer, _sigmask = signal.signal, signal.setitimer, signal.pthread_sigmask  # before a cell patches them
MAX_ELEMENTS = 1_000_000  # an answer larger than this is not plain data we will send back
MAX_ITEMS = 64             # a list or tuple longer than this is sent back as one array
MAX_DEPTH = 4
MAX_CONTAINERS = 250_000   # JSON objects in one answer record (the grader ignores a line with 300,000)
HIDDEN_REQUEST = {"hidden_inputs": "please"}  # the line after which only hidden-case records count


class CellTimeout(BaseException):
    """Raised by the alarm when a cell runs past its time."""


GRACE = 5.0          # seconds a cell may go on swallowing CellTimeout before it is abandoned
_armed = False
_deadline = 0.0
_abandon = None      # set by main: collects the answers as they stand and exits
_fork = os.fork
RUNNER_PID = os.getpid()


def _no_fork():
    raise CellTimeout()


def _alarm(signum, frame):
    if os.getpid() != RUNNER_PID:  # a process the notebook forked, which inherited the signal
        os._exit(1)
    if not _armed:
        return
    if time.monotonic() > _deadline + GRACE and _abandon is not None:
        _abandon()   # a cell that swallows every CellTimeout: grade what is defined, never return
    # A fork bomb spends its time in fork's at-fork hooks, where Python swallows exceptions:
    # past its time, fork itself raises.
    os.fork = _no_fork
    end_strays()
    raise CellTimeout()


def arm(seconds):
    """Raise CellTimeout after `seconds`, and again every 0.1 s after that: Python swallows an
    exception raised inside an at-fork hook or a __del__, so one alarm is not enough. The
    handler is installed again and SIGALRM unblocked each time: an earlier cell may have set a
    SIGALRM handler of its own (a timeout helper), which would leave every later cell unbounded
    and the whole notebook lost to the grader's wall-clock limit."""
    global _armed, _deadline
    _handle(signal.SIGALRM, _alarm)
    _sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})
    _armed, _deadline = True, time.monotonic() + seconds
    _timer(signal.ITIMER_REAL, seconds, 0.1)


def disarm():
    """Stop the alarm. Never raises: an alarm that lands before `_armed` is cleared is caught
    and the stop is tried again."""
    global _armed
    while True:
        try:
            _armed = False
            _timer(signal.ITIMER_REAL, 0)
            os.fork = _fork
            return
        except CellTimeout:
            continue


def end_strays(seconds=1.0):
    """As PID 1 of its own PID namespace (the sandbox) the runner reaches every other process
    there with kill(-1): whatever a cell started (a background job, a fork bomb) ends with the
    cell. Orphans become the runner's children: it reaps them until none is left."""
    if os.getpid() != 1:
        return
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            return  # no process left but the runner
        time.sleep(0.005)


# -- what IPython would provide -------------------------------------------------------------

_TIMEIT_OPTIONS = re.compile(r"^(\s*-[a-zA-Z](\s+\d+)?)*\s*")


class Shell:
    """Enough of get_ipython() for the code IPython's input transformer writes: timing magics
    run their statement once, other magics and shell commands do nothing (no shell here)."""

    def __init__(self, namespace):
        self.user_ns = namespace

    def run_line_magic(self, name, line, *args, **kwargs):
        if name in ("time", "timeit", "prun"):
            return self._run(_TIMEIT_OPTIONS.sub("", line, count=1))
        return None

    def run_cell_magic(self, name, line, body, *args, **kwargs):
        if name in ("time", "timeit", "prun", "capture"):
            self._run(body)
        return None

    def _run(self, source):
        """The value of an expression (`x = %time f(2)`), or run statements."""
        try:
            code = _compile(source, "<magic>", "eval")
        except SyntaxError:
            _exec(_compile(source, "<magic>", "exec"), self.user_ns)
            return None
        return eval(code, self.user_ns)

    def getoutput(self, *args, **kwargs):
        return []

    def system(self, *args, **kwargs):
        return 0


def display(*objects, **kwargs):
    """IPython's display(): nothing is shown while grading."""


# -- matplotlib, imported on first use --------------------------------------------------------

LAZY = ("matplotlib", "matplotlib.pyplot")


class LazyModule(types.ModuleType):
    """Stands in sys.modules for a module until something of it is used; then the module is
    imported and every attribute comes from it. Most graded cells never draw (the grader skips
    plots), and importing matplotlib.pyplot would cost more than the rest of the grading."""

    def __getattr__(self, attribute):
        return getattr(load_lazy(self.__name__), attribute)


def install_lazy_modules():
    """matplotlib and matplotlib.pyplot as LazyModules (when matplotlib is there at all)."""
    import importlib.util

    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return
    package, pyplot = LazyModule("matplotlib"), LazyModule("matplotlib.pyplot")
    package.__path__ = list(spec.submodule_search_locations)  # `from matplotlib import x` needs it
    package.pyplot = pyplot
    sys.modules.update({"matplotlib": package, "matplotlib.pyplot": pyplot})
    sys.meta_path.insert(0, LazyFinder())


class LazyFinder:
    """Any other matplotlib module imports the real matplotlib first."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.startswith("matplotlib.") and name not in LAZY and _isinstance(sys.modules.get("matplotlib"), LazyModule):
            load_lazy("matplotlib")
        return None


def load_lazy(name):
    """The real module for a LazyModule's name (its package first)."""
    import importlib

    if name == "matplotlib.pyplot":
        load_lazy("matplotlib")
    if _isinstance(sys.modules.get(name), LazyModule):
        del sys.modules[name]
    return importlib.import_module(name)


# -- running the cells ------------------------------------------------------------------------

def run_cells(cells, namespace, timeout, budget, errors):
    """Execute the cells in order, appending one error record per failing or skipped cell to
    `errors`. Each cell has `timeout` seconds; once `budget` seconds are spent, the remaining
    cells are skipped."""
    deadline = time.monotonic() + budget
    for index, source in cells:
        left = deadline - time.monotonic()
        if left <= 0:
            errors.append({"cell": index, "error": "Skipped", "message": "the notebook's time budget was spent"})
            continue
        errors.append({"cell": index, "error": "CellTimeout", "message": "the cell never gave back control; "
                       "the cells after it were not run"})  # replaced below if the cell ends
        try:
            arm(min(timeout, left))
            try:
                _exec(_compile(source, f"<cell {index}>", "exec"), namespace)
            finally:
                disarm()
            errors.pop()
        except CellTimeout:
            disarm()  # again: an alarm may have landed in the `finally` before its disarm() ran
            errors[-1] = {"cell": index, "error": "CellTimeout", "message": f"the cell ran longer than {timeout} s"}
        except BaseException as err:  # SystemExit and KeyboardInterrupt too: the notebook goes on
            disarm()
            errors[-1] = {"cell": index, "error": _type(err).__name__, "message": str(err)[:500]}
        end_strays()
    return errors


# -- answers as plain data --------------------------------------------------------------------

class TooLarge(Exception):
    pass


_elements_left = MAX_ELEMENTS  # for the answer being exported: many references to one big
                               # array count once per reference
_containers_left = MAX_CONTAINERS  # for the record being exported: past it, lists become arrays


def _array_descriptor(array, np):
    """An array of numbers as .npy bytes (float16/32/64 keep their type; others become float64)."""
    if array.dtype.kind == "c":
        if np.any(array.imag != 0):
            raise TypeError("complex numbers with an imaginary part")
        array = array.real
    if array.dtype.kind not in "fiub":
        array = np.asarray(array, dtype=np.float64)  # object arrays of numbers, Fractions...
    global _elements_left
    if array.size > _elements_left:
        raise TooLarge(f"too large (more than {MAX_ELEMENTS} numbers in one answer)")
    _elements_left -= array.size
    if array.dtype.kind != "f" or array.dtype.itemsize not in (2, 4, 8):
        array = array.astype(np.float64)
    buffer = io.BytesIO()
    np.save(buffer, np.array(array, order="C").astype(array.dtype.newbyteorder("<")), allow_pickle=False)  # keeps 0-d
    return {"npy": base64.b64encode(buffer.getvalue()).decode("ascii")}


def export(value, np, depth=0):
    """Plain data for a value: numbers, strings and None as JSON; arrays (and long sequences of
    numbers) as .npy bytes; lists and tuples item by item."""
    global _containers_left
    if value is None or _type(value) in (bool, str):
        return {"json": value if _type(value) is not str else value[:10_000]}
    if _type(value) is int:
        if abs(value) > 2 ** 1023:
            raise OverflowError("a number too large for a float")
        return {"json": value}
    if _type(value) is float:
        return {"json": value} if value == value and abs(value) != float("inf") else _array_descriptor(np.asarray(value), np)
    if _type(value) in (tuple, list) and depth < MAX_DEPTH:
        _containers_left -= len(value) + 1
        if len(value) <= MAX_ITEMS and _containers_left >= 0:
            return {"tuple": [export(v, np, depth + 1) for v in value]}
        return _array_descriptor(np.asarray(value, dtype=np.float64), np)
    if _isinstance(value, np.floating) and value.dtype.itemsize < 8:
        return _array_descriptor(np.asarray(value), np)  # a float32 number keeps its type (and its tolerance)
    if _isinstance(value, numbers.Real) and not _isinstance(value, np.ndarray):
        return export(float(value), np, depth)  # Fraction, Decimal, numpy scalars
    return _array_descriptor(np.asarray(value), np)


def _describe_error(err):
    return f"{_type(err).__name__}: {str(err)[:300]}"


def _exported(compute, np):
    global _elements_left
    _elements_left = MAX_ELEMENTS
    try:
        return export(compute(), np)
    except BaseException as err:
        return {"error": _describe_error(err)}


def answer_record(exercise, namespace, inputs, np):
    """The student's answer to one exercise, as plain data (or the reason there is none)."""
    global _containers_left
    _containers_left = MAX_CONTAINERS
    name = exercise["name"]
    if name not in namespace:
        return {"missing": f"the notebook defines no {name}"}
    answer = namespace[name]
    if exercise["kind"] == "choice":
        why = namespace.get(exercise["justification_name"])
        return {"choice": answer[:10] if _isinstance(answer, str) else None,
                "why": why[:2000] if _isinstance(why, str) else None}
    if exercise["kind"] == "value":
        return {"value": _exported(lambda: answer, np)}
    if not callable(answer):
        return {"missing": f"{name} is not a function"}
    return {"cases": [_exported(lambda: answer(*args), np) for args in inputs]}


def _fork_when_possible(seconds=2.0):
    """fork(), tried again while the process limit is still full of processes being ended."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return _fork()
        except BlockingIOError:
            if time.monotonic() > deadline:
                return None
            end_strays(0.1)


def collect(exercise, namespace, inputs, timeout, send, np, tag="answer"):
    """Collect one exercise in a forked child with `timeout` seconds (a SIGKILL at the end: no
    loop can swallow it); the parent sends a record of its own if the child sends none.
    `tag`: "answer" for the answer on the drawn inputs, "hidden" for the hidden cases."""
    def record(value):
        send({tag: exercise["id"], "record": value})

    pid = _fork_when_possible()
    if pid is None:
        record({"failed": "no process could be started to collect it"})
        return
    if pid == 0:
        signal.setitimer(signal.ITIMER_REAL, 0)
        try:
            record(answer_record(exercise, namespace, inputs, np))
        finally:
            os._exit(0)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
                record({"failed": "the process collecting it died"})
            return
        time.sleep(0.002)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    end_strays()
    record({"failed": f"it ran longer than {timeout} s"})


# -- the inputs and the job -------------------------------------------------------------------

def decode_input(descriptor, np):
    if "npy" in descriptor:
        return np.load(io.BytesIO(base64.b64decode(descriptor["npy"])), allow_pickle=False)
    return descriptor["json"]


def read_job(fd):
    with os.fdopen(fd, "rb") as f:
        return json.loads(f.read())


def decode_inputs(wire, np):
    """{exercise id: [[descriptor, ...], ...]} as {exercise id: [(argument, ...), ...]}."""
    return {k: [tuple(decode_input(a, np) for a in case) for case in cases] for k, cases in wire.items()}


def sender(fd):
    """A function that writes one JSON line to the grader."""
    def send(message):
        data = (json.dumps(message) + "\n").encode()
        while data:
            data = data[_write(fd, data):]
    return send


def prepare(job):
    """Import path, matplotlib cache, quiet output, the IPython stand-ins: all before student code."""
    sys.path[:0] = job["path"]
    os.makedirs(os.path.join(job["workdir"], "tmp"), exist_ok=True)
    os.chdir(job["workdir"])
    if job.get("matplotlib_cache") and os.path.isdir(job["matplotlib_cache"]):
        shutil.copytree(job["matplotlib_cache"], os.path.join(job["workdir"], ".matplotlib"), dirs_exist_ok=True)
    results = os.dup(1)
    quiet = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(quiet, fd)
    sys.stdin = open(os.devnull)
    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file too large fails its write, not the notebook
    return results


def finish(job, namespace, inputs, cell_errors, send, np, hidden_fd):
    """Send the cell errors and each exercise's answers; ask for the hidden cases, collect
    them; then end the process."""
    disarm()
    send({"cell_errors": cell_errors[:1000]})
    for exercise in job["exercises"]:
        collect(exercise, namespace, inputs.get(exercise["id"], []), job["exercise_timeout"], send, np)
    send(HIDDEN_REQUEST)
    hidden = decode_inputs(read_job(hidden_fd), np)
    for exercise in job["exercises"]:
        if hidden.get(exercise["id"]):
            collect(exercise, namespace, hidden[exercise["id"]], job["exercise_timeout"], send, np, tag="hidden")
    send({"done": True})
    os._exit(0)  # skip interpreter shutdown: student objects' __del__ and atexit hooks do not run


def main(job_fd, hidden_fd):
    global _abandon
    job = read_job(job_fd)
    send = sender(prepare(job))
    import numpy as np  # from the sandbox's own view of site-packages

    install_lazy_modules()
    inputs = decode_inputs(job["inputs"], np)
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    shell = Shell(namespace)
    builtins.get_ipython = lambda: shell
    builtins.display = display
    cell_errors = []
    _abandon = lambda: finish(job, namespace, inputs, cell_errors, send, np, hidden_fd)
    try:
        run_cells(job["cells"], namespace, job["cell_timeout"], job["notebook_budget"], cell_errors)
    except CellTimeout:  # an alarm in the few instructions between a cell's end and disarm()
        cell_errors.append({"cell": None, "error": "CellTimeout", "message": "the remaining cells were not run"})
    finish(job, namespace, inputs, cell_errors, send, np, hidden_fd)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
