"""How often a run's training reward passed a wrong program: false passes of the private tests.

Every attempt of a list-function run that the reward scored 1 is run again, in the sandbox, on
``--lists`` fresh random lists (the grammar's own input distribution, ``--seed``), beside its
task's example solution (the grammar program, or the challenger's solution). An attempt whose
outputs differ on any list where the example returns is a *false pass*: the private tests let
a program through that does not compute the task's function, and the update reinforced it.

    python benchmarks/reward_false_passes.py RUN_DIR [RUN_DIR ...] [--lists 40] [--show 10]

Prints, per run, false passes of the rewarded attempts by iteration and by task source, and
``--show`` examples (the task's program, then the attempt that passed it). Measured with it:
a preset run (seed 0) whose pool tasks had only the two private tests of their five inputs
rewarded 73 false passes of 620 (11.8%); the same run with ``challenger.drawn_private_tests``
(12 more private tests on lists the loop draws), 6 of 525 (1.1%).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from closedloop.loop.grammar import random_input
from closedloop.verify.runner import CallJob, Verifier


def rewarded_attempts(run: Path) -> tuple[dict[str, dict], list[tuple[int, str, str]]]:
    """The run's tasks (id -> task JSON) and its attempts rewarded 1: (iteration, task, code)."""
    db = sqlite3.connect(f"file:{run / 'run.sqlite'}?mode=ro", uri=True)
    try:
        tasks = {tid: json.loads(tj) for tid, tj in db.execute("select id, task_json from tasks")}
        rows = db.execute(
            "select iteration, task_id, code from attempts where reward >= 1.0"
        ).fetchall()
    finally:
        db.close()
    return tasks, [r for r in rows if tasks.get(r[1], {}).get("example_solution")]


def outputs(verifier: Verifier, codes: list[str], calls: list[str]) -> list[list[str | None]]:
    """Each program's returned literal on every call (None where it raised or timed out)."""
    results = verifier.call_many([CallJob(c, "f", calls) for c in codes])
    return [[r.value if r.ok else None for r in rr] for rr in results]


def false_passes(
    verifier: Verifier, tasks: dict[str, dict], rows: list[tuple[int, str, str]], calls: list[str]
) -> set[tuple[str, str]]:
    """The (task, code) pairs among ``rows`` that differ from the task's example solution."""
    tids = sorted({t for _, t, _ in rows})
    examples = outputs(verifier, [tasks[t]["example_solution"] for t in tids], calls)
    refs = dict(zip(tids, examples, strict=True))
    pairs = sorted({(t, c) for _, t, c in rows})
    wrong = set()
    for (t, c), got in zip(pairs, outputs(verifier, [c for _, c in pairs], calls), strict=True):
        if any(r is not None and r != g for r, g in zip(refs[t], got, strict=True)):
            wrong.add((t, c))
    return wrong


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--lists", type=int, default=40, help="fresh random lists per program")
    ap.add_argument("--seed", type=int, default=0, help="seed of the fresh lists")
    ap.add_argument("--show", type=int, default=0, help="examples of false passes to print")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    calls = [repr((random_input(rng),)) for _ in range(args.lists)]
    console = Console()
    with Verifier() as verifier:
        for run in args.runs:
            tasks, rows = rewarded_attempts(run)
            wrong = false_passes(verifier, tasks, rows, calls)
            bad = [r for r in rows if (r[1], r[2]) in wrong]
            table = Table(title=f"{run}: false passes of the reward ({len(calls)} fresh lists)")
            for col in ("", "rewarded attempts", "false passes", "share"):
                table.add_column(col, justify="right")

            def row(name: str, n: int, k: int) -> None:
                table.add_row(name, str(n), str(k), f"{k / n:.3f}" if n else "-")  # noqa: B023

            row("all", len(rows), len(bad))
            by_it, bad_it = Counter(r[0] for r in rows), Counter(r[0] for r in bad)
            for it in sorted(by_it):
                row(f"iteration {it}", by_it[it], bad_it[it])
            by_src = Counter(tasks[r[1]].get("source", "?") for r in rows)
            bad_src = Counter(tasks[r[1]].get("source", "?") for r in bad)
            for src in sorted(by_src):
                row(f"source {src}", by_src[src], bad_src[src])
            console.print(table)
            for t, c in sorted(wrong)[: args.show]:
                # plain text: rich would read a program's `[x for x in xs]` as markup
                print(f"{t}\n{tasks[t]['example_solution'].rstrip()}\npassed by\n{c.rstrip()}\n")


if __name__ == "__main__":
    main()
