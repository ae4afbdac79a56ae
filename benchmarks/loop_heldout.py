"""Greedy pass@1 of run policies on a reasoning-gym list_functions set and on fresh grammar tasks,
with a per-rule-family breakdown (where the loop's held-out figures come from, and a second
held-out seed to check choices on).

    python benchmarks/loop_heldout.py RUN_DIR/policies/cold_start RUN_DIR/policies/final ...
        [--seed 1234] [--size 200] [--grammar 200] [--grammar-depth 2]

``--seed`` is the reasoning-gym seed (the embedded preset reports 20250807; 1234 is the
second set used to check choices). Grammar tasks come from a seed no run draws its corpus or
pool from; their family is the first primitive of the program.
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from pathlib import Path

from closedloop.loop.config import RunConfig
from closedloop.loop.domain import grammar_task
from closedloop.loop.evaluate import evaluate
from closedloop.loop.grammar import sample_tasks
from closedloop.loop.phrasing import INSTRUCTIONS
from closedloop.policy.base import SamplingParams
from closedloop.policy.hf import HFPolicy
from closedloop.roles.stepwise import stepwise_attempts
from closedloop.tasks.format import Task, load_tasks
from closedloop.tasks.importers.reasoning_gym import import_reasoning_gym
from closedloop.verify import Verifier

GRAMMAR_SEED = 424_242
GREEDY_PARAMS = SamplingParams(max_new_tokens=64, temperature=0.0, seed=0)
"""What closedloop.loop.evaluate.evaluate uses for one sample (greedy, the solver's budget):
step-wise solving decodes with it too."""


def _families(tasks: list[Task], successes: dict[str, int]) -> str:
    total, solved = Counter(), Counter()
    for t in tasks:
        fam = str(t.metadata.get("rule_family", (t.metadata.get("families") or ["?"])[0]))
        total[fam] += 1
        solved[fam] += successes[t.id] > 0
    return " ".join(f"{f}:{solved[f]}/{total[f]}" for f in sorted(total))


def steps_written(code: str) -> int:
    """List steps in a program of the grammar's shape (its ``xs = ...`` lines)."""
    return sum(1 for line in code.splitlines() if line.strip().startswith("xs = "))


def _depths(tasks: list[Task], successes: dict[str, int], codes: dict[str, str]) -> str:
    """Solved per number of list steps (grammar tasks; the aggregate not counted), and how
    many steps the policy wrote for them (does it compose, or write one step?)."""
    total, solved = Counter(), Counter()
    written: dict[int, Counter] = {}
    for t in tasks:
        depth = sum(f != "aggregate" for f in t.metadata.get("families", []))
        total[depth] += 1
        solved[depth] += successes[t.id] > 0
        written.setdefault(depth, Counter())[steps_written(codes.get(t.id, ""))] += 1
    return " ".join(
        f"depth {d}: {solved[d]}/{total[d]} (wrote "
        + ", ".join(f"{n} step{'s' * (n != 1)} {written[d][n]}" for n in sorted(written[d]))
        + ")"
        for d in sorted(total)
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("policies", nargs="+", type=Path)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--size", type=int, default=200)
    ap.add_argument("--grammar", type=int, default=200)
    ap.add_argument("--grammar-depth", type=int, default=2)
    ap.add_argument("--stepwise", action="store_true")
    ap.add_argument("--tasks", type=Path, action="append", default=[], help="a task file too")
    args = ap.parse_args()
    sets = {}
    if args.size:
        sets[f"rg seed {args.seed}"] = import_reasoning_gym("list_functions", args.size, args.seed)
    if args.grammar:
        rng = random.Random(5)
        public = RunConfig().challenger.public_tests
        sets[f"grammar depth <= {args.grammar_depth}"] = [
            grammar_task(g, f"grammar/{i}", rng.choice(INSTRUCTIONS), public)
            for i, g in enumerate(
                sample_tasks(args.grammar, GRAMMAR_SEED, max_depth=args.grammar_depth)
            )
        ]
    for path in args.tasks:
        tasks, bad = load_tasks(path)
        if bad:
            raise SystemExit(f"{path}: {len(bad)} bad lines (line {bad[0].line}: {bad[0].reason})")
        sets[str(path)] = tasks
    with Verifier(workers=2) as verifier:
        for path in args.policies:
            policy = HFPolicy.from_pretrained(path)
            for name, tasks in sets.items():
                if args.stepwise:
                    att = stepwise_attempts(policy, tasks, verifier, GREEDY_PARAMS)
                    won = {t.id: int((a.reward or 0) >= 1) for t, a in zip(tasks, att, strict=True)}
                    codes = {t.id: a.code for t, a in zip(tasks, att, strict=True)}
                    print(
                        f"{path} | {name} | step-wise pass@1 {sum(won.values()) / len(tasks):.3f} | "
                        f"{_families(tasks, won)}"
                        + (f" | {_depths(tasks, won, codes)}" if name.startswith("grammar") else "")
                    )
                res = evaluate(policy, tasks, verifier, samples=1)  # greedy, the solver's budget
                won = dict(res.successes)
                codes = {tid: programs[0] for tid, programs in res.programs.items()}
                variety = res.variety
                print(
                    f"{path} | {name} | pass@1 {sum(won.values()) / len(tasks):.3f} | "
                    f"{variety.distinct} distinct programs, top {variety.top_share:.0%} | "
                    f"{_families(tasks, won)}"
                    + (f" | {_depths(tasks, won, codes)}" if name.startswith("grammar") else "")
                )


if __name__ == "__main__":
    main()
