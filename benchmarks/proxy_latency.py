"""Latency of the checker proxy's round trips, and what pinning a slot to one CPU buys.

Three measurements, side by side where they compare code:

1. ``pipe``: a round trip of one proxy-sized frame through two pipes between two processes,
   both free to run on any CPU, then both pinned to one CPU (alternating, ``--rounds`` times).
   No closedloop code beyond the frame format; this is the machine's own cost of a wake-up.
2. ``generator``: a function task whose checker sums 20,000 items of the candidate's generator
   (one proxy request an item), microseconds per item.
3. ``calls``: a class task whose checker makes 301 method calls, milliseconds per verdict.

2 and 3 run once per ``--variant NAME=SRC`` (a source tree, e.g. a ``git worktree`` of an
older commit), alternating round by round, medians reported. Run it alone: it times wall
clock. ::

    python benchmarks/proxy_latency.py --variant before=/tmp/old/src --variant after=src
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

_PING = {"i": 1, "args": "()", "sync": True, "on": 3, "name": "__next__", "handles": True}

_VERIFY = r"""
import json, sys, time
from closedloop.sandbox import SandboxLimits
from closedloop.tasks.format import parse_task
from closedloop.verify import Outcome, Verifier

generator = parse_task({"id": "g", "entry_point": "f", "checker":
    "def check(candidate):\n    assert sum(candidate(20000)) == sum(range(20000))\n"})
gen_code = "def f(n):\n    for i in range(n):\n        yield i\n"
stack = parse_task({"id": "s", "entry_point": "Stack",
    "prompt": "class Stack:\n    def push(self, x: int) -> None: ...\n    def pop(self) -> int: ...\n",
    "checker": "def check(candidate):\n    s = candidate()\n    for i in range(150):\n"
    "        s.push(i)\n    assert [s.pop() for _ in range(150)] == list(range(149, -1, -1))\n"})
stack_code = ("class Stack:\n    def __init__(self):\n        self.xs = []\n"
    "    def push(self, x):\n        self.xs.append(x)\n    def pop(self):\n        return self.xs.pop()\n")
out = {}
with Verifier(workers=1, limits=SandboxLimits(wall_s=30.0)) as v:
    for name, task, code in (("generator", generator, gen_code), ("calls", stack, stack_code)):
        v.verify(task, code)  # warm
        times = []
        for _ in range(int(sys.argv[1])):
            t = time.perf_counter()
            verdict = v.verify(task, code)
            times.append(time.perf_counter() - t)
            assert verdict.outcome is Outcome.PASS, verdict
        out[name] = times
print(json.dumps(out))
"""


def pipe_round_trip(n: int, pinned: bool) -> float:
    """Microseconds per round trip of one frame between two processes."""
    from closedloop.sandbox.wire import read_frame, write_frame

    cpu = min(os.sched_getaffinity(0))
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    pid = os.fork()
    if pid == 0:
        if pinned:
            os.sched_setaffinity(0, {cpu})
        while True:
            m = read_frame(r1)
            if m is None or m.get("stop"):
                os._exit(0)
            write_frame(w2, {"i": m["i"], "value": "5"})
    before = os.sched_getaffinity(0)
    if pinned:
        os.sched_setaffinity(0, {cpu})
    t = time.perf_counter()
    for _ in range(n):
        write_frame(w1, _PING)
        read_frame(r2)
    elapsed = time.perf_counter() - t
    write_frame(w1, {"stop": True})
    os.waitpid(pid, 0)
    os.sched_setaffinity(0, before)
    for fd in (r1, w1, r2, w2):
        os.close(fd)
    return elapsed / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3, help="verdicts per variant per round")
    ap.add_argument("--variant", action="append", default=[], help="NAME=SRC_DIR, repeatable")
    a = ap.parse_args()
    variants = [v.split("=", 1) for v in a.variant] or [["this", "src"]]

    free, pinned = [], []
    for _ in range(a.rounds):
        free.append(pipe_round_trip(20_000, pinned=False))
        pinned.append(pipe_round_trip(20_000, pinned=True))
    cpus = len(os.sched_getaffinity(0))
    print(
        f"pipe round trip, {cpus} CPUs: free {statistics.median(free):.1f} us, "
        f"pinned to one {statistics.median(pinned):.1f} us (medians of {a.rounds})"
    )

    got: dict[str, dict[str, list[float]]] = {name: {} for name, _ in variants}
    for r in range(a.rounds):
        for name, src in variants:
            env = dict(os.environ, PYTHONPATH=os.path.abspath(src))
            proc = subprocess.run(
                [sys.executable, "-c", _VERIFY, str(a.repeats)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            for kind, times in json.loads(proc.stdout.strip().splitlines()[-1]).items():
                got[name].setdefault(kind, []).extend(times)
        print(f"round {r + 1}/{a.rounds} done")
    for name, kinds in got.items():
        gen = statistics.median(kinds["generator"]) / 20_000 * 1e6
        calls = statistics.median(kinds["calls"]) * 1e3
        print(f"{name:>8}: generator {gen:.0f} us an item, 301-call class task {calls:.0f} ms")


if __name__ == "__main__":
    main()
