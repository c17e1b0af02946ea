"""The student edition (`make book-student`) holds no worked solution and no link to one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT

STUDENT = ROOT / "_build" / "student"
HTML = STUDENT / "_build" / "html"
BEGIN, END = re.compile(r"(###|<!--) BEGIN SOLUTION"), re.compile(r"(###|<!--) END SOLUTION")


@pytest.fixture(scope="module")
def student_html() -> Path:
    """The student edition, built with warnings as errors if it is not there yet."""
    if not (HTML / "intro.html").exists():
        STUDENT.mkdir(parents=True, exist_ok=True)
        toc = subprocess.run([sys.executable, "-m", "book_ext.editions", "_toc.yml"], cwd=ROOT,
                             check=True, capture_output=True, text=True).stdout
        (STUDENT / "_toc.yml").write_text(toc)
        jupyter_book = Path(sys.executable).with_name("jupyter-book")
        subprocess.run([str(jupyter_book), "build", "-W", "-n", "--keep-going", "--toc", str(STUDENT / "_toc.yml"),
                        "--path-output", str(STUDENT), str(ROOT)],
                       check=True, cwd=ROOT, env=os.environ | {"KVMEM_EDITION": "student"})
    return HTML


def public_lines() -> set[str]:
    """Lines of the chapters and exercise notebooks, which both editions publish."""
    return {line.strip() for folder in ("chapters", "exercises") for nb in (ROOT / folder).glob("*.ipynb")
            for cell in nbformat.read(nb, as_version=4).cells for line in cell.source.splitlines()}


def solution_lines() -> list[str]:
    """Every substantial line inside a solution region of the solution masters that no line of the
    chapters and exercises contains (a plotting line that a chapter shares is not an answer)."""
    public = public_lines()
    lines = []
    for master in sorted((ROOT / "solutions").glob("chapter*.ipynb")):
        for cell in nbformat.read(master, as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if BEGIN.search(line):
                    inside = True
                elif END.search(line):
                    inside = False
                elif inside and len(line.strip()) >= 25 and not any(line.strip() in p for p in public):
                    lines.append(line.strip())
    return lines


def published_text(html: Path) -> dict[str, str]:
    return {p.relative_to(html).as_posix(): p.read_text(encoding="utf-8", errors="replace")
            for p in html.rglob("*") if p.is_file() and p.suffix in (".html", ".ipynb", ".md", ".txt", ".js")}


def test_no_solution_page_is_built(student_html: Path) -> None:
    assert (student_html / "chapters").is_dir() and (student_html / "exercises").is_dir()
    leaked = [p for p in student_html.rglob("*") if "solutions" in p.relative_to(student_html).parts]
    assert not leaked, leaked


def test_no_page_links_to_a_solution(student_html: Path) -> None:
    links = {page: re.findall(r'href="[^"]*solutions/[^"]*"', text)
             for page, text in published_text(student_html).items()}
    assert not {p: l for p, l in links.items() if l}
    # The links became words (Sphinx's smart quotes curl the apostrophe).
    assert re.search(r"the instructor(&#8217;|’|')s edition", (student_html / "chapters" / "01_why_memory.html").read_text())


def test_no_solution_text_is_published(student_html: Path) -> None:
    lines = solution_lines()
    assert len(lines) >= 20, "the solution masters should have solution regions"
    pages = published_text(student_html)
    # Pages escape & < > " ' in HTML; compare against both spellings.
    import html as html_lib
    leaks = [(line, page) for line in lines for page, text in pages.items()
             if line in text or html_lib.escape(line) in text]
    assert not leaks, leaks[:5]
