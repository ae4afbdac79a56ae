"""What a job's own PID and IPC namespaces cost: clone + exit + wait, with and without them.

Each verifier job is a raw ``clone`` of the worker's zygote into new PID and IPC namespaces
(issue 17: no System V object or process number crosses between jobs). This measures, in a
process that has imported what a sandbox worker preloads, the per-job cost of a child that
exits at once, made four ways, rounds alternating so load falls on all alike:

    plain        clone(SIGCHLD)                       what a fork costs
    ipc          + CLONE_NEWIPC
    pid          + CLONE_NEWPID
    pid+ipc      + CLONE_NEWPID | CLONE_NEWIPC         what the zygote does

Run:  python benchmarks/job_clone_cost.py [--jobs 400] [--rounds 3]
Needs unprivileged user namespaces (as the sandbox does). Prints milliseconds per job (wall,
the child's CPU, the parent's CPU) for each way.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import signal
import time

from rich.console import Console
from rich.table import Table

CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWIPC = 0x08000000
SYS_CLONE = 56  # x86_64
WAYS = {
    "plain": 0,
    "ipc": CLONE_NEWIPC,
    "pid": CLONE_NEWPID,
    "pid+ipc": CLONE_NEWPID | CLONE_NEWIPC,
}

_libc = ctypes.CDLL(None, use_errno=True)
_raw = ctypes.PyDLL(None, use_errno=True)  # keeps the GIL across the call, as the zygote's
_raw.syscall.restype = ctypes.c_long
_api = ctypes.pythonapi
for _f in ("PyOS_BeforeFork", "PyOS_AfterFork_Parent"):
    getattr(_api, _f).restype = None


def _enter_user_namespace() -> None:
    uid, gid = os.getuid(), os.getgid()
    if _libc.unshare(CLONE_NEWUSER) != 0:
        raise SystemExit("unprivileged user namespaces are not available here")
    for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)


def _preload() -> None:
    """What a candidate worker imports before its zygote forks (sandbox/_inside.py)."""
    from closedloop.sandbox import _inside

    for name in _inside._PRELOAD:
        __import__(name)


def per_job(flags: int, jobs: int) -> tuple[float, float, float]:
    """(wall, child CPU, parent CPU) in milliseconds per job."""
    c0, s0 = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    t = time.perf_counter()
    for _ in range(jobs):
        _api.PyOS_BeforeFork()
        pid = _raw.syscall(
            ctypes.c_long(SYS_CLONE), ctypes.c_ulong(flags | signal.SIGCHLD), None, None, None
        )
        if pid == 0:
            _libc._exit(0)
        _api.PyOS_AfterFork_Parent()
        os.waitpid(pid, 0)
    wall = time.perf_counter() - t
    c1, s1 = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    child = c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime
    parent = s1.ru_utime + s1.ru_stime - s0.ru_utime - s0.ru_stime
    return wall / jobs * 1e3, child / jobs * 1e3, parent / jobs * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    _preload()
    _enter_user_namespace()
    got: dict[str, list[tuple[float, float, float]]] = {w: [] for w in WAYS}
    for _ in range(args.rounds):
        for way, flags in WAYS.items():
            got[way].append(per_job(flags, args.jobs))
    table = Table(title=f"clone + exit + wait, {args.jobs} jobs x {args.rounds} rounds (ms/job)")
    for col in ("way", "wall", "child CPU", "parent CPU", "wall / plain"):
        table.add_column(col, justify="right")
    base = sum(r[0] for r in got["plain"])
    for way, runs in got.items():
        w, c, p = (sum(r[i] for r in runs) / len(runs) for i in range(3))
        table.add_row(
            way, f"{w:.3f}", f"{c:.3f}", f"{p:.3f}", f"{sum(r[0] for r in runs) / base:.2f}"
        )
    Console().print(table)
    print(f"load {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
