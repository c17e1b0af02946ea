"""The PDF edition (`make pdf`): every chapter and every figure caption is in it, animations
print as stills, and its pages render."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import nbformat
import numpy as np
import pytest
import yaml

from conftest import ROOT

PDF = ROOT / "_build" / "latex" / "memory-course.pdf"

pytestmark = pytest.mark.pdf


@pytest.fixture(scope="module")
def pdf() -> Path:
    """The PDF, built with warnings as errors if it is not there yet."""
    if shutil.which("pdftotext") is None or shutil.which("xelatex") is None:
        pytest.fail("TeX Live or poppler is missing: `make latex` installs them (make test does)")
    if not PDF.exists():
        jupyter_book = Path(sys.executable).with_name("jupyter-book")
        subprocess.run([str(jupyter_book), "build", "--builder", "pdflatex", "-W", "-n", "--keep-going",
                        str(ROOT)], check=True)
    return PDF


@pytest.fixture(scope="module")
def text(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True)
    typeset = out.stdout.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return " ".join(typeset.split())  # one line, single spaces: captions may wrap anywhere


def chapter_notebooks() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = []
    for part in toc["parts"]:
        if part["caption"] == "Chapters":
            for chapter in part["chapters"]:
                files.append(chapter["file"])
                files.extend(section["file"] for section in chapter.get("sections", []))
    return [ROOT / f"{f}.ipynb" for f in files]


def title(notebook: Path) -> str:
    """The notebook's title: its first level-1 heading."""
    for cell in nbformat.read(notebook, as_version=4).cells:
        match = re.search(r"^#\s+(.+)$", cell.source, re.M) if cell.cell_type == "markdown" else None
        if match:
            return match.group(1).strip()
    raise AssertionError(f"{notebook.name} has no title")


def caption_words(caption: str) -> str:
    """The caption's first words before any maths or markup: text that pdftotext must find."""
    plain = re.split(r"[$`{\[*_(:;]", caption)[0]
    return " ".join(plain.split()[:6])


def captions() -> list[tuple[str, str]]:
    found = []
    for notebook in chapter_notebooks():
        for cell in nbformat.read(notebook, as_version=4).cells:
            figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
            if figure.get("caption") and len(caption_words(figure["caption"]).split()) >= 3:
                found.append((notebook.name, caption_words(figure["caption"])))
    return found


def test_pdf_has_pages(pdf: Path) -> None:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert pages >= 10 * len(chapter_notebooks()), f"only {pages} pages"


def test_every_chapter_title_is_in_the_pdf(text: str) -> None:
    missing = [title(nb) for nb in chapter_notebooks() if title(nb).upper() not in text.upper()]
    assert not missing, f"chapters missing from the PDF: {missing}"


def test_every_figure_caption_is_in_the_pdf(text: str) -> None:
    found = captions()
    assert len(found) >= 10, "the chapters should have captioned figures"
    missing = [(nb, words) for nb, words in found if words not in text]
    assert not missing, f"captions missing from the PDF: {missing}"


def test_no_raw_object_reprs_in_the_pdf(text: str) -> None:
    """Animations and explorers print as their still figures, not as Python object names."""
    leaks = re.findall(r"<IPython\.core\.display\.\w+ object>|object at 0x[0-9a-f]+|(?:HBox|VBox)\(children", text)
    assert not leaks, leaks


def test_pages_render(pdf: Path, tmp_path: Path) -> None:
    subprocess.run(["pdftoppm", "-r", "40", "-f", "1", "-l", "12", "-png", str(pdf), str(tmp_path / "page")],
                   check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == 12
    inked = [np.mean(mpimg.imread(p)[..., :3].min(axis=-1) < 0.8) for p in pages]
    # LaTeX leaves the backs of the title page and of part pages blank; the rest carry text.
    assert sum(share > 0.001 for share in inked) >= 9, f"too many blank pages: {inked}"
