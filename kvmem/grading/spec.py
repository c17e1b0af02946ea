"""What an exercise is: its id, its points, where its answer lives, and how it is judged.

Five kinds:
- "function": the student writes a function; it is called on inputs and its results are
  compared with the reference function's;
- "value": the student computes a value (by hand, then by code) into a variable;
- "choice": the student picks a letter and writes a one-sentence justification;
- "experiment": a short experiment with a plot, left ungraded (0 points);
- "written": a short derivation or explanation in a Markdown answer cell, graded by hand
  against its `rubric` (0 automatic points; the rubric's points are the teaching assistant's).

Every exercise with a part graded by hand (a written answer, or a choice's justification) carries
its `rubric`: (criterion, points) pairs, shown to the teaching assistant beside the answers.

The judging (`judge`) runs in the grader's own process, on plain data brought back from the
student's process: numbers, arrays, strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..variants import BOOK, option_order, variant

KINDS = ("function", "value", "choice", "experiment", "written")
AUTOGRADED = ("function", "value", "choice")
Rubric = tuple[tuple[str, int], ...]
SINGLE_RTOL = 1e-4  # float32 answers are compared with this tolerance, relative to the largest |expected|


@dataclass(frozen=True)
class Exercise:
    id: str                  # "2.3": chapter 2, exercise 3
    points: int
    kind: str
    name: str                # the notebook name that holds the answer
    task: str                # one line: what to do (the stub's message)
    reference: Any = None    # function kind: the reference function; value: a function () -> value;
                             # choice: the right letter
    cases: Callable[[np.random.Generator], list[tuple]] | None = None  # grading-time inputs
    visible: list[tuple] = field(default_factory=list)  # the inputs the student's check uses
    wrong: str = ""          # source of a deliberately wrong answer (the tests plant it)
    rtol: float = 1e-6
    atol: float = 1e-8
    options: tuple[str, ...] = ()  # choice kind: "A: ...", "B: ..."
    rubric: Rubric = ()      # the part graded by hand (a written answer, a choice's justification)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"exercise {self.id}: kind must be one of {KINDS}, not {self.kind!r}")
        if self.kind == "written" and (self.points or not self.rubric):
            raise ValueError(f"exercise {self.id}: a written exercise has 0 automatic points and a rubric")
        if any(not isinstance(c, str) or not isinstance(p, int) or p <= 0 for c, p in self.rubric):
            raise ValueError(f"exercise {self.id}: a rubric is (criterion, positive whole points) pairs")

    @property
    def autograded(self) -> bool:
        return self.kind in AUTOGRADED

    @property
    def manual_points(self) -> int:
        """The points a teaching assistant gives by hand (the rubric's total)."""
        return sum(points for _, points in self.rubric)

    @property
    def chapter(self) -> int:
        return int(self.id.split(".")[0])

    @property
    def justification_name(self) -> str:
        """Choice exercises ask for a justification in this variable."""
        return f"{self.name}_why"

    def expected(self, args: tuple = ()):
        """The right answer (for a function exercise, on the arguments `args`; for a value
        exercise with per-student numbers, on those numbers)."""
        if self.kind == "function":
            return self.reference(*args)
        if self.kind == "value":
            return self.reference(*(args or self.inputs()))
        return self.reference

    def inputs(self, student_id: str = "") -> tuple:
        """A value exercise's inputs for this student's variant ID (none for most exercises)."""
        return variant(self.id, student_id) if self.id in BOOK else ()

    def shown_options(self, student_id: str = "") -> list[str]:
        """A choice exercise's options, lettered in this student's order."""
        order = option_order(self.id, len(self.options), student_id)
        return [f"{self.options[j][0]}: {self.options[i].split(': ', 1)[1]}" for j, i in enumerate(order)]

    def right_letter(self, student_id: str = "") -> str:
        """The letter of the right option in this student's order."""
        book_index = [o[0] for o in self.options].index(self.reference)
        return self.options[option_order(self.id, len(self.options), student_id).index(book_index)][0]


def rubric_item(criterion: str, points: int) -> str:
    """One criterion of a rubric with its points: "criterion (1 point)", "criterion (2 points)"."""
    return f"{criterion} ({points} point{'s' * (points != 1)})"


def rubric_text(rubric: Rubric) -> str:
    """A rubric in one line: "criterion (1 point); criterion (2 points)"."""
    return "; ".join(rubric_item(criterion, points) for criterion, points in rubric)


def judge(exercise: Exercise, got, args: tuple = (), student_id: str = "") -> tuple[bool, str]:
    """Compare a student's answer with the expected one; (passed, a message in plain words).
    `student_id`: the variant ID whose numbers (value) or option order (choice) count."""
    if exercise.kind == "choice":
        return judge_choice(exercise, got, student_id)
    expected = exercise.expected(exercise.inputs(student_id) if exercise.kind == "value" else args)
    label = "the result" if exercise.kind == "function" else exercise.name
    return compare(expected, got, label, exercise.rtol, exercise.atol)


def judge_choice(exercise: Exercise, got, student_id: str = "") -> tuple[bool, str]:
    if not isinstance(got, str) or got.strip().upper() not in {o[0] for o in exercise.options}:
        letters = ", ".join(o[0] for o in exercise.options)
        return False, f"{exercise.name} should be one of the letters {letters}; got {got!r}"
    if got.strip().upper() != exercise.right_letter(student_id):
        return False, f"{exercise.name} = {got.strip().upper()!r} is not the right choice"
    return True, "right choice"


def compare(expected, got, name: str, rtol: float = 1e-6, atol: float = 1e-8) -> tuple[bool, str]:
    """Numbers or arrays (or a tuple of them), compared by shape and then value, with a message
    in plain words that names the problem and never shows the expected answer. Lists, tuples and
    arrays of the right numbers are all accepted."""
    if got is None:
        return False, _none_message(name)
    if isinstance(expected, tuple):
        if isinstance(got, np.ndarray) and got.ndim == 1:
            got = tuple(got)  # an array of the right numbers is as good as a tuple of them
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return False, f"{name} should be a tuple of {len(expected)} numbers; got {_describe(got)}"
        for k, (e, g) in enumerate(zip(expected, got)):
            ok, message = compare(e, g, f"{name}[{k}]", rtol, atol)
            if not ok:
                return ok, message
        return True, "correct"
    expected = np.asarray(expected, dtype=float)
    single = getattr(got, "dtype", None) in (np.float16, np.float32)
    if single:  # single precision: its own rounding
        rtol, atol = max(rtol, SINGLE_RTOL), max(atol, SINGLE_RTOL * float(np.max(np.abs(expected), initial=1.0)))
    as_given = got
    try:
        if np.iscomplexobj(got) and np.any(np.imag(got) != 0):
            raise TypeError("complex")
        got = np.asarray(np.real(got) if np.iscomplexobj(got) else got, dtype=float)
    except (TypeError, ValueError, OverflowError):
        return False, f"{name} should be numbers; got something that is not ({type(as_given).__name__})"
    if got.shape != expected.shape:
        return False, _shape_message(name, expected.shape, got.shape, isinstance(as_given, (list, tuple)))
    if not np.all(np.isfinite(got)):
        return False, f"{name} contains NaN or inf"
    if np.allclose(got, expected, rtol=rtol, atol=atol):
        return True, "correct"
    if np.allclose(got, expected, rtol=NEAR * rtol, atol=NEAR * atol):
        return False, _near_message(name, rtol, single)
    if not got.ndim:
        return False, f"{name} is a single number, and it is not the right one"
    worst = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape)
    return False, (f"{name} has the right shape {got.shape} but wrong values "
                   f"(largest difference at index {tuple(int(i) for i in worst)})")


NEAR = 10  # within NEAR times the tolerance: a rounding problem, not a wrong formula


def _none_message(name: str) -> str:
    if name == "the result":  # judge's label for a function's result
        return "your function returned None: did you forget `return`?"
    return f"{name} is None, not numbers: if it comes from a function of yours, did that function forget `return`?"


def _shape_message(name: str, want: tuple, have: tuple, sequence: bool) -> str:
    """Wrong shape, in words: a single number is not an array, and a list is read as an array."""
    if want == ():
        return f"{name} should be a single number; got {'a list' if sequence else 'an array'} of shape {have}"
    if have == ():
        return f"{name} should be an array of shape {want}; got a single number"
    if sequence:
        return f"{name} is a list; read as an array it has shape {have}, but it should have shape {want}"
    return f"{name} should have shape {want}, got {have}"


def _near_message(name: str, rtol: float, single: bool) -> str:
    precision = ("it is in float32, whose rounding is this large: compute in float64" if single else
                 "rounding errors this large usually come from computing in float32: compute in float64")
    return (f"{name} is close to the right answer but off by more than the tolerance "
            f"(relative {rtol:g}); {precision}")


def _describe(x) -> str:
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape}"
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of {len(x)} items"
    if isinstance(x, (int, float, np.number)) and not isinstance(x, bool):
        return "a single number"
    return f"a {type(x).__name__}"


def describe_call(name: str, args: tuple) -> str:
    """'f(array(5, 2), 3)': a call, with arrays shown by their shapes (never their contents)."""
    parts = [f"array{x.shape}" if isinstance(x, np.ndarray) else repr(x) for x in args]
    return f"{name}({', '.join(parts)})"
