"""Runs one submission inside the sandbox: python runner.py WORKDIR.

WORKDIR holds job.json (the notebook's code cells and the answers to collect) and inputs/
(the arguments chosen at grading time). The runner executes every cell in one namespace,
recording each cell's error and going on, then calls the student's functions on the inputs
and writes what they return as plain data: out/answers.json, and arrays as .npy files.
It never judges anything: the grader does that in its own process.

It imports only the standard library and numpy, before any student code runs.
"""

import json
import os
import signal
import sys

import numpy as np

_exec, _compile, _open, _isinstance = exec, compile, open, isinstance  # kept from before student code
_save, _load, _asarray = np.save, np.load, np.asarray
MAX_ELEMENTS = 10_000_000  # an answer larger than this is not plain data we will read back


class CellTimeout(BaseException):
    """Raised by the alarm when a cell or a call runs past its time."""


_armed = False


def _alarm(signum, frame):
    if _armed:
        end_strays()
        raise CellTimeout()


def arm(seconds):
    """Raise CellTimeout after `seconds`, and again every 0.1 s after that: Python swallows an
    exception raised inside an at-fork hook or a __del__, so one alarm is not enough."""
    global _armed
    _armed = True
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.1)


def disarm():
    global _armed
    _armed = False
    signal.setitimer(signal.ITIMER_REAL, 0)


def without_magics(source: str) -> str:
    """IPython-only lines (%magic, !shell) become comments: there is no IPython here."""
    lines = source.splitlines()
    return "\n".join(("pass  # " + line) if line.lstrip().startswith(("%", "!")) else line for line in lines)


def run_cells(cells, namespace, timeout):
    """Execute the cells in order; return one error record per failing cell."""
    errors = []
    for index, source in enumerate(cells):
        try:
            arm(timeout)
            try:
                _exec(_compile(without_magics(source), f"<cell {index}>", "exec"), namespace)
            finally:
                disarm()
        except CellTimeout:
            errors.append({"cell": index, "error": "CellTimeout", "message": f"the cell ran longer than {timeout} s"})
        except BaseException as err:  # SystemExit and KeyboardInterrupt too: the notebook goes on
            errors.append({"cell": index, "error": type(err).__name__, "message": str(err)[:500]})
        end_strays()
    return errors


def end_strays():
    """In its own PID namespace (the jail) the runner is PID 1, and kill(-1) reaches every other
    process there: whatever a cell started (a background job, a fork bomb) ends with the cell."""
    if os.getpid() == 1:
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass


def load_args(folder):
    manifest = json.load(_open(os.path.join(folder, "args.json")))
    return [(_load(os.path.join(folder, a["npy"]), allow_pickle=False) if "npy" in a else a["json"]) for a in manifest]


def export(value, folder, stem):
    """Plain data for a value: numbers and strings as JSON, arrays as .npy, tuples of those."""
    if value is None or _isinstance(value, (bool, str)):
        return {"json": value if not _isinstance(value, str) else value[:10_000]}
    if _isinstance(value, (int, float)) and type(value) in (int, float):
        return {"json": value}
    if type(value) in (tuple, list):
        return {"tuple": [export(v, folder, f"{stem}_{k}") for k, v in enumerate(value[:16])]}
    array = _asarray(value)
    if array.dtype.kind not in "biuf":
        return {"error": f"not numbers (a {type(value).__name__})"}
    if array.size > MAX_ELEMENTS:
        return {"error": f"too large ({array.size} numbers)"}
    name = f"{stem}.npy"
    _save(os.path.join(folder, name), _asarray(array, dtype=np.float64), allow_pickle=False)  # keeps 0-d as 0-d
    return {"npy": name}


def collect(exercise, namespace, workdir, timeout):
    """The student's answer to one exercise, as plain data (or the reason there is none)."""
    name, out = exercise["name"], os.path.join(workdir, "out")
    if name not in namespace:
        return {"missing": f"the notebook defines no {name}"}
    answer = namespace[name]
    if exercise["kind"] == "choice":
        why = namespace.get(exercise["justification_name"])
        return {"choice": answer[:10] if _isinstance(answer, str) else None,
                "why": why[:2000] if _isinstance(why, str) else None}
    if exercise["kind"] == "value":
        return {"value": _guarded(lambda: export(answer, out, exercise["id"]), timeout)}
    if not callable(answer):
        return {"missing": f"{name} is not a function"}
    results = []
    for case in range(exercise["n_cases"]):
        args = load_args(os.path.join(workdir, "inputs", exercise["id"], str(case)))
        results.append(_guarded(lambda: export(answer(*args), out, f"{exercise['id']}_{case}"), timeout))
    return {"cases": results}


def _guarded(compute, timeout):
    try:
        arm(timeout)
        try:
            return compute()
        finally:
            disarm()
    except CellTimeout:
        return {"error": f"ran longer than {timeout} s"}
    except BaseException as err:
        return {"error": f"{type(err).__name__}: {str(err)[:300]}"}
    finally:
        end_strays()


def main(workdir):
    job = json.load(_open(os.path.join(workdir, "job.json")))
    signal.signal(signal.SIGALRM, _alarm)
    sys.stdin = _open(os.devnull)
    quiet = os.open(os.devnull, os.O_WRONLY)  # whatever the notebook prints goes nowhere
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    namespace = {"__name__": "__main__"}
    cell_errors = run_cells(job["cells"], namespace, job["cell_timeout"])
    answers = {ex["id"]: collect(ex, namespace, workdir, job["cell_timeout"]) for ex in job["exercises"]}
    path = os.path.join(workdir, "out", "answers.json")
    with _open(path + ".tmp", "w") as f:
        json.dump({"cell_errors": cell_errors, "answers": answers}, f)
    os.replace(path + ".tmp", path)
    os._exit(0)  # skip interpreter shutdown: student objects' __del__ and atexit hooks do not run


if __name__ == "__main__":
    main(sys.argv[1])
