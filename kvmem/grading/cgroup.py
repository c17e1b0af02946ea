"""One cgroup per submission: memory, process count and CPU limits for the submission as a whole
(every process it forks counts; at most one core, so that a submission spinning many processes
cannot starve the others of a batch into timeouts), and a sure way to end every process it started.

Made under the grader's own cgroup (cgroup v1 `memory` and `pids` controllers, or cgroup v2),
so the grader's own limits still hold. Needs write access to the cgroup tree (root, in
practice); where it cannot be made, `SubmissionCgroup.make` returns None and rlimits alone apply.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
CPU_PERIOD_US = 100_000  # with an equal quota: one core per submission, however many processes it forks
OPTIONAL = ("memory.memsw.limit_in_bytes", "memory.swap.max", "cpu.max")  # absent where the kernel or the
                                                                          # parent cgroup does not offer them


def _own_cgroups() -> dict[str, str]:
    """controller ('' for cgroup v2) -> this process's cgroup path, from /proc/self/cgroup."""
    found = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            found[controller] = path
    return found


def _limit_files(memory_bytes: int, processes: int) -> list[tuple[Path, dict[str, str]]]:
    """(folder to make a child in, {file: value}) for each controller to use."""
    own = _own_cgroups()
    if "memory" in own and "pids" in own and (ROOT / "memory").is_dir():
        folders = [(ROOT / "memory" / own["memory"].lstrip("/"),
                    {"memory.limit_in_bytes": str(memory_bytes), "memory.memsw.limit_in_bytes": str(memory_bytes)}),
                   (ROOT / "pids" / own["pids"].lstrip("/"), {"pids.max": str(processes)})]
        if "cpu" in own and (ROOT / "cpu").is_dir():
            folders.append((ROOT / "cpu" / own["cpu"].lstrip("/"),
                            {"cpu.cfs_period_us": str(CPU_PERIOD_US), "cpu.cfs_quota_us": str(CPU_PERIOD_US)}))
        return folders
    if "" in own and (ROOT / "cgroup.controllers").exists():
        return [(ROOT / own[""].lstrip("/"), {"memory.max": str(memory_bytes), "memory.swap.max": "0",
                                              "pids.max": str(processes), "cpu.max": f"{CPU_PERIOD_US} {CPU_PERIOD_US}"})]
    return []


@dataclass
class SubmissionCgroup:
    folders: list[Path]

    @classmethod
    def make(cls, memory_bytes: int, processes: int) -> SubmissionCgroup | None:
        """A fresh cgroup with these limits, or None where none can be made."""
        made = cls([])
        try:
            for parent, limits in _limit_files(memory_bytes, processes):
                folder = parent / f"kvmem-grade-{secrets.token_hex(6)}"
                try:
                    folder.mkdir()
                except OSError:
                    if "cpu.cfs_quota_us" in limits:
                        continue  # the CPU cap is optional: memory and processes are not
                    raise
                made.folders.append(folder)
                for name, value in limits.items():
                    if name in OPTIONAL and not (folder / name).exists():
                        continue
                    (folder / name).write_text(value)
        except OSError:
            made.remove()
            return None
        return made if made.folders else None

    @property
    def procs_files(self) -> list[str]:
        return [str(folder / "cgroup.procs") for folder in self.folders]

    def pids(self) -> set[int]:
        found = set()
        for path in self.procs_files:
            try:
                found |= {int(p) for p in Path(path).read_text().split()}
            except OSError:
                pass
        return found

    def kill_all(self, seconds: float = 2.0) -> None:
        """SIGKILL every process in the cgroup until none is left."""
        deadline = time.monotonic() + seconds
        while (pids := self.pids()) and time.monotonic() < deadline:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)

    def remove(self) -> None:
        self.kill_all()
        for folder in self.folders:
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
