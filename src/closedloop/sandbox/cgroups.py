"""A pids cgroup per sandbox worker: the bound on a job's threads where RLIMIT_NPROC has none.

A job runs as uid 0 of its user namespace, mapped to the host uid that started the verifier.
The kernel does not apply ``RLIMIT_NPROC`` to a process whose real uid is the host's root, so
where the verifier runs as root a job could start threads until its address space ran out
(256 under a limit of 64), each taking one of the host's process ids. The pids controller
counts every task (process or thread) of a cgroup whatever its uid: each worker joins a fresh
cgroup of its own, before it forks anything, whose ``pids.max`` is the job's process limit plus
the worker's own processes (:data:`WORKER_TASKS`).

Host side only, stdlib only. Where the host has no pids hierarchy it can write (not root, no
cgroup v1 ``pids`` mount, a cgroup v2 tree without the controller delegated), :func:`make`
returns None and ``RLIMIT_NPROC`` is the only bound — which holds for every host uid but root.
"""

from __future__ import annotations

import functools
import os
import re
import secrets
import threading
import time
import warnings
from pathlib import Path

WORKER_TASKS = 3
"""Tasks of a worker besides its job's: the outer process, PID 1 of its namespaces and the
zygote (a judge worker has a judge runner in the zygote's place). The job's own threads and
processes get the job's ``nproc``."""

_PREFIX = "closedloop-"
_STALE = re.compile(rf"{_PREFIX}(\d+)-[0-9a-f]+")


@functools.cache
def _pids_hierarchy() -> Path | None:
    """The directory of this process's own cgroup in a writable pids hierarchy (cgroup v1's
    ``pids`` controller, or a v2 tree), or None. Read once: a pool starts many workers."""
    try:
        own = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    paths: dict[str, str] = {}  # "pids" (v1) or "" (v2) -> this process's cgroup path
    for line in own:
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(","):
            paths[c] = path
    found: dict[str, Path] = {}
    for line in mounts:
        fields = line.split()
        sep = fields.index("-")
        root, point, fstype, opts = fields[3], fields[4], fields[sep + 1], fields[sep + 3]
        if fstype == "cgroup" and "pids" in opts.split(","):
            key = "pids"
        elif fstype == "cgroup2":
            key = ""
        else:
            continue
        path, root = paths.get(key), root.rstrip("/")
        if path is None or not (path + "/").startswith(root + "/"):
            continue
        found.setdefault(key, Path(point) / path[len(root) :].lstrip("/"))
    # a hybrid host mounts both: v1's pids controller, where mounted, is the one that works
    return found.get("pids") or found.get("")


def make(max_tasks: int) -> Path | None:
    """A fresh, empty pids cgroup allowing ``max_tasks`` tasks, or None where the host has none
    to give. The caller moves a process in (writing its pid to ``cgroup.procs``) and
    :func:`remove` s it once that process tree is gone."""
    if os.geteuid() != 0:  # an ordinary uid has RLIMIT_NPROC, and no cgroup to write here
        return None
    parent = _pids_hierarchy()
    if parent is None:
        _warn_unbounded("no pids cgroup hierarchy is mounted")
        return None
    _remove_stale(parent)
    made = parent / f"{_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    with _LOCK:  # held before it exists: another thread's sweep must not take it for stale
        _HELD.add(made)
    try:
        made.mkdir()
    except OSError as e:
        with _LOCK:
            _HELD.discard(made)
        _warn_unbounded(f"cannot make a cgroup in {parent} ({e.strerror})")
        return None
    try:
        (made / "pids.max").write_text(str(max_tasks))
    except OSError:  # a v2 tree without the pids controller delegated here
        remove(made)
        _warn_unbounded(f"the pids controller is not enabled for {parent}")
        return None
    return made


_WARNED: list[str] = []


def _warn_unbounded(why: str) -> None:
    """Say once per process that a root host's jobs run without a bound on their threads."""
    with _LOCK:
        if _WARNED:
            return
        _WARNED.append(why)
    warnings.warn(
        f"closedloop sandbox: running as root and {why}: a job's threads are bounded only by "
        "its address space (RLIMIT_NPROC does not bind root); run as an ordinary user, or give "
        "the verifier a pids cgroup (see the README's 'What it does not protect against')",
        RuntimeWarning,
        stacklevel=3,
    )


def remove(cgroup: Path, wait_s: float = 2.0) -> bool:
    """Remove a worker's cgroup once its last task is released (the kernel frees a killed
    job's memory before it releases the task: ~50 ms for a job holding 1 GiB). One still busy
    after ``wait_s`` is left to the next :func:`make`'s sweep. Whether it is gone."""
    with _LOCK:
        _HELD.discard(cgroup)
    deadline = time.monotonic() + wait_s
    pause = 0.001
    while True:
        try:
            cgroup.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.05)


_LOCK = threading.Lock()
_HELD: set[Path] = set()
"""This process's cgroups a worker is starting in or running in: never stale."""


def _remove_stale(parent: Path) -> None:
    """Remove empty worker cgroups nobody holds: a killed verifier's (SIGKILL gave it no
    chance), or this process's own that were still busy when their worker was removed."""
    try:
        entries = list(parent.iterdir())
    except OSError:
        return
    with _LOCK:
        held = set(_HELD)
    for entry in entries:
        m = _STALE.fullmatch(entry.name)
        if m is None or entry in held:
            continue
        owner = int(m.group(1))
        if owner != os.getpid() and Path(f"/proc/{owner}").exists():
            continue  # another live verifier's
        remove(entry, wait_s=0.0)  # a busy one fails at once and stays for a later sweep
