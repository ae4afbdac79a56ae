"""Does a policy read the examples, or the sentence above them? Swap only the instruction.

Takes reasoning-gym list_functions tasks of the rule families a grammar-taught base can
express (identity 0, third element 1, reverse 2, sorted 10 and 11), and scores each policy
greedily on them as reasoning-gym phrases them, then with the same examples (the shown ones,
and the private test kept private) under another instruction: reasoning-gym's own sentence
re-rendered by the loop's task builder (a control for the rendering itself), and one of the
loop's six fixed sentences, with the examples inline and under an ``Examples:`` header.

    python benchmarks/phrasing_swap.py src/closedloop/policy/base_model [OTHER_POLICY ...]
        [--seed 1234] [--size 200]

A policy that reads scores the same on every row; one that learned its training sentences
as strings scores far higher on the fixed-sentence rows.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

from closedloop.loop.domain import examples_task
from closedloop.loop.evaluate import evaluate
from closedloop.loop.phrasing import INSTRUCTIONS
from closedloop.policy.hf import HFPolicy
from closedloop.tasks.format import Task
from closedloop.tasks.importers.reasoning_gym import import_reasoning_gym
from closedloop.verify import Verifier

FAMILIES = {"0", "1", "2", "10", "11"}


def rephrased(task: Task, instruction: str, inline: bool) -> Task:
    """``task`` with its shown examples and private test unchanged, under ``instruction``."""
    cases = task.public_tests + task.private_tests
    inputs = [ast.literal_eval(c.input)[0] for c in cases]
    outputs = [ast.literal_eval(c.output) for c in cases]
    return examples_task(
        task.id,
        "",
        inputs,
        outputs,
        instruction,
        len(task.public_tests),
        inline,
        metadata=task.metadata,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("policies", nargs="+", type=Path)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--size", type=int, default=200)
    args = ap.parse_args()
    tasks = [
        t
        for t in import_reasoning_gym("list_functions", args.size, args.seed)
        if str(t.metadata["rule_family"]) in FAMILIES
    ]
    own = tasks[0].instruction.split("\n")[0]
    variants = {
        "as reasoning-gym gives them": lambda t: t,
        "reasoning-gym's sentence, re-rendered": lambda t: rephrased(t, own, True),
        "a fixed sentence, examples inline": lambda t: rephrased(t, INSTRUCTIONS[2], True),
        "a fixed sentence, Examples: header": lambda t: rephrased(t, INSTRUCTIONS[2], False),
    }
    with Verifier(workers=2) as verifier:
        for path in args.policies:
            policy = HFPolicy.from_pretrained(path)
            for name, make in variants.items():
                rows = [make(t) for t in tasks]
                r = evaluate(policy, rows, verifier, samples=1)
                per: dict[str, list[int]] = {}
                for t in rows:
                    per.setdefault(str(t.metadata["rule_family"]), []).append(r.successes[t.id])
                fams = " ".join(f"{k}:{sum(v)}/{len(v)}" for k, v in sorted(per.items()))
                print(f"{path} | {name:40s} | pass@1 {r.pass_at_1:.3f} | {fams}", flush=True)


if __name__ == "__main__":
    main()
