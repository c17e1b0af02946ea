"""The Gradescope zip as Gradescope uses it, with the network off: unpacked into a fake
/autograder tree under a temporary root, setup.sh installs the zip's wheels into a fresh venv
(no package index, no pip configuration of this machine), then run_autograder grades submissions
and writes results.json. The network is cut with `unshare -n` where this runs as root; elsewhere
pip is pointed at no index and an unreachable proxy."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

from conftest import ROOT
from kvmem.grading.gradescope import (DEFAULT_PYTHON, METADATA, SALT_FILE, build_zip, check_python, read_metadata, run,
                                      setup_sh, submission_users)
from kvmem.grading.sandbox import can_isolate
from kvmem.grading.variant_ids import variant_id
from kvmem.variants import BOOK, SHUFFLED
from test_autograder import GRADED, MASTER, master_cells, notebook, validate_gradescope_results
from test_variants import ALICE, BOB, SALT, right_letter, student_notebook

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


def set_up(archive: Path, root: Path, python_folder: Path | None = None) -> Path:
    """ROOT with source/ (the zip) and venv/ made by setup.sh, offline (with python_folder first
    on PATH, as a base image's Python would be)."""
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(archive) as z:
        z.extractall(root / "source")
    for script in ("setup.sh", "run_autograder"):
        os.chmod(root / "source" / script, 0o755)
    prefix, env = offline()
    if python_folder:
        env["PATH"] = f"{python_folder}:{env.get('PATH', '/usr/bin:/bin')}"
    result = subprocess.run([*prefix, "bash", str(root / "source" / "setup.sh")], capture_output=True, text=True,
                            env={**env, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_NO_APT": "1"}, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return root


@pytest.fixture(scope="module")
def autograder(gradescope_zip, tmp_path_factory) -> Path:
    return set_up(gradescope_zip, tmp_path_factory.mktemp("gradescope-root") / "autograder")


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


# -- per-student variants: the student is read from submission_metadata.json ------------------

THIS_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def metadata(*users: dict) -> str:
    """submission_metadata.json as Gradescope documents it (the fields the grader reads)."""
    return json.dumps({"id": 123456, "created_at": "2026-11-26T14:22:32.365935-07:00",
                       "assignment": {"title": "Chapter 2", "total_points": "9.0"}, "submission_method": "upload",
                       "users": list(users), "previous_submissions": []})


def user(sid: str, name: str = "A Student") -> dict:
    return {"email": f"{sid}@example.edu", "id": zlib.crc32(sid.encode()) % 10**6, "name": name, "sid": sid}


@pytest.fixture(scope="module")
def salted_zip(gradescope_zip, tmp_path_factory) -> Path:
    """The chapter 2 zip with a salt, students known by their `sid`; its wheels are those of
    gradescope_zip (no package index)."""
    folder = tmp_path_factory.mktemp("salted")
    with zipfile.ZipFile(gradescope_zip) as z:
        for name in z.namelist():
            if name.startswith("wheels/") and name.endswith(".whl"):
                (folder / "wheels").mkdir(exist_ok=True)
                (folder / "wheels" / Path(name).name).write_bytes(z.read(name))
    (folder / "salt.txt").write_text(SALT + "\n")
    return build_zip(2, folder / "autograder.zip", python=THIS_PYTHON, wheels_from=folder / "wheels",
                     salt_file=folder / "salt.txt", student_id="sid")


@pytest.fixture(scope="module")
def salted(salted_zip, tmp_path_factory) -> Path:
    return set_up(salted_zip, tmp_path_factory.mktemp("gradescope-salted") / "autograder")


def own_notebook(tmp_path: Path, student: str) -> str:
    """The notebook `student` hands in: their variant ID, their letter in 2.4, their numbers."""
    vid = variant_id(student, SALT)
    return student_notebook(tmp_path / f"{student}.ipynb", vid, right_letter(vid)).read_text()


def lost(results: dict) -> set[str]:
    """The exercises that scored less than their maximum."""
    return {t["name"].split()[1] for t in results["tests"] if t["name"].startswith("Exercise") and t["score"] < t["max_score"]}


def test_the_salt_travels_in_the_zip_and_nowhere_else(salted_zip):
    with zipfile.ZipFile(salted_zip) as z:
        assert z.read(SALT_FILE).decode().split() == [SALT]
        config = json.loads(z.read("config.json"))
        leaks = [n for n in z.namelist() if n != SALT_FILE and not n.endswith(".whl") and SALT.encode() in z.read(n)]
    assert config["variants"] is True and config["student_id"] == "sid" and not leaks


def test_each_student_gets_full_marks_for_their_own_numbers_and_zero_for_the_others(salted, tmp_path):
    notebooks = {s: own_notebook(tmp_path, s) for s in (ALICE, BOB)}
    for student, other in ((ALICE, BOB), (BOB, ALICE)):
        (salted / METADATA).write_text(metadata(user(student)))
        own, stdout = grade(salted, {EXPECTED: notebooks[student]})
        assert own["score"] == 9, own["output"]
        assert "STUDENT_ID" not in own["output"] and f"graded on variant {variant_id(student, SALT)}" in stdout
        copied, stdout = grade(salted, {EXPECTED: notebooks[other]})  # the classmate's notebook, ID and all
        assert {"2.2", "2.4"} <= lost(copied) <= set(BOOK) | SHUFFLED  # only the exercises with variants
        assert "STUDENT_ID" in copied["output"] and variant_id(other, SALT) in copied["output"]
        assert variant_id(student, SALT) in copied["output"] and "STUDENT_ID" in stdout  # flagged, as kvmem-grade does
        assert SALT not in json.dumps(own) + json.dumps(copied) + stdout


def test_a_group_is_graded_on_the_member_whose_variant_the_notebook_holds(salted, tmp_path):
    (salted / METADATA).write_text(metadata(user(BOB, "Bob"), user(ALICE, "Alice")))
    results, stdout = grade(salted, {EXPECTED: own_notebook(tmp_path, ALICE)})
    assert results["score"] == 9 and "group member" in stdout and "STUDENT_ID" not in results["output"]


def test_setup_stops_on_the_wrong_python_and_names_the_base_image(tmp_path):
    """A zip for Python 3.12 (Ubuntu 24.04) set up on Gradescope's default Ubuntu 22.04 (Python 3.10)."""
    stubs = tmp_path / "bin"
    stubs.mkdir()
    (stubs / "python3").write_text("#!/bin/sh\necho 3.10\n")  # what Ubuntu 22.04's python3 prints
    (stubs / "python3.12").write_text("#!/bin/sh\nexit 127\n")  # a python3.12 that does not run (a pyenv shim)
    (stubs / "python3").chmod(0o755)
    (stubs / "python3.12").chmod(0o755)
    (tmp_path / "setup.sh").write_text(setup_sh("3.12"))
    result = subprocess.run(["bash", str(tmp_path / "setup.sh")], capture_output=True, text=True,
                            env={"PATH": f"{stubs}:/usr/bin:/bin", "AUTOGRADER_ROOT": str(tmp_path)})
    assert result.returncode == 1 and not (tmp_path / "venv").exists()
    assert "wheels are for Python 3.12, but this image's python3 is Python 3.10." in result.stderr
    assert "pick the base image Ubuntu 24.04, variant Base" in result.stderr
    assert "numpy 2.4.6 needs Python >=3.11" in result.stderr


def test_a_zip_for_a_python_the_pins_do_not_support_is_refused_before_any_download():
    with pytest.raises(ValueError, match=r"numpy .* needs Python >=3\.11"):
        check_python("3.10")
    with pytest.raises(ValueError, match="Python version"):
        check_python("python3")
    check_python("3.12")


# -- hostile metadata: a clear message in results.json and the log, never a lost submission --

@pytest.fixture
def fake_root(salted_zip, tmp_path) -> Path:
    """An unpacked salted zip (no venv: run() is called here, and these cases never reach grading)."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(salted_zip) as z:
        z.extractall(root / "source", [n for n in z.namelist() if not n.startswith("wheels/")])
    (root / "submission").mkdir()
    (root / "results").mkdir()
    (root / "submission" / EXPECTED).write_text(MASTER.read_text())
    return root


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


HOSTILE = {  # what is at ROOT/submission_metadata.json -> words the message must hold
    "missing": (None, "is missing"),
    "huge": ("huge", "larger than 32 MB"),
    "link": ("link", "symbolic link"),
    "fifo": ("fifo", "not a regular file"),
    "a folder": ("folder", "not a regular file"),
    "not json": ("{users: [", "not valid JSON"),
    "not utf-8": (b"\xff\xfe{}", "not valid JSON"),
    "deeply nested": (nested(200_000), "not valid JSON"),
    "a list": ("[1, 2]", "holds a list, not an object"),
    "no users": (json.dumps({"users": []}), "lists no users"),
    "users not a list": (json.dumps({"users": "alice"}), "lists no users"),
    "a user not an object": (json.dumps({"users": ["alice"]}), "user 1 in submission_metadata.json is a string, not an object"),
    "no sid": (json.dumps({"users": [{"email": "a@b.c", "name": "A"}]}), "'sid' of user 1"),
    "sid a list": (metadata({**user("x"), "sid": ["alice"]}), "'sid' of user 1 in submission_metadata.json is a list, not a string"),
    "sid empty": (metadata({**user("x"), "sid": "  "}), "is empty"),
    "sid too long": (metadata({**user("x"), "sid": "a" * 5000}), "5000 characters long"),
    "sid an object": (metadata({**user("x"), "sid": {"a": 1}}), "is an object, not a string"),
    "sid a float": (metadata({**user("x"), "sid": 1.5}), "is a number, not a string"),
    "sid 5000 digits": ('{"users": [{"sid": ' + "9" * 5000 + "}]}", "not valid JSON"),
    "sid with a newline": (metadata({**user("x"), "sid": "alice\nbob"}), "control or invisible characters (alice\\nbob)"),
    "sid with a bidi override": (metadata({**user("x"), "sid": "alice\u202e"}), "control or invisible characters"),
    "sid with a NUL": (metadata({**user("x"), "sid": "al\x00ice"}), "control or invisible characters"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_bad_metadata_is_a_clear_message_and_a_results_json(fake_root, case, capsys):
    content, words = HOSTILE[case]
    path = fake_root / METADATA
    if content == "huge":
        with open(path, "wb") as f:
            f.truncate(33 * 2**20)  # sparse: costs no disk
    elif content == "link":
        (fake_root / "elsewhere.json").write_text(metadata(user(ALICE)))
        path.symlink_to(fake_root / "elsewhere.json")
    elif content == "fifo":
        os.mkfifo(path)
    elif content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = run(fake_root)
    stdout = capsys.readouterr().out
    written = json.loads((fake_root / "results" / "results.json").read_text())
    validate_gradescope_results(written)
    assert written == json.loads(json.dumps(result)) and written["score"] == 0
    assert words in written["output"] and "tell your instructor" in written["output"], written["output"]
    assert "NOT GRADED" in stdout and words in stdout
    assert SALT not in json.dumps(written) + stdout


def test_metadata_ids_are_read_from_any_of_its_fields():
    data = json.loads(metadata({"email": " Ada@Example.edu ", "id": 77, "name": "Ada\u202e", "sid": "s-1"}))
    assert submission_users(data, "email") == [("Ada@Example.edu", "Ada\\u202e")]  # the name shown escaped
    assert submission_users(data, "id") == [("77", "Ada\\u202e")] and submission_users(data, "sid")[0][0] == "s-1"
    with pytest.raises(ValueError, match="is true or false, not a string"):
        submission_users({"users": [{"id": True}]}, "id")


@pytest.mark.parametrize("salt, words", [(None, "cannot be opened (No such file"), ("link", "cannot be opened"),
                                         ("  \n", "is empty"), ("huge", "larger than 1 MB")])
def test_a_missing_or_broken_salt_in_the_zip_is_a_clear_message(fake_root, capsys, salt, words):
    (fake_root / METADATA).write_text(metadata(user(ALICE)))
    path = fake_root / "source" / SALT_FILE
    path.unlink()
    if salt == "link":
        path.symlink_to(fake_root / METADATA)
    elif salt == "huge":
        path.write_text("x" * (2**20 + 1))
    elif salt is not None:
        path.write_text(salt)
    result = run(fake_root)
    assert result["score"] == 0 and words in result["output"] and "build the zip again with --salt-file" in result["output"]
    assert read_metadata(fake_root)["users"][0]["sid"] == ALICE  # the metadata was fine


def test_a_fault_of_the_grader_still_writes_a_results_json_that_says_so(fake_root, capsys):
    shutil.rmtree(fake_root / "source" / "hidden")  # a broken zip: the grader itself fails
    result = run(fake_root)
    written = json.loads((fake_root / "results" / "results.json").read_text())
    validate_gradescope_results(written)
    assert written == result and result["score"] == 0
    assert "the autograder failed (FileNotFoundError)" in result["output"] and "tell your instructor" in result["output"]
    assert "grader error: FileNotFoundError" in capsys.readouterr().out


def test_a_bad_student_id_setting_is_a_clear_message(fake_root):
    config_path = fake_root / "source" / "config.json"
    config_path.write_text(json.dumps({**json.loads(config_path.read_text()), "student_id": "name"}))
    (fake_root / METADATA).write_text(metadata(user(ALICE)))
    result = run(fake_root)
    assert result["score"] == 0 and "config.json's student_id is 'name', not one of email, sid, id" in result["output"]


def test_without_variants_the_metadata_is_not_read(fake_root):
    config_path = fake_root / "source" / "config.json"
    config_path.write_text(json.dumps({**json.loads(config_path.read_text()), "variants": False}))
    os.mkfifo(fake_root / METADATA)  # would block a reader that opened it naively
    result = run(fake_root)
    assert result["score"] == 9 and METADATA not in result["output"]  # the book's numbers, as the solution has


def runnable_python(version: str) -> str | None:
    """A python<version> on this machine that runs (on PATH, or one of pyenv's), or None."""
    for candidate in [shutil.which(f"python{version}")] + sorted(
            glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}"))):
        if candidate and subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
            return candidate
    return None


def test_the_default_zip_installs_offline_and_grades_on_the_python_of_the_base_image(tmp_path):
    """The zip as the README builds it (wheels for Python 3.12, Ubuntu 24.04's python3), set up
    with that Python first on PATH, network off; a student graded on their own variant."""
    python = runnable_python(DEFAULT_PYTHON)
    if python is None:
        pytest.skip(f"no Python {DEFAULT_PYTHON} here to stand for the base image's")
    (tmp_path / "salt.txt").write_text(SALT)
    wheels = os.environ.get("KVMEM_WHEELS")
    try:
        archive = build_zip(2, tmp_path / "autograder.zip", salt_file=tmp_path / "salt.txt", student_id="sid",
                            wheels_from=Path(wheels) if wheels else None)
    except ValueError as err:
        pytest.skip(f"no wheels for Python {DEFAULT_PYTHON} here: {str(err)[:200]}")
    root = set_up(archive, tmp_path / "autograder", Path(python).parent)
    assert Path(root / "venv" / "bin" / "python").resolve().name.startswith(f"python{DEFAULT_PYTHON}")
    (root / METADATA).write_text(metadata(user(ALICE)))
    results, stdout = grade(root, {EXPECTED: own_notebook(tmp_path, ALICE)})
    assert results["score"] == 9 and f"graded on variant {variant_id(ALICE, SALT)}" in stdout


ROOT_WITHOUT_SANDBOX = pytest.mark.xfail(strict=True, reason=(
    "without a sandbox, as root, where a sandbox uid cannot run the grader's Python (a Python under /root, or "
    "here a venv under a 0700 folder), sandbox.run_in_sandbox runs the submission as root: it reads "
    "source/private/salt.txt and the hidden cases. The fix belongs in run_in_sandbox (refuse to run a "
    "submission as root) together with a setup.sh and test fixtures that put the venv where a sandbox uid can "
    "run it; on Gradescope itself (/autograder/venv, a Python under /usr) it should run as uid 61000 if /autograder "
    "is traversable by others (not checked)"))


@pytest.mark.parametrize("isolation", ["bwrap", pytest.param("none", marks=ROOT_WITHOUT_SANDBOX)])
def test_a_submission_cannot_read_the_salt(salted, tmp_path, isolation):
    """A hostile notebook that puts the salt file's text into its error message: the sandbox has
    no view of source/, and private/ is the grader's alone (without a sandbox, as on an image
    where bubblewrap could not be installed, the submission runs as a uid of its own)."""
    if isolation == "bwrap" and not can_isolate():
        pytest.skip("needs the bubblewrap sandbox")
    if isolation == "none" and os.geteuid() != 0:
        pytest.skip("without a sandbox only root can run a submission as another user")
    (salted / METADATA).write_text(metadata(user(ALICE)))
    salt_file = salted / "source" / SALT_FILE
    attack = f"raise RuntimeError('salt: ' + open({str(salt_file)!r}).read())" + GRADED
    results, stdout = grade(salted, {EXPECTED: notebook(master_cells() + [attack])}, KVMEM_GRADE_ISOLATION=isolation)
    error = "FileNotFoundError" if isolation == "bwrap" else "PermissionError"
    assert error in results["output"] and "salt.txt" in results["output"], results["output"]  # the attack ran, and failed
    assert SALT not in json.dumps(results) + stdout
    assert oct(salt_file.parent.stat().st_mode & 0o777) == "0o700"
