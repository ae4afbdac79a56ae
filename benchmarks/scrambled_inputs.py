"""Does a policy read input -> output relations, or only the outputs?

Builds the reading probe's tasks (closedloop.loop.probe) and a twin of each whose shown inputs
are replaced by fresh random lists of the same lengths, outputs unchanged, and asks the policy
(greedy) for both. A primitive whose program stays the same with scrambled inputs was read
from its outputs alone: right for rules the outputs tell (sorted, ``x * 2``, parity, sums),
a guess for the rest (``x + 3``, thresholds, reverse, slices, picks by position).

Run:  python benchmarks/scrambled_inputs.py [MODEL_DIR ...] [--per 12] [--seed 7]
(default: the shipped base). Prints, per primitive, how many programs stayed the same, and
how many of the real tasks were solved.
"""

from __future__ import annotations

import argparse
import ast
import random
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from closedloop.loop.domain import examples_task
from closedloop.loop.probe import MAX_NEW_TOKENS, PRIMITIVES, probe_tasks, run_probe
from closedloop.policy.base import SamplingParams
from closedloop.roles.prompts import solver_prompt
from closedloop.tasks.format import Task
from closedloop.verify import Verifier


def scrambled(task: Task, rng: random.Random) -> Task:
    """``task`` with every input replaced by a random list of the same length (same outputs)."""
    cases = list(task.public_tests) + list(task.private_tests)
    ins = [ast.literal_eval(c.input)[0] for c in cases]
    outs = [ast.literal_eval(c.output) for c in cases]
    new_ins = [[rng.randint(0, 100) for _ in xs] for xs in ins]
    inline = "\nf(" in task.instruction
    instruction = task.instruction.split("\nf(")[0]
    public = len(task.public_tests)
    return examples_task(
        f"{task.id}/scrambled",
        task.example_solution or "",
        new_ins,
        outs,
        instruction,
        public,
        inline,
    )


def main() -> None:
    import torch

    from closedloop.policy.base_model import base_model_dir
    from closedloop.policy.hf import HFPolicy

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", help="model directories (default: the shipped base)")
    ap.add_argument("--per", type=int, default=12, help="tasks per primitive")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    torch.set_num_threads(1)
    models = args.models or [str(base_model_dir())]
    rng = random.Random(args.seed)
    with Verifier(workers=1) as verifier:
        tasks = probe_tasks(verifier, list(PRIMITIVES), args.per, seed=args.seed)
        twins = [scrambled(t, rng) for t in tasks]
        table = Table(
            title=f"same program with scrambled inputs / solved ({args.per} per primitive)"
        )
        table.add_column("primitive")
        columns: list[dict[str, str]] = []
        for path in models:
            policy = HFPolicy.from_pretrained(path, device="cpu")
            sp = SamplingParams(max_new_tokens=MAX_NEW_TOKENS, temperature=0.0)
            real = policy.sample([solver_prompt(t) for t in tasks], 1, sp)
            twin = policy.sample([solver_prompt(t) for t in twins], 1, sp)
            solved = run_probe(policy, tasks, verifier).per_primitive
            same: Counter[str] = Counter()
            for t, a, b in zip(tasks, real, twin, strict=True):
                same[str(t.metadata["primitive"])] += a[0].text.strip() == b[0].text.strip()
            col = {k: f"{same[k]} / {round(solved[k] * args.per)}" for k in PRIMITIVES}
            col["all"] = f"{sum(same.values())} / {round(sum(solved.values()) * args.per)}"
            columns.append(col)
            table.add_column(Path(path).name, justify="right")
        for k in [*PRIMITIVES, "all"]:
            table.add_row(k, *(c[k] for c in columns))
    Console().print(table)


if __name__ == "__main__":
    main()
