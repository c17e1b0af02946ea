"""Start one submission's runner: python -I -S jail.py CONFIG_JSON.

Run by the grader for each submission, before any student code. In order, it
  - moves itself into the submission's cgroups (memory and process count for the whole
    submission, when the grader could make them);
  - as root, drops to the submission's own unprivileged uid where that uid can run Python
    (otherwise bubblewrap gives it that uid inside its user namespace, with no capabilities);
  - sets no_new_privs, dies with the grader, sets resource limits (address space, processes,
    file size, CPU time, no core dumps) and closes stdin;
  - executes bubblewrap with the sandbox's arguments (or, where no sandbox can be made, the
    runner itself with the limits alone).
Standard library only: this file runs with -S.
"""

import ctypes
import json
import os
import resource
import signal
import sys

PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38


def join_cgroups(procs_files):
    for path in procs_files:
        with open(path, "w") as f:
            f.write(str(os.getpid()))


def drop_to(uid):
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def restrict(config):
    """no_new_privs, death with the grader, and the resource limits of every process it starts."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after setuid, which clears it
    for name, value in config["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)


def main():
    config = json.loads(sys.argv[1])
    join_cgroups(config["cgroups"])
    if config["mode"] == "bwrap":
        argv = config["bwrap"] + [a for source, dest in config["binds"] for a in ("--ro-bind", source, dest)]
        argv += ["--"] + config["command"]
    else:
        argv = config["command"]
        os.chdir(config["workdir"])
    if config["drop"]:
        drop_to(config["uid"])
    restrict(config)
    os.execve(argv[0], argv, config["env"])


if __name__ == "__main__":
    main()
