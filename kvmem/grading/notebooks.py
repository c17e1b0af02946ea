"""Solution masters and the student notebooks generated from them.

In a solution notebook (solutions/chapterN.ipynb):
- a code region between `### BEGIN SOLUTION <id>` and `### END SOLUTION` is the answer to
  exercise <id>; the student notebook gets `raise NotImplementedError("Exercise <id>: <task>")`
  in its place, at the same indentation;
- a Markdown region between `<!-- BEGIN SOLUTION -->` and `<!-- END SOLUTION -->` is a written
  answer; the student notebook gets a prompt to write their own;
- a cell tagged `hidden-check` holds hidden checks; the student notebook does not get it.
Outputs are cleared in the student notebook.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION (?P<id>\d+\.\d+)[ \t]*$")
END = re.compile(r"^[ \t]*### END SOLUTION[ \t]*$")
MD_REGION = re.compile(r"<!-- BEGIN SOLUTION -->.*?<!-- END SOLUTION -->", re.S)
MD_STUB = "*Write your answer here.*"
TITLE = re.compile(r"^# Solutions\b", re.M)  # "# Solutions 2: ..." becomes "# Exercises 2: ..."
HIDDEN_TAG = "hidden-check"
BOOK_ONLY_TAGS = {"hide-input", "remove-cell"}  # how the book shows solutions; not for students


class NotebookFormatError(ValueError):
    """A solution notebook whose markers do not pair up."""


def solution_regions(source: str) -> list[tuple[str, int, int]]:
    """(exercise id, first line, last line) of each code solution region, 0-based, markers included."""
    regions, open_region = [], None
    for number, line in enumerate(source.splitlines()):
        if match := BEGIN.match(line):
            if open_region:
                raise NotebookFormatError(f"BEGIN SOLUTION {match['id']} inside the region of {open_region[0]}")
            open_region = (match["id"], number, match["indent"])
        elif END.match(line):
            if not open_region:
                raise NotebookFormatError(f"END SOLUTION without BEGIN SOLUTION at line {number + 1}")
            regions.append((open_region[0], open_region[1], number))
            open_region = None
    if open_region:
        raise NotebookFormatError(f"BEGIN SOLUTION {open_region[0]} is never closed")
    return regions


def replace_regions(source: str, replacement) -> str:
    """Replace each solution region by replacement(exercise_id, indent), a string of lines, or
    leave it as it is where that returns None."""
    lines = source.splitlines()
    for exercise_id, first, last in reversed(solution_regions(source)):
        new = replacement(exercise_id, BEGIN.match(lines[first])["indent"])
        if new is not None:
            lines[first: last + 1] = new.splitlines()
    return "\n".join(lines)


def stub(exercise_id: str, indent: str) -> str:
    from . import find

    task = find(exercise_id).task.replace('"', "'")
    return f'{indent}raise NotImplementedError("Exercise {exercise_id}: {task}")'


def student_notebook(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student notebook for a solution master."""
    student = nbformat.v4.new_notebook(metadata=solution.metadata)
    for cell in solution.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if HIDDEN_TAG in tags:
            continue
        kept_tags = sorted(tags - BOOK_ONLY_TAGS)
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(replace_regions(cell.source, stub))
        elif cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(TITLE.sub("# Exercises", MD_REGION.sub(MD_STUB, cell.source)))
        else:
            new = nbformat.v4.new_raw_cell(cell.source)
        if kept_tags:
            new.metadata["tags"] = kept_tags
        student.cells.append(new)
    for cell in student.cells:  # ids derived from position: regenerating gives the same file
        cell.id = f"cell-{student.cells.index(cell)}"
    return student


def render(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def generate_all(solutions: Path, exercises: Path, check_only: bool = False) -> list[Path]:
    """Write (or, with check_only, compare) exercises/<name>.ipynb for each solutions/<name>.ipynb.

    Returns the exercise notebooks that were out of date.
    """
    stale = []
    for master in sorted(solutions.glob("*.ipynb")):
        text = render(student_notebook(nbformat.read(master, as_version=4)))
        target = exercises / master.name
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            stale.append(target)
            if not check_only:
                target.write_text(text, encoding="utf-8")
    return stale
