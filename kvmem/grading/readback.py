"""Reading what a student controls, checking everything.

- `read_regular_file`: a regular file only (no symlink followed, no FIFO, no device), under a
  size cap;
- `parse_answers`: the runner's JSON lines, every type and shape checked, arrays parsed from
  .npy bytes with their header validated before any memory is allocated (allow_pickle never).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import os
import stat
from dataclasses import dataclass, field

import numpy as np
from numpy.lib import format as npy_format

MAX_ELEMENTS = 1_000_000  # numbers in one array read back (the runner sends no more)
MAX_DEPTH = 4
MAX_ITEMS = 64
MAX_NDIM = 32             # numpy refuses more than 64 dimensions with a ValueError of its own
MAX_CONTAINERS = 300_000  # JSON objects and lists in one line: 64 MB of `{},` would build 20 million dicts
                          # (1.7 GB) in the grader; a (64, 64, 64) nested list answer holds 270,000
ARRAY_TYPES = {np.dtype("<f2"), np.dtype("<f4"), np.dtype("<f8")}


class Unreadable(ValueError):
    """A file or an answer that is not what it must be."""


@dataclass
class Failure:
    """An answer that could not be brought back (an exception, not plain data, a timeout...)."""
    reason: str


@dataclass
class Answers:
    cell_errors: list = field(default_factory=list)
    records: dict = field(default_factory=dict)
    finished: bool = False
    hidden: dict = field(default_factory=dict)   # exercise id: the record of its hidden cases


def read_regular_file(path, cap: int, dir_fd: int | None = None) -> bytes:
    """The bytes of a regular file, opened without following a symlink; Unreadable if it is
    anything else or longer than `cap` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY, dir_fd=dir_fd)
    except OSError as err:
        raise Unreadable(f"cannot be opened ({err.strerror or err})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable("is not a regular file")
        if info.st_size > cap:
            raise Unreadable(f"is larger than {cap // 2**20} MB")
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(cap + 1)
        if len(data) > cap:
            raise Unreadable(f"is larger than {cap // 2**20} MB")
        return data
    finally:
        os.close(fd)


def parse_npy(data: bytes) -> np.ndarray:
    """An array from .npy bytes: a little-endian float dtype, a shape that holds at most
    MAX_ELEMENTS numbers and exactly as many bytes as the shape claims."""
    stream = io.BytesIO(data)
    try:
        version = npy_format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = npy_format.read_array_header_2_0(stream)
        else:
            raise Unreadable(f".npy version {version}")
    except (ValueError, TypeError, SyntaxError) as err:
        raise Unreadable(f"not a valid .npy array ({str(err)[:100]})") from None
    if dtype not in ARRAY_TYPES:
        raise Unreadable(f"an array of {dtype}, not of floats")
    if not all(isinstance(n, int) and 0 <= n for n in shape) or math.prod(shape) > MAX_ELEMENTS or len(shape) > MAX_NDIM:
        raise Unreadable(f"an array of claimed shape {shape}"[:200])
    body = data[stream.tell():]
    if len(body) != math.prod(shape) * dtype.itemsize:
        raise Unreadable(f"an array of shape {shape} with {len(body)} bytes of data (truncated or padded)")
    return np.frombuffer(body, dtype=dtype).reshape(shape, order="F" if fortran else "C").copy()


def decode(descriptor, depth: int = 0):
    """One exported value: a JSON number, string, bool or None; an array; or a tuple of those.
    Anything else is a Failure that says what was wrong."""
    if not isinstance(descriptor, dict) or len(descriptor) != 1 or depth > MAX_DEPTH:
        return Failure("the answer could not be read")
    (kind, value), = descriptor.items()
    if kind == "error":
        return Failure(str(value)[:300])
    if kind == "json":
        return _plain(value)
    if kind == "tuple" and isinstance(value, list) and len(value) <= MAX_ITEMS:
        return tuple(decode(d, depth + 1) for d in value)
    if kind == "npy" and isinstance(value, str):
        try:
            return parse_npy(base64.b64decode(value, validate=True))
        except (Unreadable, binascii.Error) as err:
            return Failure(f"the array could not be read ({err})")
    return Failure("the answer could not be read")


def _plain(value):
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value[:10_000] if isinstance(value, str) else value
    if isinstance(value, int):
        return value if abs(value) <= 2 ** 1023 else Failure("a number too large for a float")
    if isinstance(value, float):
        return value
    return Failure("not plain data")


def _text(value, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def check_record(record) -> dict:
    """One exercise's record with every field checked; unknown fields dropped."""
    if not isinstance(record, dict):
        return {"failed": "the answer could not be read"}
    if isinstance(record.get("missing"), str):
        return {"missing": record["missing"][:300]}
    if isinstance(record.get("failed"), str):
        return {"failed": record["failed"][:300]}
    if "cases" in record:
        cases = record["cases"]
        return {"cases": [decode(c) for c in cases]} if isinstance(cases, list) and len(cases) <= 1000 else \
            {"failed": "the answers could not be read"}
    if "value" in record:
        return {"value": decode(record["value"])}
    if "choice" in record:
        return {"choice": _text(record["choice"], 10), "why": _text(record.get("why"), 2000)}
    return {"failed": "the answer could not be read"}


def _cell_error(entry) -> dict | None:
    if not isinstance(entry, dict):
        return None
    cell = entry.get("cell")
    return {"cell": cell if isinstance(cell, int) and not isinstance(cell, bool) else None,
            "error": str(entry.get("error", ""))[:100], "message": str(entry.get("message", ""))[:500]}


def parse_answers(data: bytes, exercise_ids: set[str], hidden_from: int | None = None) -> Answers:
    """The runner's messages, one JSON object per line. Lines that are not valid, or that would
    build more than MAX_CONTAINERS objects and lists, are ignored; for each exercise the last
    record counts (the runner writes its own after the cells ran).

    `hidden_from`: where the runner's request for the hidden cases starts in `data`. The grader
    sent them only then, so after it only the hidden cases' records count (with the end
    marker): any other text there could carry a hidden input. Before it, hidden records do
    not count (there were no hidden inputs to answer)."""
    answers = Answers()
    cut = len(data) if hidden_from is None else hidden_from
    for message in _messages(data[:cut]):
        if isinstance(message.get("cell_errors"), list):
            answers.cell_errors = [e for e in map(_cell_error, message["cell_errors"][:1000]) if e]
        elif message.get("answer") in exercise_ids:
            answers.records[message["answer"]] = check_record(message.get("record"))
        elif message.get("done") is True and hidden_from is None:
            answers.finished = True
    for message in _messages(data[cut:]) if hidden_from is not None else ():
        if message.get("hidden") in exercise_ids:
            answers.hidden[message["hidden"]] = check_record(message.get("record"))
        elif message.get("done") is True:
            answers.finished = True
    return answers


def _messages(data: bytes):
    """The JSON objects of `data`, one per line, skipping lines that are not one (or that would
    build more than MAX_CONTAINERS objects and lists: counted before parsing, an upper bound on
    what json.loads would build)."""
    for line in data.split(b"\n"):
        if line.count(b"{") + line.count(b"[") > MAX_CONTAINERS:
            continue
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(message, dict):
            yield message
