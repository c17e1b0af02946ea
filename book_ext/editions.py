"""The student edition of the book: everything but the worked solutions.

For courses that publish the book to students during term. `make book-student` builds it into
_build/student/html:

- `python -m book_ext.editions _toc.yml` writes a table of contents without the Solutions part;
- with KVMEM_EDITION=student this Sphinx extension turns every link to a solution page into
  plain words ("the instructor's edition"), and reuses the full edition's jupyter-cache, so the
  chapters are not executed twice.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

SOLUTIONS_CAPTION = "Solutions"
SOLUTION_LINK = re.compile(r"\{doc\}`[^`]*\bsolutions/[^`]*`")
INSTEAD = "the instructor's edition"


def is_student_edition() -> bool:
    return os.environ.get("KVMEM_EDITION", "full") == "student"


def student_toc(toc_text: str) -> str:
    """The table of contents with the Solutions part left out."""
    import yaml

    toc = yaml.safe_load(toc_text)
    toc["parts"] = [part for part in toc["parts"] if part.get("caption") != SOLUTIONS_CAPTION]
    return yaml.safe_dump(toc, sort_keys=False)


def unlink_solutions(app, docname, source) -> None:
    source[0] = SOLUTION_LINK.sub(INSTEAD, source[0])


def share_execution_cache(app, config) -> None:
    """Read the full edition's executed notebooks instead of running them again."""
    config.nb_execution_cache_path = str(Path(app.srcdir) / "_build" / ".jupyter_cache")


def setup(app):
    if is_student_edition():
        app.connect("config-inited", share_execution_cache)
        app.connect("source-read", unlink_solutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    print(student_toc(Path(sys.argv[1]).read_text()), end="")
