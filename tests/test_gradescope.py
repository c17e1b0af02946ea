"""The Gradescope zip as Gradescope uses it, with the network off: unpacked into a fake
/autograder tree under a temporary root, setup.sh installs the zip's wheels into a fresh venv
(no package index, no pip configuration of this machine), then run_autograder grades submissions
and writes results.json. The network is cut with `unshare -n` where this runs as root; elsewhere
pip is pointed at no index and an unreachable proxy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT
from test_autograder import GRADED, MASTER, master_cells, notebook, validate_gradescope_results

EXPECTED = "chapter2_cumulative_average.ipynb"
EXERCISE = ROOT / "exercises" / EXPECTED


def offline() -> tuple[list[str], dict]:
    """(command prefix, environment) that run a command with no network and no pip configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PIP_CONFIG_FILE="/dev/null", PIP_NO_INDEX="1", http_proxy="http://127.0.0.1:9",
               https_proxy="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9")
    if os.geteuid() == 0 and shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"]).returncode == 0:
        return ["unshare", "-n"], env
    return [], env


@pytest.fixture(scope="module")
def autograder(gradescope_zip, tmp_path_factory) -> Path:
    """ROOT with source/ (the zip) and venv/ made by setup.sh, offline."""
    root = tmp_path_factory.mktemp("gradescope-root") / "autograder"
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(gradescope_zip) as z:
        z.extractall(root / "source")
    for script in ("setup.sh", "run_autograder"):
        os.chmod(root / "source" / script, 0o755)
    prefix, env = offline()
    result = subprocess.run([*prefix, "bash", str(root / "source" / "setup.sh")], capture_output=True, text=True,
                            env={**env, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_NO_APT": "1"}, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return root


def grade(root: Path, files: dict[str, str], **extra_env: str) -> tuple[dict, str]:
    """(results.json, run_autograder's stdout) for a submission made of these files."""
    for folder in ("submission", "results"):
        shutil.rmtree(root / folder, ignore_errors=True)
        (root / folder).mkdir()
    for name, text in files.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_text(text)
    prefix, env = offline()
    result = subprocess.run([*prefix, "bash", str(root / "source" / "run_autograder")], capture_output=True, text=True,
                            env={**env, "AUTOGRADER_ROOT": str(root), **extra_env}, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    results = json.loads((root / "results" / "results.json").read_text())
    validate_gradescope_results(results)
    return results, result.stdout


def test_the_zip_carries_a_wheel_for_every_pin(gradescope_zip):
    with zipfile.ZipFile(gradescope_zip) as z:
        names = z.namelist()
        pins = z.read("wheels/requirements.txt").decode().split()
    wheels = {n.split("/")[1].split("-")[0].lower().replace("_", "-") for n in names if n.endswith(".whl")}
    assert {p.split("==")[0] for p in pins} | {"pip"} == wheels
    assert {"numpy==2.4.6", "matplotlib==3.11.2", "autograd==1.9.1", "nbformat==5.11.1"} <= set(pins)  # requirements.txt


def test_setup_installs_the_wheels_into_its_own_venv_offline(autograder):
    python = autograder / "venv" / "bin" / "python"
    where = subprocess.run([str(python), "-c", "import numpy, matplotlib, nbformat, autograd; print(numpy.__file__)"],
                           capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, check=True).stdout
    assert where.startswith(str(autograder / "venv"))


def test_the_expected_notebook_is_graded_and_a_checkpoint_copy_and_a_draft_are_ignored(autograder):
    exercise = EXERCISE.read_text()  # scores 0
    results, stdout = grade(autograder, {EXPECTED: MASTER.read_text(), "A_draft.ipynb": exercise,
                                         f".ipynb_checkpoints/{EXPECTED[:-6]}-checkpoint.ipynb": exercise})
    assert results["score"] == 9
    assert f"Graded {EXPECTED}." in results["output"] and f"grading {EXPECTED}" in stdout
    assert "2.1: 2 / 2" in stdout  # the instructor's log


def test_the_only_notebook_is_graded_whatever_its_name_and_without_a_sandbox_the_log_says_so(autograder):
    results, stdout = grade(autograder, {"my work.ipynb": MASTER.read_text(), "notes.txt": "hello"},
                            KVMEM_GRADE_ISOLATION="none")  # as on an image where bubblewrap could not be installed
    assert results["score"] == 9 and "Graded my work.ipynb." in results["output"]
    assert "WARNING: NO SANDBOX" in stdout and "sandbox none" in stdout


def test_several_notebooks_and_none_named_like_the_assignment_is_a_clear_message(autograder):
    results, stdout = grade(autograder, {"a.ipynb": MASTER.read_text(), "b.ipynb": MASTER.read_text()})
    assert results["score"] == 0
    assert "2 notebooks were submitted (a.ipynb, b.ipynb)" in results["output"] and f"{EXPECTED}" in results["output"]
    assert "2 notebooks were submitted" in stdout


def test_hidden_cases_are_shown_after_the_due_date_and_cell_errors_are_reported(autograder):
    broken = notebook(master_cells() + ["raise RuntimeError('my own bug')" + GRADED])
    results, stdout = grade(autograder, {EXPECTED: broken})
    tests = {t["name"]: t for t in results["tests"]}
    assert tests["Exercise 2.1"]["visibility"] == "after_due_date"  # it has hidden cases in the solution master
    assert tests["Exercise 2.1: drawn cases (the hidden cases are shown after the due date)"]["max_score"] == 0
    assert tests["Exercise 2.2"]["visibility"] == "visible"        # a value: no hidden case
    assert "RuntimeError: my own bug" in results["output"] and "RuntimeError" in stdout
