"""The students' check: run an exercise's visible checks and say, in plain words, what is wrong."""

from __future__ import annotations

import copy
import inspect

from .spec import describe_call, judge, rubric_text


def check(exercise_id: str, answer, justification: str | None = None, student_id: str = "") -> None:
    """Run the visible checks of one exercise on `answer`; print what passed or what is wrong.

    Function exercises: pass the function. Value exercises: pass the value. Choice exercises:
    pass the letter and the justification. `student_id`: the notebook's STUDENT_ID, whose
    numbers a value exercise is checked on. The check never shows the expected answer.
    """
    visible_checks_pass(exercise_id, answer, justification, student_id)


def show_options(exercise_id: str, student_id: str = "") -> None:
    """Print a choice exercise's options in this student's order (the book's without an ID)."""
    from . import find

    print("\n".join(find(exercise_id).shown_options(student_id)))


def visible_checks_pass(exercise_id: str, answer, justification: str | None = None, student_id: str = "") -> bool:
    """`check`, returning whether the visible checks pass."""
    from . import find

    exercise = find(exercise_id)
    header = f"Exercise {exercise.id}"
    if exercise.kind == "experiment":
        print(f"{header}: an experiment, not graded automatically. Make sure your plot has labelled axes.")
        return True
    if exercise.kind == "written":
        print(f"{header}: a written answer, read by your instructor against this rubric: {rubric_text(exercise.rubric)}")
        return True
    if exercise.kind == "choice":
        return _check_choice(exercise, answer, justification, header)
    if exercise.kind == "value":
        ok, message = judge(exercise, answer, student_id=student_id)
        print(f"{header}: {message}" if not ok else f"{header}: correct.")
        return ok
    return _check_function(exercise, answer, header)


def _check_function(exercise, function, header: str) -> bool:
    if not callable(function):
        print(f"{header}: {exercise.name} should be a function; got {type(function).__name__}")
        return False
    for k, args in enumerate(exercise.visible, 1):
        call = describe_call(exercise.name, args)
        try:
            got = function(*copy.deepcopy(args))
        except NotImplementedError:
            print(f"{header}: not answered yet. Replace `raise NotImplementedError(...)` with your code.")
            return False
        except Exception as err:  # the student's code failed: say how, not where in our code
            print(f"{header}, visible check {k} of {len(exercise.visible)}: {call} raised "
                  f"{type(err).__name__}: {err}")
            return False
        ok, message = judge(exercise, got, args)
        if not ok:
            print(f"{header}, visible check {k} of {len(exercise.visible)}: {call}: {message}")
            return False
    passed = "the visible check passes" if len(exercise.visible) == 1 else f"all {len(exercise.visible)} visible checks pass"
    print(f"{header}: {passed}. The grader will also try inputs you have not seen.")
    return True


def _check_choice(exercise, letter, justification, header: str) -> bool:
    letters = [option[0] for option in exercise.options]
    if not isinstance(letter, str) or letter.strip().upper() not in letters:
        print(f"{header}: {exercise.name} should be one of the letters {', '.join(letters)}; got {letter!r}")
        return False
    if not isinstance(justification, str) or len(justification.split()) < 3:
        print(f"{header}: write a one-sentence justification in {exercise.justification_name}.")
        return False
    print(f"{header}: your choice {letter.strip().upper()} and its justification are recorded; "
          "the choice is graded when you submit.")
    return True


_recording: list | None = None  # set by the grader while it reads hidden checks


def hidden_cases(exercise_id: str, cases: list[tuple]) -> bool:
    """A hidden check (solution notebooks only): extra inputs for a function exercise.

    In a solution notebook it runs the cases against the answer defined there. The grader reads
    these cells from the solution masters (or an instructor's private folder) and calls the
    student's function on the same inputs, in the student's sandbox.
    """
    from . import find

    exercise = find(exercise_id)
    if _recording is not None:
        _recording.append((exercise.id, [tuple(args) for args in cases]))
        return True
    namespace = inspect.currentframe().f_back.f_globals
    function = namespace[exercise.name]
    for args in cases:
        ok, message = judge(exercise, function(*copy.deepcopy(args)), args)
        if not ok:
            print(f"hidden check {exercise.id}: {describe_call(exercise.name, args)}: {message}")
            return False
    print(f"hidden check {exercise.id}: " + ("1 case passes" if len(cases) == 1 else f"{len(cases)} cases pass"))
    return True
