"""Variant IDs: what each student types as STUDENT_ID, made from the student ID and a salt.

    python -m kvmem.grading.variant_ids --salt-file SALT STUDENT_ID [STUDENT_ID ...]

prints one line per student: the student ID (as the grader reads it from the file name: a
Canvas user id, a Moodle `Participant <n>`, or the file's name; on Gradescope the user's email,
sid or id in submission_metadata.json, as the zip was built) and the variant ID to give that student, `<student ID>-<6 hex digits of HMAC-SHA256(salt, ID)>`.
The salt never leaves the instructor: a student knows only their own variant ID, so cannot work
out a classmate's numbers, and a new salt gives everyone new numbers. The grader, given the same
salt (`kvmem-grade --salt-file SALT`), makes each student's variant ID from the file name.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import sys
from pathlib import Path

from ..variants import clean_id


def variant_id(student: str, salt: str) -> str:
    """The variant ID of a student under an assignment's salt ("" without a salt: the book's numbers)."""
    if not salt:
        return ""
    tag = hmac.new(salt.encode(), clean_id(student).encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()
    return f"{student.strip()}-{tag[:6]}"


def read_salt(path: Path | None) -> str:
    """The salt in a file (its first word); "" without a file."""
    if path is None:
        return ""
    return salt_in(path.read_text(encoding="utf-8"), f"the salt file {path}")


def salt_in(text: str, where: str) -> str:
    """The salt in the text of a salt file: its first word; a ValueError naming `where` if there is none."""
    words = text.split()
    if not words:
        raise ValueError(f"{where} is empty")
    return words[0]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kvmem.grading.variant_ids", description=__doc__.splitlines()[0])
    parser.add_argument("--salt-file", type=Path, required=True, help="a file whose first line is the assignment's salt")
    parser.add_argument("students", nargs="+", help="student IDs, as the grader reads them from the file names")
    args = parser.parse_args(argv)
    try:
        salt = read_salt(args.salt_file)
    except (OSError, ValueError) as err:
        parser.error(str(err))
    for student in args.students:
        print(f"{student}\t{variant_id(student, salt)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
