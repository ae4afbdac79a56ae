"""Cgroups per sandbox worker: bounds the kernel's rlimits leave open.

**Threads** (a pids cgroup per worker). A job runs as uid 0 of its user namespace, mapped to
the host uid that started the verifier. The kernel does not apply ``RLIMIT_NPROC`` to a process
whose real uid is the host's root, so where the verifier runs as root a job could start
threads until its address space ran out (256 under a limit of 64), each taking one of the
host's process ids. The pids controller counts every task (process or thread) of a cgroup
whatever its uid: each worker joins a fresh cgroup of its own, before it forks anything, whose
``pids.max`` is the job's process limit plus the worker's own processes (:data:`WORKER_TASKS`).

**Memory held outside the address space** (a memory cgroup per candidate worker, for its jobs
alone). ``RLIMIT_AS`` bounds what a job maps, not what the kernel allocates for it: one page
mapped per GiB of address space (a hint to ``mmap``, no privilege needed) costs a page-table
page and a page-middle-directory page each, so a job under a 1 GiB limit held 470 MiB of page
tables beside 240 MiB of pages. Each job child moves itself into its worker's memory cgroup
before lock-down (``_inside.job_child``), so that every page it takes after that -- page
tables, its ``/tmp``, pipe buffers -- is charged there, against
:attr:`~closedloop.sandbox.limits.SandboxLimits.held_bytes`. Only job processes are ever in
it: the kernel's OOM killer, when the job passes the bound, can pick no one but the job
(SIGKILL, the candidate's failure: never ``infra_error``), and the worker reads the kill from
the cgroup's ``oom_kill`` count (``Limit.MEMORY``).

Host side only, stdlib only. Both are made where the host is root. Where it has no pids
hierarchy it can write (no cgroup v1 ``pids`` mount, a cgroup v2 tree without the controller
delegated), :func:`make` returns None and ``RLIMIT_NPROC`` is the only bound — which holds for
every host uid but root. The memory cgroup needs cgroup v1's ``memory`` controller (in v2 a
cgroup holding the worker could not also give its jobs one of their own); without it, or for a
host uid other than root, a job's page tables are bounded only by the kernel's
``vm.max_map_count`` mappings a process (~500 MiB at the default 65,530).
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
    found = _own_cgroups("pids")
    # a hybrid host mounts both: v1's pids controller, where mounted, is the one that works
    return found.get("pids") or found.get("")


@functools.cache
def _memory_hierarchy() -> Path | None:
    """The directory of this process's own cgroup in cgroup v1's ``memory`` hierarchy, or
    None (see the module's docstring for why not v2)."""
    return _own_cgroups("memory").get("memory")


def _own_cgroups(controller: str) -> dict[str, Path]:
    """This process's cgroup directories: ``controller``'s v1 hierarchy under the key
    ``controller``, the v2 tree under ``""``, where mounted."""
    try:
        own = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return {}
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
        if fstype == "cgroup" and controller in opts.split(","):
            key = controller
        elif fstype == "cgroup2":
            key = ""
        else:
            continue
        path, root = paths.get(key), root.rstrip("/")
        if path is None or not (path + "/").startswith(root + "/"):
            continue
        found.setdefault(key, Path(point) / path[len(root) :].lstrip("/"))
    return found


def make(max_tasks: int) -> Path | None:
    """A fresh, empty pids cgroup allowing ``max_tasks`` tasks, or None where the host has none
    to give. The caller moves a process in (writing its pid to ``cgroup.procs``) and
    :func:`remove` s it once that process tree is gone."""
    if os.geteuid() != 0:  # an ordinary uid has RLIMIT_NPROC, and no cgroup to write here
        return None
    parent = _pids_hierarchy()
    if parent is None:
        _warn_unbounded("threads", "no pids cgroup hierarchy is mounted")
        return None
    return _make(parent, {"pids.max": str(max_tasks)}, "threads", "the pids controller")


def make_job_memory(max_bytes: int, max_tasks: int) -> Path | None:
    """A fresh, empty memory cgroup whose jobs may hold ``max_bytes`` in all (RAM, and swap
    where the kernel accounts it), or None where the host has none to give (not root, no
    cgroup v1 memory hierarchy). Each job moves itself in; :func:`remove` it with its worker.

    Its OOM killer is on (a parent's ``oom_kill_disable`` would leave a job past the bound
    hanging to its wall clock). Where the host mounts ``pids`` in the same v1 hierarchy, a job
    moving in leaves its worker's pids cgroup: this one then bounds it to ``max_tasks``.
    """
    if os.geteuid() != 0:
        return None
    parent = _memory_hierarchy()
    if parent is None:
        _warn_unbounded("memory", "no cgroup v1 memory hierarchy is mounted")
        return None
    settings = {
        "memory.limit_in_bytes": str(max_bytes),
        "memory.oom_control": "0",
        "notify_on_release": "0",  # the host's release agent is not told of each job
    }
    if (parent / "memory.memsw.limit_in_bytes").exists():  # swap is accounted: bound it too
        settings["memory.memsw.limit_in_bytes"] = str(max_bytes)
    if (parent / "pids.max").exists() or (parent / "pids.current").exists():
        settings["pids.max"] = str(max_tasks)
    return _make(parent, settings, "memory", "the memory controller")


def oom_kills(cgroup: Path) -> int:
    """How many tasks the kernel's OOM killer has killed in a memory cgroup (v1's
    ``memory.oom_control``); 0 where the kernel does not say."""
    try:
        text = (cgroup / "memory.oom_control").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill":
            return int(value)
    return 0


def _make(parent: Path, settings: dict[str, str], bound: str, controller: str) -> Path | None:
    _remove_stale(parent)
    made = parent / f"{_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    with _LOCK:  # held before it exists: another thread's sweep must not take it for stale
        _HELD.add(made)
    try:
        made.mkdir()
    except OSError as e:
        with _LOCK:
            _HELD.discard(made)
        _warn_unbounded(bound, f"cannot make a cgroup in {parent} ({e.strerror})")
        return None
    try:
        for name, value in settings.items():  # memory.memsw after memory.limit: the order v1 needs
            (made / name).write_text(value)
    except OSError:  # a v2 tree without the controller delegated here
        remove(made)
        _warn_unbounded(bound, f"{controller} is not enabled for {parent}")
        return None
    return made


_WARNED: list[str] = []
"""The bounds (``threads``, ``memory``) this process has warned about."""
_WHAT_IS_LEFT = {
    "threads": "a job's threads are bounded only by its address space (RLIMIT_NPROC does not "
    "bind root); run as an ordinary user, or give the verifier a pids cgroup",
    "memory": "the page tables a job makes are bounded only by vm.max_map_count (~500 MiB a "
    "job at the default), not by its memory limit; give the verifier a cgroup v1 memory "
    "hierarchy",
}


def _warn_unbounded(bound: str, why: str) -> None:
    """Say once per process and bound that a root host's jobs run without it."""
    with _LOCK:
        if bound in _WARNED:
            return
        _WARNED.append(bound)
    warnings.warn(
        f"closedloop sandbox: running as root and {why}: {_WHAT_IS_LEFT[bound]} (see the "
        "README's 'What it does not protect against')",
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
