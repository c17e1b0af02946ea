"""Shared fixtures: the repository root and the built book."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")  # tests draw figures without a screen

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"


@pytest.fixture(scope="session")
def built_book() -> Path:
    """The HTML book, built with warnings as errors if it is not there yet."""
    if not (HTML / "index.html").exists():
        jupyter_book = Path(sys.executable).with_name("jupyter-book")
        subprocess.run([str(jupyter_book), "build", "-W", "-n", "--keep-going", str(ROOT)], check=True)
    return HTML


@pytest.fixture(scope="session")
def gradescope_zip(tmp_path_factory) -> Path:
    """The chapter 2 Gradescope zip, built once per session. Its wheels come from the package
    index (pip's cache makes a second session fast), or only from the folder $KVMEM_WHEELS."""
    from kvmem.grading.gradescope import build_zip

    wheels = os.environ.get("KVMEM_WHEELS")
    try:
        return build_zip(2, tmp_path_factory.mktemp("gradescope") / "autograder.zip",
                         wheels_from=Path(wheels) if wheels else None,
                         python=f"{sys.version_info.major}.{sys.version_info.minor}")  # this machine's, for setup.sh
    except ValueError as err:
        pytest.skip(f"the zip's wheels cannot be had here: {str(err)[:300]}")
