"""The student set-up works: JupyterLab starts from .venv, opens an exercise notebook through its
REST API, runs it with the kernel, and an explorer creates a live ipywidgets model."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXERCISE = "exercises/chapter2_cumulative_average.ipynb"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A JupyterLab server on 127.0.0.1 with a token, spoken to over its REST and websocket APIs."""

    def __init__(self, port: int, token: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.ws_base = f"ws://127.0.0.1:{port}"
        self.token = token

    def request(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Authorization": f"token {self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as response:
            payload = response.read()
            kind = response.headers.get("Content-Type", "")
        return json.loads(payload) if "json" in kind else payload.decode()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    port, token = free_port(), secrets.token_hex(16)
    jupyter = Path(sys.executable).with_name("jupyter")
    home = tmp_path_factory.mktemp("home")  # no user settings leak into the test
    env = os.environ | {"HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / ".jupyter")}
    log = open(home / "lab.log", "w")
    server = subprocess.Popen(
        [str(jupyter), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--ServerApp.token={token}", f"--ServerApp.root_dir={ROOT}", "--allow-root"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    client = Lab(port, token)
    deadline = time.monotonic() + 90
    while True:
        try:
            client.request("GET", "/api/status")
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("JupyterLab did not start:\n" + (home / "lab.log").read_text()[-3000:])
            time.sleep(0.5)
    yield client
    server.terminate()
    server.wait(timeout=30)
    log.close()


def test_lab_page_loads_with_the_widget_extension(lab):
    page = lab.request("GET", "/lab")
    assert "JupyterLab" in page
    assert "@jupyter-widgets/jupyterlab-manager" in page, "the ipywidgets extension is not installed"


def test_exercise_notebook_opens_through_the_contents_api(lab):
    model = lab.request("GET", f"/api/contents/{EXERCISE}?content=1")
    assert model["type"] == "notebook"
    on_disk = nbformat.read(ROOT / EXERCISE, as_version=4)
    assert [c["source"] for c in model["content"]["cells"]] == [c["source"] for c in on_disk.cells]


async def execute(websocket_url: str, code: str) -> list[dict]:
    """Send one execute_request on the kernel's channels; return its iopub messages until idle."""
    from tornado.websocket import websocket_connect

    connection = await websocket_connect(websocket_url)
    msg_id = uuid.uuid4().hex
    await connection.write_message(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                   "session": uuid.uuid4().hex, "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": True,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": False},
    }))
    messages = []
    while True:
        raw = await asyncio.wait_for(connection.read_message(), timeout=120)
        assert raw is not None, "the kernel's websocket closed"
        message = json.loads(raw)
        if message.get("parent_header", {}).get("msg_id") != msg_id or message["channel"] != "iopub":
            continue
        messages.append(message)
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            connection.close()
            return messages


def test_exercise_runs_in_the_kernel_and_an_explorer_renders(lab):
    session = lab.request("POST", "/api/sessions", {"path": EXERCISE, "type": "notebook",
                                                    "name": Path(EXERCISE).name,
                                                    "kernel": {"name": "python3"}})
    url = f"{lab.ws_base}/api/kernels/{session['kernel']['id']}/channels?token={lab.token}"
    try:
        cells = [c.source for c in nbformat.read(ROOT / EXERCISE, as_version=4).cells if c.cell_type == "code"]
        errors = []
        for source in cells:
            for message in asyncio.run(execute(url, source)):
                if message["msg_type"] == "error":
                    errors.append((message["content"]["ename"], message["content"]["evalue"], source))
        assert errors, "an unsolved exercise notebook should stop at its stubs"
        for ename, evalue, source in errors:
            # A student's fresh notebook fails only at the stubs it asks them to replace, and at
            # the checks of values a stub did not define yet.
            assert ename in ("NotImplementedError", "NameError"), (ename, evalue, source)
            if ename == "NameError":
                assert source.lstrip().startswith("check("), (evalue, source)
        first = asyncio.run(execute(url, cells[0]))
        assert not [m for m in first if m["msg_type"] == "error"], "the import cell fails: kvmem is not importable"

        shown = asyncio.run(execute(url, "import kvmem.widgets\nkvmem.widgets.token_weight_explorer()"))
        opened = [m for m in shown if m["msg_type"] == "comm_open"]
        assert any(m["content"]["target_name"] == "jupyter.widget" for m in opened), "no widget model was created"
        views = [m for m in shown if m["msg_type"] in ("display_data", "execute_result")]
        assert any("application/vnd.jupyter.widget-view+json" in m["content"]["data"] for m in views)
    finally:
        lab.request("DELETE", f"/api/sessions/{session['id']}")
