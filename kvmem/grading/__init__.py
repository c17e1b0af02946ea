"""Graded exercises: their specifications, the students' check, and the autograder.

- `check(exercise_id, answer)` gives a student immediate feedback from the visible checks;
- `python -m kvmem.grading.generate` writes exercises/ from the solution masters in solutions/;
- `kvmem-grade` (kvmem.grading.cli) grades a folder of submissions.
"""

from . import chapter1, chapter2, chapter3, chapter4, chapter5, chapter6, chapter7, chapter8
from .spec import Exercise, judge

ASSIGNMENTS: dict[int, list[Exercise]] = {
    1: chapter1.EXERCISES, 2: chapter2.EXERCISES, 3: chapter3.EXERCISES, 4: chapter4.EXERCISES,
    5: chapter5.EXERCISES, 6: chapter6.EXERCISES, 7: chapter7.EXERCISES, 8: chapter8.EXERCISES,
}


def exercises(chapter: int) -> list[Exercise]:
    """The exercises of a chapter (an assignment)."""
    if chapter not in ASSIGNMENTS:
        raise ValueError(f"there is no assignment for chapter {chapter!r}; chapters are {sorted(ASSIGNMENTS)}")
    return ASSIGNMENTS[chapter]


def find(exercise_id: str) -> Exercise:
    """The exercise with this id, such as "2.3"."""
    for chapter_exercises in ASSIGNMENTS.values():
        for exercise in chapter_exercises:
            if exercise.id == exercise_id:
                return exercise
    raise ValueError(f"there is no exercise {exercise_id!r}")


from ..variants import variant  # noqa: E402  (a value exercise's numbers for a STUDENT_ID)
from .feedback import check, hidden_cases, show_options  # noqa: E402  (feedback needs find)
