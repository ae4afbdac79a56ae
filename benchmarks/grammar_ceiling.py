"""How much of a held-out set the list-functions grammar can express: the ceiling of any solver
that writes grammar programs, family by family, at each depth.

    python benchmarks/grammar_ceiling.py RUN_DIR/heldout/rg_list_functions.jsonl [--depth 3]

Two figures per family and depth (``closedloop.loop.grammar_search``, exhaustive):

- **expressible**: some program of at most that many steps (then an optional aggregate) gives
  every test's output, shown and held back: no grammar-bound policy can score more;
- **search solves**: the first program that fits the shown examples also passes the held-back
  ones: what brute force over the grammar scores, pass@1, with no model at all.

Tasks whose function takes anything but one list of integers are skipped (and counted).

``--policy DIR`` then asks why a policy misses what the grammar expresses: its greedy pass@1,
per family, on every task some program of at most ``--redraw-depth`` steps passes, as the
task is and with that program's examples redrawn on the grammar's own random inputs (the same
number shown and held back, the task's first instruction line kept). Equal scores say the
tasks' input shapes are not what the policy misses.
"""

from __future__ import annotations

import argparse
import ast
import random
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.table import Table

from closedloop.loop.families import family_of
from closedloop.loop.grammar import random_input
from closedloop.loop.grammar_search import Fit, search
from closedloop.tasks.format import Task, load_tasks


def _io(task: Task) -> tuple[list[list[int]], list[list[int]]] | None:
    ins, outs = [], []
    for case in task.public_tests + task.private_tests:
        args, out = ast.literal_eval(case.input), ast.literal_eval(case.output)
        if len(args) != 1 or not isinstance(args[0], list) or not isinstance(out, list):
            return None
        ins.append(args[0])
        outs.append(out)
    return ins, outs


def _measure(job: tuple[Task, int]) -> tuple[str, int | None, int | None]:
    """(family, fewest steps of a program passing every test, steps of the first program fitting
    the shown examples if it passes the held-back ones); None where there is none."""
    task, depth = job
    ins, outs = _io(task)  # type: ignore[misc]
    every = search(ins, outs, n_fit=len(ins), max_depth=depth)
    shown = search(ins, outs, n_fit=len(task.public_tests), max_depth=depth) if every else None
    return (
        family_of(task),
        every.depth if every else None,
        shown.depth if shown and shown.passes_all else None,
    )


def _redrawn(task: Task, fit: Fit, rng: random.Random) -> Task | None:
    """``task`` with ``fit``'s outputs on fresh grammar inputs; None when too few run or the
    outputs are all equal."""
    from closedloop.loop.domain import examples_task

    n = len(task.public_tests) + len(task.private_tests)
    ins, outs = [], []
    for _ in range(n * 8):
        xs = random_input(rng)
        try:
            ys = fit(xs)
        except (ValueError, IndexError, ZeroDivisionError):
            continue
        ins.append(xs)
        outs.append(ys)
        if len(ins) == n:
            break
    if len(ins) < n or len({tuple(o) for o in outs}) < 2:
        return None
    head = task.instruction.split("\n")[0]
    meta = dict(task.metadata)
    return examples_task(
        f"{task.id}/redrawn", fit.code, ins, outs, head, len(task.public_tests), True, "seed", meta
    )


def _policy_view(policy_dir: Path, tasks: list[Task], depth: int, console: Console) -> None:
    from closedloop.loop.evaluate import evaluate
    from closedloop.policy.hf import HFPolicy
    from closedloop.verify import Verifier

    rng = random.Random(3)
    same, moved = [], []
    for t in tasks:
        ins, outs = _io(t)  # type: ignore[misc]
        fit = search(ins, outs, n_fit=len(ins), max_depth=depth)
        new = _redrawn(t, fit, rng) if fit else None
        if new is not None:
            same.append(t)
            moved.append(new)
    policy = HFPolicy.from_pretrained(policy_dir)
    table = Table(
        title=f"{policy_dir}: greedy pass@1 on the {len(same)} tasks a program of ≤{depth} steps passes"
    )
    table.add_column("family")
    table.add_column("n", justify="right")
    table.add_column("inputs as given", justify="right")
    table.add_column("redrawn from the grammar", justify="right")
    scores = {}
    with Verifier(workers=2) as verifier:
        for name, ts in (("own", same), ("redrawn", moved)):
            r = evaluate(policy, ts, verifier, samples=1)
            per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            for t in ts:
                per[family_of(t)][0] += r.successes[t.id] > 0
                per[family_of(t)][1] += 1
            scores[name] = (r.pass_at_1, per)
    own, redrawn = scores["own"][1], scores["redrawn"][1]
    for f in sorted(own, key=lambda f: (not f.isdigit(), int(f) if f.isdigit() else 0, f)):
        table.add_row(f, str(own[f][1]), str(own[f][0]), str(redrawn[f][0]))
    table.add_row("all", str(len(same)), f"{scores['own'][0]:.3f}", f"{scores['redrawn'][0]:.3f}")
    console.print(table)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tasks", type=Path)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--policy", type=Path, help="a policy to score on what the grammar expresses")
    ap.add_argument("--redraw-depth", type=int, default=2)
    args = ap.parse_args()
    tasks, bad = load_tasks(args.tasks)
    usable = [t for t in tasks if t.public_tests and _io(t) is not None]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        rows = list(pool.map(_measure, [(t, args.depth) for t in usable], chunksize=4))
    depths = range(1, args.depth + 1)
    n: dict[str, int] = defaultdict(int)
    every: dict[tuple[str, int], int] = defaultdict(int)
    shown: dict[tuple[str, int], int] = defaultdict(int)
    for fam, e, s in rows:
        n[fam] += 1
        for d in depths:
            every[fam, d] += e is not None and e <= d
            shown[fam, d] += s is not None and s <= d
    table = Table(title=f"{args.tasks}: what the grammar expresses (a bare aggregate is depth 0)")
    table.add_column("family")
    table.add_column("n", justify="right")
    for d in depths:
        table.add_column(f"expressible ≤{d}", justify="right")
    for d in depths:
        table.add_column(f"search solves ≤{d}", justify="right")
    fams = sorted(n, key=lambda f: (not f.isdigit(), int(f) if f.isdigit() else 0, f))
    for fam in [*fams, "all"]:
        size = len(rows) if fam == "all" else n[fam]
        group = fams if fam == "all" else [fam]
        table.add_row(
            fam,
            str(size),
            *[f"{sum(every[f, d] for f in group) / size:.2f}" for d in depths],
            *[f"{sum(shown[f, d] for f in group) / size:.2f}" for d in depths],
        )
    console = Console()
    console.print(table)
    console.print(
        f"{len(rows)} tasks searched in {time.perf_counter() - t0:.0f} s ({args.workers} processes); "
        f"skipped: {len(tasks) - len(usable)} not one list of integers, {len(bad)} bad lines"
    )
    if args.policy:
        _policy_view(args.policy, usable, args.redraw_depth, console)


if __name__ == "__main__":
    main()
