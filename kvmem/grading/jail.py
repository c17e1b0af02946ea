"""Start the runner in a jail: python -I -S jail.py CONFIG_JSON.

Run by the grader for each submission, before any student code. With root privileges it
  - gives the submission its own network namespace (no network), mount namespace (home folders
    and /tmp replaced by empty ones holding only what the runner needs; the submissions, hidden
    checks and results covered) and PID namespace (when the runner, PID 1 there, ends, every
    process the submission started ends with it);
  - drops to an unprivileged uid and gid.
Always it sets resource limits (address space, processes, file size, CPU time, no core dumps),
closes stdin, and executes the runner. Standard library only: this file runs with -S.
"""

import ctypes
import json
import os
import resource
import signal
import sys

CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWPID = 0x00020000, 0x40000000, 0x20000000
MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 0x40000
PR_SET_PDEATHSIG = 1


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    return libc


def _mount(libc, source, target, fstype, flags, data):
    if libc.mount(source, target.encode(), fstype, flags, data) != 0:
        raise OSError(ctypes.get_errno(), f"mount on {target} failed")


def isolate(config):
    """New network, mount and PID namespaces, with a filesystem view of its own. Root only.

    Each folder in "cover" (home folders, /tmp, ...) is replaced by an empty tmpfs, into which
    only the paths in "reach" (Python, the virtual environment, the working folder) are bound
    back; each folder in "hide" (submissions, hidden checks, results) is covered outright.
    """
    libc = _libc()
    if libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID) != 0:
        raise OSError(ctypes.get_errno(), "unshare failed")
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE, None)
    covers = [c for c in config["cover"] if os.path.isdir(c)]
    handles = {c: os.open(c, os.O_PATH) for c in covers}  # the covered folders stay reachable here
    for folder in config["hide"]:
        if os.path.isdir(folder):
            _mount(libc, b"tmpfs", folder, b"tmpfs", 0, b"size=64k,mode=000")
    for cover in covers:
        _mount(libc, b"tmpfs", cover, b"tmpfs", 0, b"size=1m,mode=755")
    for path in config["reach"]:
        for cover in covers:
            if path == cover or path.startswith(cover.rstrip("/") + "/"):
                relative = os.path.relpath(path, cover)
                os.makedirs(path, exist_ok=True)
                source = f"/proc/self/fd/{handles[cover]}/{relative}".encode()
                _mount(libc, source, path, None, MS_BIND | MS_REC, None)
    for handle in handles.values():
        os.close(handle)


def limit(config):
    """Resource limits of the submission's process (and of every process it starts)."""
    for name, value in (("RLIMIT_AS", config["memory_bytes"]), ("RLIMIT_NPROC", config["processes"]),
                        ("RLIMIT_FSIZE", config["file_bytes"]), ("RLIMIT_CPU", config["cpu_seconds"]),
                        ("RLIMIT_CORE", 0)):
        resource.setrlimit(getattr(resource, name), (value, value))


def main():
    config = json.loads(sys.argv[1])
    root = os.geteuid() == 0
    isolated = root and config.get("isolate", True)
    if isolated:
        try:
            isolate(config)
        except OSError as err:  # a container without CAP_SYS_ADMIN: no namespaces, other limits hold
            print(f"jail: namespaces unavailable ({err}); running with limits and a separate user only",
                  file=sys.stderr)
            isolated = False
    if isolated:
        pid = os.fork()  # the child is PID 1 of the new PID namespace
        if pid:
            _, status = os.waitpid(pid, 0)
            os._exit(os.waitstatus_to_exitcode(status) % 256 if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    if root:
        os.setgroups([])
        os.setgid(config["uid"])
        os.setuid(config["uid"])
        # If the jail's parent is killed (a timeout), kill the runner too, even if the submission
        # left our process group. Set after setuid, which clears it.
        _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    limit(config)
    os.chdir(config["workdir"])
    os.execve(config["python"], [config["python"], "-I", config["runner"], config["workdir"]], config["env"])


if __name__ == "__main__":
    main()
