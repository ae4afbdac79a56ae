"""The reading probe: does a policy read the examples, or write its favourite program?

Held-out pass@1 of a small model mixes two things: reading the examples (the skill the loop
is meant to grow) and guessing a program its prior favours that happens to fit. This probe
separates them. Each probe task is one single primitive of the grammar
(:mod:`closedloop.loop.grammar`: reverse, sorted, ``x + 3``, ``[len(xs)]``, ...) shown on
three random lists (length 3..10, values 0..100) and checked on two more; a policy that reads
solves them all, a policy that guesses solves only those its favourite programs fit.

Expected outputs come from running each primitive's program in the sandbox, never from a
Python re-statement here. Tasks are rendered as the loop renders grammar tasks (one of the
instruction phrasings; half show their examples inline), and attempts go through the loop's
own evaluation path (:func:`closedloop.loop.evaluate.evaluate`, greedy, private tests).

What it does not measure: composition (every task is one step), nor robustness to the
formats of other task sources (reasoning-gym's held-out set measures that).
"""

from __future__ import annotations

import ast
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from closedloop.loop.domain import examples_task
from closedloop.loop.evaluate import evaluate
from closedloop.loop.grammar import random_input, render_program
from closedloop.loop.phrasing import INSTRUCTIONS
from closedloop.tasks.format import Task
from closedloop.verify import CallJob, VerificationBackend

PRIMITIVES: dict[str, tuple[str | None, str | None]] = {
    "reverse": ("xs[::-1]", None),
    "sorted": ("sorted(xs)", None),
    "sorted_desc": ("sorted(xs, reverse=True)", None),
    "drop_first": ("xs[1:]", None),
    "take2": ("xs[:2]", None),
    "add3": ("[x + 3 for x in xs]", None),
    "sub1": ("[x - 1 for x in xs]", None),
    "mul2": ("[x * 2 for x in xs]", None),
    "even": ("[x for x in xs if x % 2 == 0]", None),
    "gt50": ("[x for x in xs if x > 50]", None),
    "len": (None, "[len(xs)]"),
    "sum": (None, "[sum(xs)]"),
    "max": (None, "[max(xs)]"),
    "min": (None, "[min(xs)]"),
    "third": (None, "[xs[2]]"),
    "last": (None, "[xs[-1]]"),
}
"""Probe primitives as (step, aggregate) expressions of the grammar, rendered as it renders
its programs (:func:`closedloop.loop.grammar.render_program`)."""

PUBLIC = 3
"""Examples shown per probe task."""
INPUTS = 5
"""Inputs per probe task (the two beyond the shown ones are the private tests)."""
MIN_LEN = 3
"""Shortest probe list (``third`` needs three elements; shorter lists read ambiguously)."""
PROBE_SEED = 99
"""Seed of the standard probe set (``closedloop pretrain`` and benchmarks/reading_probe.py)."""
MAX_NEW_TOKENS = 64
"""Token budget of one probe attempt (the loop's solver budget)."""


def unknown_primitives(names: Sequence[str]) -> list[str]:
    """The names in ``names`` that are not probe primitives."""
    return [n for n in names if n not in PRIMITIVES]


def primitive_code(name: str) -> str:
    """The grammar program of primitive ``name`` (``def f(xs): ...``)."""
    step, aggregate = PRIMITIVES[name]
    return render_program([step] if step else [], aggregate)


def probe_tasks(
    verifier: VerificationBackend,
    names: Sequence[str],
    per: int,
    seed: int = PROBE_SEED,
    phrasings: Sequence[str] = INSTRUCTIONS,
) -> list[Task]:
    """``per`` tasks of each named primitive: random lists of length 3..10, outputs from the
    sandbox; half show their examples inline in the instruction, as the corpus does. Each
    instruction is one of ``phrasings`` (the six fixed ones; closedloop.loop.phrasing's
    ``HELDOUT_PHRASINGS`` measure robustness to sentences no training data used).

    Raises ValueError on an unknown name and RuntimeError when a primitive's program fails
    in the sandbox (the sandbox is broken, or the table above is)."""
    unknown = unknown_primitives(names)
    if unknown:
        raise ValueError(f"unknown probe primitive(s) {unknown}; known: {', '.join(PRIMITIVES)}")
    rng = random.Random(seed)
    drafts = []
    for name in names:
        code = primitive_code(name)
        for j in range(per):
            inputs = []
            while len(inputs) < INPUTS:
                xs = random_input(rng)
                if len(xs) >= MIN_LEN:
                    inputs.append(repr((xs,)))
            drafts.append((name, j, code, inputs, rng.choice(phrasings), rng.random() < 0.5))
    results = verifier.call_many([CallJob(code, "f", inp) for _, _, code, inp, _, _ in drafts])
    tasks = []
    for (name, j, code, inputs, instruction, inline), res in zip(drafts, results, strict=True):
        if not all(r.ok for r in res):
            raise RuntimeError(f"probe program {name!r} failed in the sandbox: {res}")
        tasks.append(
            examples_task(
                f"probe/{name}/{j}",
                code,
                [ast.literal_eval(i)[0] for i in inputs],
                [ast.literal_eval(r.value or "") for r in res],
                instruction,
                PUBLIC,
                inline,
                source="probe",
                metadata={"primitive": name},
            )
        )
    return tasks


@dataclass(frozen=True)
class ProbeResult:
    """Greedy pass@1 of one policy on the probe, overall and per primitive."""

    pass_at_1: float
    per_primitive: dict[str, float]
    """Primitive -> share of its tasks solved."""
    tasks_per_primitive: int
    distinct_programs: int
    """Distinct final programs over all attempts (a policy that guesses writes few)."""
    top_program_share: float
    """Share of attempts that wrote the single most common program."""

    def summary(self) -> str:
        """One line: overall score, each primitive's, and the variety of programs."""
        per = " ".join(
            f"{k}:{round(v * self.tasks_per_primitive)}/{self.tasks_per_primitive}"
            for k, v in self.per_primitive.items()
        )
        return (
            f"probe pass@1 {self.pass_at_1:.3f} | {per} | {self.distinct_programs} distinct "
            f"programs, top one {self.top_program_share:.0%}"
        )


def run_probe(
    policy: Any,
    tasks: Sequence[Task],
    verifier: VerificationBackend,
    max_new_tokens: int = MAX_NEW_TOKENS,
) -> ProbeResult:
    """Attempt every probe task once, greedily, through the loop's evaluation path."""
    r = evaluate(policy, tasks, verifier, samples=1, max_new_tokens=max_new_tokens)
    solved: dict[str, list[int]] = {}
    for t in tasks:
        solved.setdefault(str(t.metadata["primitive"]), []).append(r.successes[t.id])
    per = {k: sum(v) / len(v) for k, v in solved.items()}
    return ProbeResult(
        pass_at_1=r.pass_at_1,
        per_primitive=per,
        tasks_per_primitive=max((len(v) for v in solved.values()), default=0),
        distinct_programs=r.variety.distinct,
        top_program_share=r.variety.top_share,
    )
